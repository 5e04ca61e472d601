"""One benchmark job: fusion's matching on the Spark engine (local mode).

The same job as ``bench.fusion_match_job`` with ``matching.engine: spark``:
standardisation through ``standardise_on_spark`` and ``match_records`` with
the Spark engine, on a local-mode session (``--master``, default local[2]).
Session start-up is timed apart (``spark_start_s``) and is not in
``matching_wall_s``. With ``--compare-with DIR`` it also checks that its
clusters equal those a ``fusion_match`` run wrote to DIR/clusters.parquet.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import polars as pl

from bench.datasets import canonical_frame, truth_clusters
from bench.fusion_match_job import candidate_recall
from matching import MatchSettings, match_records
from matching.engines.spark_session import spark_session
from matching.engines.spark_standardise import standardise_on_spark
from matching.settings import SparkSettings


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m bench.fusion_match_spark_job DATA_DIR OUT_DIR [--master local[2]]``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--compare-with", type=Path, default=None)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    spark_settings = SparkSettings(
        master=args.master,
        shuffle_partitions=args.shuffle_partitions,
        driver_memory=args.driver_memory,
    )
    settings = MatchSettings(engine="spark", spark=spark_settings)
    started = time.perf_counter()
    spark_session(spark_settings)
    session = time.perf_counter()
    records = canonical_frame(args.data)
    loaded = time.perf_counter()
    std = standardise_on_spark(records, default_regions={}, settings=spark_settings)
    standardised = time.perf_counter()
    result = match_records(std, settings=settings)
    matched = time.perf_counter()
    clusters = std.select(
        pl.concat_str(["source_system", "source_record_id"], separator="\x1f").alias("record_key"),
        "record_index",
    ).join(result.clusters, on="record_index")
    written = clusters.select("record_key", pl.col("cluster").cast(pl.String))
    written.write_parquet(args.out / "clusters.parquet")
    result.scored_pairs.write_parquet(args.out / "scored_pairs.parquet")
    report: dict[str, object] = {
        "engine": "spark",
        "master": args.master,
        "records": std.height,
        "spark_start_s": round(session - started, 3),
        "load_s": round(loaded - session, 3),
        "standardise_s": round(standardised - loaded, 3),
        "match_s": round(matched - standardised, 3),
        "matching_wall_s": round(matched - loaded, 3),
        "candidate_pairs": result.scored_pairs.height,
        **candidate_recall(std, result.scored_pairs, truth_clusters(args.data)),
    }
    if args.compare_with is not None:
        other = pl.read_parquet(args.compare_with / "clusters.parquet")
        joined = written.join(other, on="record_key", how="full", suffix="_duckdb")
        report["clusters_equal_to_duckdb_engine"] = bool(
            joined.height == written.height == other.height
            and (joined["cluster"] == joined["cluster_duckdb"]).all()
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
