"""Incremental ingest against a full rebuild on the same final data, side by side.

One synthetic set (``bench.generate_synthetic``, as ``bench.run`` makes it)
is split into a warehouse's existing population and a batch of new records
held out from it (seeded, spread over the sources). Then, each as its own
child process timed with its peak RSS (``bench.run.run_child``):

1. ``baseline``: ``fusion run`` of the population into a fresh warehouse (the
   first run: it learns the model and the name statistics);
2. the warehouse is copied, and the held-out records are added to the exports;
3. ``incremental``: ``fusion run`` on the warehouse (the daily job);
4. ``full``: ``fusion run --full`` on the copy: everything standardised and
   matched again from scratch with the same stored model (a from-scratch
   first run would learn another model and could not be compared);
5. the clusters of 3 and 4 are compared record by record (the same records
   under the same unified IDs, and the same partition);
6. with ``--stage-times``: the same incremental run once more, on another copy
   of the baseline warehouse, timed stage by stage in process
   (``bench.incremental_stages``), to show where the time goes.

    .venv/bin/python -m bench.incremental --size 100k --new 10000 [--work /tmp/fusion-bench]

One JSON line per step, and a summary line with the ratio incremental / full.
The baseline warehouse is kept pristine (``baseline-warehouse``, with its
figures in ``baseline.json``); ``--reuse-baseline`` starts from a copy of it
instead of running the baseline again (a 1M baseline takes many minutes and
most of the machine's memory), and reports the stored baseline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from bench.datasets import source_files
from bench.run import FUSION, _last_json, run_child, synthetic_folder

KEYS = ["source_system", "source_record_id"]


def split_exports(data: Path, target: Path, *, new: int, seed: int) -> pl.DataFrame:
    """Copy ``data``'s exports to ``target`` without ``new`` seeded records; return those."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(data / "fusion.yaml", target / "fusion.yaml")
    frames = {p.name: pl.read_csv(p, infer_schema=False) for p in source_files(data)}
    total = sum(f.height for f in frames.values())
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=new, replace=False))
    held, offset = [], 0
    for name, frame in frames.items():
        local = chosen[(chosen >= offset) & (chosen < offset + frame.height)] - offset
        keep = np.ones(frame.height, dtype=bool)
        keep[local] = False
        frame.filter(pl.lit(keep)).write_csv(target / name)
        held.append(pl.DataFrame({"file": name, "record_id": frame["record_id"].gather(local)}))
        offset += frame.height
    return pl.concat(held)


def add_back(data: Path, target: Path) -> None:
    """The full exports: the population plus the held-out records."""
    for path in source_files(data):
        shutil.copy(path, target / path.name)


def _xref(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        return con.sql("SELECT source_system, source_record_id, unified_id FROM customer_xref").pl()


def compare_clusters(left: Path, right: Path) -> dict[str, object]:
    """Whether two warehouses hold the same records under the same IDs and partition."""
    a, b = _xref(left), _xref(right)
    joined = a.join(b, on=KEYS, how="full", suffix="_full", coalesce=True)
    same_ids = joined.filter(pl.col("unified_id").eq_missing(pl.col("unified_id_full"))).height

    def partition(frame: pl.DataFrame) -> set[tuple[str, ...]]:
        groups = frame.group_by("unified_id").agg(
            pl.concat_str(KEYS, separator="\x1f").sort().alias("members")
        )
        return {tuple(m) for m in groups["members"].to_list()}

    return {
        "records_incremental": a.height,
        "records_full": b.height,
        "records_with_same_unified_id": same_ids,
        "identical_ids": same_ids == joined.height == a.height == b.height,
        "identical_partition": partition(a) == partition(b),
        "clusters": a["unified_id"].n_unique(),
    }


def _code_version() -> str:
    """The commit the bench runs (a snapshot folder names it in its ``COMMIT`` file)."""
    root = Path(__file__).resolve().parents[1]
    if (root / "COMMIT").exists():
        return (root / "COMMIT").read_text(encoding="utf-8").strip()
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="10k, 100k or 1m")
    parser.add_argument("--new", type=int, default=10_000, help="records held out, then added")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fusion-bench"))
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--results", type=Path, default=None, help="also append lines here")
    parser.add_argument("--stage-times", action="store_true", help="also time the stages")
    parser.add_argument(
        "--reuse-baseline",
        action="store_true",
        help="start from the baseline warehouse an earlier run of the same set left",
    )
    args = parser.parse_args(argv)
    data = synthetic_folder(args.size.lower(), args.work, seed=args.seed)
    root = args.work / "incremental" / f"{args.size.lower()}-new{args.new}"
    exports, pristine = root / "exports", root / "baseline-warehouse"
    marker = root / "baseline.json"
    identity = {"size": args.size.lower(), "new": args.new, "seed": args.seed}
    reuse = args.reuse_baseline and marker.exists() and pristine.is_dir()
    stored = json.loads(marker.read_text(encoding="utf-8")) if reuse else {}
    if reuse and stored.get("set") != identity:
        sys.exit(f"{marker}: made for {stored.get('set')}, not {identity}")
    if not reuse:
        shutil.rmtree(root, ignore_errors=True)
        held = split_exports(data, exports, new=args.new, seed=args.seed)
        held.write_parquet(root / "held_out.parquet")
    held = pl.read_parquet(root / "held_out.parquet")
    warehouse, rebuilt = root / "warehouse", root / "warehouse-full"
    staged = root / "warehouse-stages"
    for folder in (warehouse, rebuilt, staged):
        shutil.rmtree(folder, ignore_errors=True)
    config = ["--config", str(exports / "fusion.yaml")]

    def step(name: str, command: list[str]) -> dict[str, object]:
        child = run_child(command, log=root / "logs" / f"{name}.log")
        line: dict[str, object] = {
            "step": name,
            "dataset": f"synthetic-{args.size.lower()}",
            "new_records": held.height,
            "wall_s": child.wall_s,
            "peak_rss_mib": child.peak_rss_mib,
        }
        if child.returncode != 0:
            line["error"] = f"exit {child.returncode}: {child.stderr.strip()[-500:]}"
        emit(line)
        if child.returncode != 0:
            sys.exit(1)
        return line

    def emit(line: dict[str, object]) -> None:
        text = json.dumps(line)
        print(text, flush=True)
        if args.results:
            with open(args.results, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")

    if reuse:
        emit({**stored["baseline"], "reused": True})
    else:
        line = step("baseline", [str(FUSION), "run", *config, "--warehouse", str(pristine)])
        marker.write_text(
            json.dumps({"set": identity, "code": _code_version(), "baseline": line}),
            encoding="utf-8",
        )
    shutil.copytree(pristine, warehouse, symlinks=True)
    shutil.copytree(pristine, rebuilt, symlinks=True)
    if args.stage_times:
        shutil.copytree(pristine, staged, symlinks=True)
    add_back(data, exports)
    incremental = step("incremental", [str(FUSION), "run", *config, "--warehouse", str(warehouse)])
    full = step("full", [str(FUSION), "run", "--full", *config, "--warehouse", str(rebuilt)])
    summary = {
        "step": "summary",
        "dataset": f"synthetic-{args.size.lower()}",
        "new_records": held.height,
        "incremental_over_full": round(float(incremental["wall_s"]) / float(full["wall_s"]), 4),
        "code": _code_version(),
        **compare_clusters(warehouse, rebuilt),
    }
    emit(summary)
    if args.stage_times:
        command = [sys.executable, "-m", "bench.incremental_stages", config[1], str(staged)]
        timed = step("incremental_stages", command)
        log = (root / "logs" / "incremental_stages.out").read_text(encoding="utf-8")
        emit({**timed, "step": "incremental_stage_seconds", **_last_json(log)})


if __name__ == "__main__":
    main()
