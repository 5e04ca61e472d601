"""The full match of ``fusion run`` with the pairs on Spark equals ``match_in_full`` (issue 30).

``match_in_full_on_spark`` runs on a local Spark session; everything the
pipeline reads of its result is compared with what it reads of
``match_in_full``'s: clusters, model, blocking report, incremental index, the
scored pairs in the match evidence's order (read back in parts smaller than
the pair count, so part boundaries are crossed), the pairs per decision and
each record's best in-cluster probability.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from matching.incremental import match_in_full
from matching.settings import SparkSettings
from matching.spark_indexed import (
    KEY_TEXT,
    match_in_full_on_spark,
    pairs_on_spark_unsupported,
)
from matching.steward import MUST_LINK
from tests.matching.engines.test_spark_standalone import samples_std


def in_cluster_probability(pairs: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """Per record, the best probability of a pair inside its cluster, from the pairs themselves."""
    labelled = pairs.join(
        clusters.rename({"record_index": "left", "cluster": "lc"}), on="left"
    ).join(clusters.rename({"record_index": "right", "cluster": "rc"}), on="right")
    within = labelled.filter(pl.col("lc") == pl.col("rc"))
    ends = pl.concat(
        [
            within.select(pl.col("left").alias("record_index"), "match_probability"),
            within.select(pl.col("right").alias("record_index"), "match_probability"),
        ]
    )
    return ends.group_by("record_index").agg(pl.col("match_probability").max())


@pytest.mark.slow
def test_pairs_on_spark_give_what_match_in_full_gives(
    spark_settings: SparkSettings, tmp_path: Path
) -> None:
    std, settings = samples_std()
    default = match_in_full(std, settings=settings, statistics=None)
    on_spark = match_in_full_on_spark(
        std,
        settings=settings.model_copy(update={"engine": "spark", "spark": spark_settings}),
        statistics=None,
        pairs_dir=tmp_path / "pairs",
    )
    assert on_spark.clusters.equals(default.clusters)
    assert on_spark.model == default.model
    assert on_spark.blocking_report.equals(default.blocking_report)
    assert on_spark.oversized_clusters.equals(default.oversized_clusters)
    assert on_spark.neighbours.equals(default.neighbours)
    assert (on_spark.name_vectors != default.name_vectors).nnz == 0
    assert on_spark.statistics.population == default.statistics.population
    assert on_spark.work == default.work

    expected = default.scored_pairs
    assert on_spark.candidate_pairs == expected.height > 1000
    assert on_spark.scored_pairs.height == 0
    assert on_spark.scored_pairs.schema == expected.schema
    rank = std.select("record_index", *KEY_TEXT).sort(*KEY_TEXT).with_row_index("rank")
    in_key_order = (
        expected.with_columns(
            rank["rank"].gather(expected["left"]).alias("lr"),
            rank["rank"].gather(expected["right"]).alias("rr"),
        )
        .sort("lr", "rr")
        .drop("lr", "rr")
    )
    parts = list(on_spark.scored_pair_parts(400, batch_rows=150))  # batches cross part ends
    assert [p.height for p in parts[:-1]] == [400] * (len(parts) - 1)
    assert 0 < parts[-1].height <= 400
    read_back = pl.concat(parts)
    assert read_back.schema == expected.schema
    assert read_back.equals(in_key_order)

    decisions = dict(expected.group_by("decision").len().iter_rows())
    assert on_spark.decision_counts == {str(k): v for k, v in decisions.items()}
    best = in_cluster_probability(expected, default.clusters).sort("record_index")
    assert best.height > 0
    assert on_spark.record_match_probability.sort("record_index").equals(best)


def must_link(std: pl.DataFrame) -> pl.DataFrame:
    """One steward must-link between the first two records (``DECISION_COLUMNS``)."""
    keys = std.select("source_system", "source_record_id").head(2).rows()
    return pl.DataFrame(
        {
            "left_source_system": [keys[0][0]],
            "left_source_record_id": [keys[0][1]],
            "right_source_system": [keys[1][0]],
            "right_source_record_id": [keys[1][1]],
            "decision": [MUST_LINK],
            "decided_at": [datetime(2026, 12, 1, tzinfo=UTC)],
        }
    )


def test_decisions_and_labels_keep_the_driver_path() -> None:
    std, _ = samples_std()
    decision = must_link(std)
    answer = decision.drop("decision", "decided_at").with_columns(
        pl.lit("yes").alias("answer"), pl.lit(0).alias("labelled_at")
    )
    assert pairs_on_spark_unsupported(std, decisions=None, labels=None) is None
    assert pairs_on_spark_unsupported(std, decisions=decision.clear(), labels=None) is None
    assert "steward" in str(pairs_on_spark_unsupported(std, decisions=decision, labels=None))
    assert "label" in str(pairs_on_spark_unsupported(std, decisions=None, labels=answer))
