"""Clustering on Spark against its oracles: networkx components and ``cluster_pairs``."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl

from matching.clustering import cluster_pairs
from matching.engines.spark_clustering import cluster_on_spark, connected_components
from matching.engines.spark_frames import from_spark, to_spark
from matching.engines.spark_session import spark_session
from matching.settings import SparkSettings


def _random_scored_pairs(n_records: int, n_pairs: int, *, seed: int) -> pl.DataFrame:
    """Scored pairs with chains, stars and a share of confident non-matches."""
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n_records, n_pairs)
    right = rng.integers(0, n_records, n_pairs)
    keep = left != right
    low, high = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    probability = rng.choice([0.999, 0.95, 0.6, 0.001], size=len(low), p=[0.5, 0.2, 0.1, 0.2])
    weight = np.round(rng.normal(size=len(low)) * 5 + np.log2(probability / (1 - probability)), 4)
    return pl.DataFrame(
        {
            "left": low.astype(np.int64),
            "right": high.astype(np.int64),
            "match_weight": weight,
            "match_probability": probability,
        }
    ).unique(["left", "right"], keep="first", maintain_order=True)


def test_components_equal_networkx(spark_settings: SparkSettings) -> None:
    pairs = _random_scored_pairs(400, 300, seed=1)
    # A long chain: large-star/small-star must still converge to one component.
    chain = pl.DataFrame(
        {"left": np.arange(1000, 1030), "right": np.arange(1001, 1031)},
        schema={"left": pl.Int64, "right": pl.Int64},
    )
    links = pl.concat([pairs.select("left", "right"), chain])
    spark = spark_session(spark_settings)
    found = from_spark(connected_components(to_spark(spark, links)))
    graph = nx.Graph(links.rows())
    expected = {
        node: min(component) for component in nx.connected_components(graph) for node in component
    }
    assert dict(zip(found["record_index"], found["component"], strict=True)) == expected


def test_clusters_with_weak_links_equal_cluster_pairs(spark_settings: SparkSettings) -> None:
    pairs = _random_scored_pairs(500, 700, seed=11)
    pairs = pairs.with_columns(
        pl.Series("weak_link", np.random.default_rng(3).random(pairs.height) < 0.3)
    )
    expected = cluster_pairs(500, pairs, match_threshold=0.9, cannot_link_probability=0.01)
    spark = spark_session(spark_settings)
    found = cluster_on_spark(
        500, to_spark(spark, pairs), match_threshold=0.9, cannot_link_probability=0.01
    )
    assert found.tolist() == expected.tolist()
    # The weak links must matter here: without them the clusters differ.
    assert (
        expected.tolist()
        != cluster_pairs(
            500, pairs.drop("weak_link"), match_threshold=0.9, cannot_link_probability=0.01
        ).tolist()
    )


def test_clusters_equal_cluster_pairs(spark_settings: SparkSettings) -> None:
    pairs = _random_scored_pairs(500, 700, seed=7)
    expected = cluster_pairs(500, pairs, match_threshold=0.9, cannot_link_probability=0.01)
    spark = spark_session(spark_settings)
    found = cluster_on_spark(
        500, to_spark(spark, pairs), match_threshold=0.9, cannot_link_probability=0.01
    )
    assert found.tolist() == expected.tolist()
    # The data must exercise the constrained path: some component holds a cannot-link.
    plain = cluster_pairs(
        500, pairs.filter(pl.col("match_probability") >= 0.9).with_columns(
            pl.lit(0.999).alias("match_probability")
        ), match_threshold=0.9, cannot_link_probability=0.01,
    )  # fmt: skip
    assert plain.tolist() != expected.tolist()
