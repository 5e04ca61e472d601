"""The Spark engine on a standalone cluster of two workers clusters as the default engine does."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from connectors import load_source
from matching import MatchSettings, match_records, standardise
from matching.engines.spark_session import spark_session
from matching.engines.spark_standalone import StandaloneCluster, alive_workers
from matching.settings import SparkSettings
from matching.spark_match import match_on_spark
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG


def partition(labels: pl.DataFrame) -> set[frozenset[int]]:
    """Clusters as sets of record indexes: equal partitions whatever the labels are."""
    groups = labels.group_by("cluster").agg(pl.col("record_index").sort())
    return {frozenset(members) for members in groups["record_index"].to_list()}


def samples_std() -> tuple[pl.DataFrame, MatchSettings]:
    config = load_fusion_config(SAMPLE_CONFIG)
    records = pl.concat([load_source(s).records for s in config.sources], how="vertical")
    return standardise(records, default_regions=config.default_regions), config.matching


def test_the_cluster_has_two_workers_and_runs_tasks_outside_the_driver(
    standalone: StandaloneCluster, standalone_spark: SparkSettings
) -> None:
    assert alive_workers(standalone.ui_url) == 2
    spark = spark_session(standalone_spark)
    pids = spark.sparkContext.parallelize(range(8), 4).map(lambda _: os.getpid()).distinct()
    assert os.getpid() not in set(pids.collect())


def test_samples_cluster_as_with_the_default_engine(standalone_spark: SparkSettings) -> None:
    std, settings = samples_std()
    default = match_records(std, settings=settings)
    spark = match_records(
        std, settings=settings.model_copy(update={"engine": "spark", "spark": standalone_spark})
    )
    assert partition(spark.clusters) == partition(default.clusters)
    # Not a trivial partition: the samples hold real duplicates.
    assert len(partition(default.clusters)) < std.height
    assert np.array_equal(
        spark.scored_pairs["match_probability"].to_numpy(),
        default.scored_pairs["match_probability"].to_numpy(),
    )


def test_pairs_kept_on_the_cluster_give_the_default_engines_clusters_and_scores(
    standalone_spark: SparkSettings, tmp_path: Path
) -> None:
    """``match_on_spark``: blocking, levels, EM pattern counts, scores and clusters on executors.

    A cluster size limit of 4 makes some sample clusters oversized, so the
    re-split of ``limit_cluster_sizes`` on the edges Spark hands back is compared too.
    """
    std, settings = samples_std()
    settings = settings.model_copy(update={"max_cluster_size": 4})
    default = match_records(std, settings=settings)
    on_spark = match_on_spark(
        std,
        settings=settings.model_copy(update={"engine": "spark", "spark": standalone_spark}),
        scored_pairs_out=tmp_path / "scored_pairs",
    )
    assert partition(on_spark.clusters) == partition(default.clusters)
    assert on_spark.oversized_clusters.height > 0
    assert on_spark.oversized_clusters.equals(default.oversized_clusters)
    assert on_spark.blocking_report.equals(default.blocking_report)
    assert on_spark.model == default.model
    assert on_spark.candidate_pairs == default.scored_pairs.height
    assert on_spark.stage_rows["level_patterns"] < on_spark.candidate_pairs
    written = pl.read_parquet(tmp_path / "scored_pairs" / "*.parquet").sort("left", "right")
    expected = default.scored_pairs.sort("left", "right")
    for column in ("left", "right", "match_weight", "match_probability", "name_weight"):
        assert np.array_equal(written[column].to_numpy(), expected[column].to_numpy()), column
    for column in ("decision", "blocking_rules", "name_level", "birth_date_level"):
        assert written[column].to_list() == expected[column].cast(pl.String).to_list(), column
