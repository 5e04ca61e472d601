"""One benchmark job: fusion's matching on the Spark engine (local mode or standalone).

The same job as ``bench.fusion_match_job`` with ``matching.engine: spark``:
standardisation through ``standardise_on_spark``, then matching on a session
on ``--master`` (default local[2]). With ``--standalone-workers N`` the job
first starts a Spark standalone cluster on this machine (a master and N
workers, ``matching.engines.spark_standalone``) and runs on it, so the
executors are other processes than the driver. With ``--pairs-on-spark`` the
matching is ``match_on_spark`` (candidate pairs generated, compared, counted
for EM, scored and clustered on the executors; the scored pairs written by
Spark) instead of ``match_records`` with the Spark engine (levels and
clustering on Spark, the pairs held on the driver in between).

Session start-up is timed apart (``spark_start_s``) and is not in
``matching_wall_s``. The driver's peak memory is reported as two figures:
the driver Python process's ``ru_maxrss`` and the driver JVM's peak resident
set (``VmHWM``), read at the end. With ``--compare-with DIR`` it also checks
that its clusters partition the records as those a ``fusion_match`` run wrote
to DIR/clusters.parquet do.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import polars as pl

from bench.datasets import canonical_frame, truth_clusters
from bench.fusion_match_job import candidate_recall
from matching import MatchSettings, match_records
from matching.engines.spark_session import spark_session
from matching.engines.spark_standalone import standalone_cluster
from matching.engines.spark_standardise import standardise_on_spark
from matching.settings import SparkSettings
from matching.spark_match import match_on_spark


def driver_jvm_pid() -> int | None:
    """The driver JVM: this process's child running SparkSubmit."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            if "org.apache.spark.deploy.SparkSubmit" in " ".join(child.cmdline()):
                return int(child.pid)
        except psutil.Error:
            continue
    return None


def peak_rss_mib(pid: int | None) -> float | None:
    """A process's peak resident set (``VmHWM``) since start or its last ``reset_peak``."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def reset_peak(pid: int | None) -> bool:
    """Reset a process's ``VmHWM`` to its current RSS (Linux ``clear_refs`` 5); False if denied.

    So that the peak read after matching is the matching's own, not that of the
    per-record work before it (loading, standardisation).
    """
    if pid is None:
        return False
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="utf-8")
    except OSError:
        return False
    return True


def same_partition(written: pl.DataFrame, other: pl.DataFrame) -> bool:
    """Whether two ``record_key, cluster`` frames group the same records together."""
    joined = written.join(other, on="record_key", how="full", suffix="_other")
    if not (joined.height == written.height == other.height):
        return False
    pairs = joined.select("cluster", "cluster_other").unique().height
    return pairs == written["cluster"].n_unique() == other["cluster"].n_unique()


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m bench.fusion_match_spark_job DATA_DIR OUT_DIR [--standalone-workers 2]``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--standalone-workers", type=int, default=0)
    parser.add_argument("--worker-memory", default="1500m")
    parser.add_argument("--executor-memory", default="1g")
    parser.add_argument("--pairs-on-spark", action="store_true")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--compare-with", type=Path, default=None)
    # Raise the name-block cap to make more candidate pairs from the same records
    # (to see whether the driver's memory follows the pairs).
    parser.add_argument("--max-name-block-size", type=int, default=None)
    parser.add_argument("--max-block-size", type=int, default=None)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # SIGTERM (a timeout, bench.run) unwinds like an exception, so the cluster is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        master: str = args.master
        conf: tuple[tuple[str, str], ...] = ()
        if args.standalone_workers:
            cluster = stack.enter_context(
                standalone_cluster(
                    args.out / "cluster",
                    workers=args.standalone_workers,
                    memory=args.worker_memory,
                )
            )
            master = cluster.master_url
            conf = (
                ("spark.executor.memory", args.executor_memory),
                ("spark.executor.cores", "1"),
                ("spark.executorEnv.PYTHONPATH", os.pathsep.join(p for p in sys.path if p)),
            )
        report = run(args, master=master, conf=conf)
    print(json.dumps(report))


def run(
    args: argparse.Namespace, *, master: str, conf: tuple[tuple[str, str], ...]
) -> dict[str, object]:
    """Standardise and match on a session on ``master``; the report's figures."""
    spark_settings = SparkSettings(
        master=master,
        shuffle_partitions=args.shuffle_partitions,
        driver_memory=args.driver_memory,
        conf=conf,
    )
    settings = MatchSettings(engine="spark", spark=spark_settings)
    caps = {"max_name_block_size": args.max_name_block_size, "max_block_size": args.max_block_size}
    blocking = settings.blocking.model_copy(update={k: v for k, v in caps.items() if v is not None})
    settings = settings.model_copy(update={"blocking": blocking})
    started = time.perf_counter()
    spark_session(spark_settings)
    session = time.perf_counter()
    records = canonical_frame(args.data)
    loaded = time.perf_counter()
    std = standardise_on_spark(records, default_regions={}, settings=spark_settings)
    del records
    standardised = time.perf_counter()
    jvm = driver_jvm_pid()
    before_match = {"python": peak_rss_mib(os.getpid()), "jvm": peak_rss_mib(jvm)}
    reset = reset_peak(os.getpid()) and reset_peak(jvm)
    extra: dict[str, object] = {}
    if args.pairs_on_spark:
        outcome = match_on_spark(std, settings=settings, scored_pairs_out=args.out / "scored_pairs")
        clusters_of, n_pairs = outcome.clusters, outcome.candidate_pairs
        extra = {"stage_s": outcome.stage_seconds, "stage_rows": outcome.stage_rows}
    else:
        result = match_records(std, settings=settings)
        clusters_of, n_pairs = result.clusters, result.scored_pairs.height
        result.scored_pairs.write_parquet(args.out / "scored_pairs.parquet")
        extra = dict(candidate_recall(std, result.scored_pairs, truth_clusters(args.data)))
    matched = time.perf_counter()
    driver_python_mib = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    match_peak = {"python": peak_rss_mib(os.getpid()), "jvm": peak_rss_mib(jvm)}
    clusters = std.select(
        pl.concat_str(["source_system", "source_record_id"], separator="\x1f").alias("record_key"),
        "record_index",
    ).join(clusters_of, on="record_index")
    written = clusters.select("record_key", pl.col("cluster").cast(pl.String))
    written.write_parquet(args.out / "clusters.parquet")
    report: dict[str, object] = {
        "engine": "spark",
        "master": master,
        "pairs_on_spark": bool(args.pairs_on_spark),
        "records": std.height,
        "spark_start_s": round(session - started, 3),
        "load_s": round(loaded - session, 3),
        "standardise_s": round(standardised - loaded, 3),
        "match_s": round(matched - standardised, 3),
        "matching_wall_s": round(matched - loaded, 3),
        "candidate_pairs": n_pairs,
        "clusters": written["cluster"].n_unique(),
        "driver_python_peak_mib": driver_python_mib,
        "driver_jvm_peak_mib": match_peak["jvm"] if not reset else None,
        # Peak RSS before matching, and during matching alone (VmHWM reset in between).
        "driver_peak_before_match_mib": before_match,
        "driver_peak_during_match_mib": match_peak if reset else None,
        **extra,
    }
    if args.compare_with is not None:
        other = pl.read_parquet(args.compare_with / "clusters.parquet")
        report["clusters_equal_to_duckdb_engine"] = same_partition(written, other)
    return report


if __name__ == "__main__":
    main()
