"""Clusters on Spark: connected components by large-star / small-star, then
the shared ``cluster_pairs`` inside each component that holds a cannot-link.

Connected components are iterated DataFrame steps (Kiveris et al., "Connected
Components in MapReduce and Beyond", SoCC 2014): *large-star* links every
neighbour larger than a node to the smallest node of its neighbourhood,
*small-star* links a node and its smaller neighbours to the smallest of them.
Alternating the two converges in O(log n) rounds to stars centred on each
component's smallest record_index, using joins and group-bys only (no
GraphFrames JAR).

Only a component holding a cannot-link between two of its records can split
(see ``matching.clustering``), and components never interact, so the
strongest-first constrained union-find runs per such component, in a grouped
Arrow UDF calling ``cluster_pairs`` itself on the component's pairs. Record
indexes are renumbered in order inside a component, so "the smallest member"
and every tie-break are the same as in one global call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from matching.clustering import cluster_pairs
from matching.engines.spark_frames import from_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MAX_ROUNDS = 64


def _checkpoint(frame: DataFrame) -> DataFrame:
    """Materialise and cut the lineage: each round's plan stays one round long."""
    return frame.localCheckpoint(eager=True)


def _large_star(edges: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    both = edges.select(F.col("a").alias("node"), F.col("b").alias("other")).unionByName(
        edges.select(F.col("b").alias("node"), F.col("a").alias("other"))
    )
    smallest = both.groupBy("node").agg(F.min("other").alias("m"))
    smallest = smallest.select("node", F.least("m", "node").alias("m"))
    return (
        both.join(smallest, on="node")
        .where(F.col("other") > F.col("node"))
        .select(F.col("other").alias("a"), F.col("m").alias("b"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    oriented = edges.select(
        F.greatest("a", "b").alias("node"), F.least("a", "b").alias("other")
    ).where(F.col("node") != F.col("other"))
    smallest = oriented.groupBy("node").agg(F.min("other").alias("m"))
    to_smallest = (
        oriented.join(smallest, on="node")
        .where(F.col("other") != F.col("m"))
        .select(F.col("other").alias("a"), F.col("m").alias("b"))
    )
    return to_smallest.unionByName(
        smallest.select(F.col("node").alias("a"), F.col("m").alias("b"))
    ).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether every edge joins a leaf to its one centre: the fixed point of both steps.

    Edges are (larger, smaller). In a star forest no record has two smaller
    neighbours and no centre is a leaf, so each centre is its component's
    smallest record. One query instead of comparing two rounds' edge sets.
    """
    from pyspark.sql import functions as F

    degree = edges.groupBy("a").agg(F.count("*").alias("n"))
    two_centres = degree.where(F.col("n") > 1).select("a")
    centre_is_leaf = edges.select(F.col("b").alias("a")).join(degree, on="a", how="left_semi")
    return two_centres.unionByName(centre_is_leaf).isEmpty()


def connected_components(links: DataFrame) -> DataFrame:
    """``record_index, component`` (the component's smallest record_index) for linked records.

    Records in no link are absent: each is its own component.
    """
    from pyspark.sql import functions as F

    edges = _checkpoint(
        links.select(F.greatest("left", "right").alias("a"), F.least("left", "right").alias("b"))
        .where(F.col("a") != F.col("b"))
        .distinct()
    )
    for _ in range(MAX_ROUNDS):
        edges = _checkpoint(_small_star(_large_star(edges)))
        if _is_star_forest(edges):
            break
    else:
        msg = f"connected components did not converge in {MAX_ROUNDS} rounds"
        raise RuntimeError(msg)
    centres = edges.select(F.col("b").alias("record_index"), F.col("b").alias("component"))
    leaves = edges.select(F.col("a").alias("record_index"), F.col("b").alias("component"))
    return leaves.unionByName(centres).distinct()


def _cluster_component(
    table: pa.Table, *, match_threshold: float, cannot_link_probability: float
) -> pa.Table:
    """``cluster_pairs`` over one component's pairs, on record indexes renumbered in order."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    members = np.unique(np.concatenate([frame["left"].to_numpy(), frame["right"].to_numpy()]))
    local = frame.with_columns(
        pl.Series("left", np.searchsorted(members, frame["left"].to_numpy())),
        pl.Series("right", np.searchsorted(members, frame["right"].to_numpy())),
    )
    labels = cluster_pairs(
        len(members),
        local,
        match_threshold=match_threshold,
        cannot_link_probability=cannot_link_probability,
    )
    return pa.table(
        {"record_index": pa.array(members, pa.int64()), "cluster": pa.array(members[labels])}
    )


def cluster_on_spark(
    n_records: int,
    edges: DataFrame,
    *,
    match_threshold: float,
    cannot_link_probability: float,
) -> np.ndarray:
    """Cluster label of every record: the same labels as ``matching.clustering.cluster_pairs``.

    Args:
        n_records: Number of records (record_index runs 0..n-1).
        edges: Spark frame of ``left, right, match_weight, match_probability, weak_link``.
        match_threshold: Pairs at or above this probability are links.
        cannot_link_probability: Pairs below this probability forbid a merge.
    """
    from pyspark.sql import functions as F

    if "weak_link" not in edges.columns:
        edges = edges.withColumn("weak_link", F.lit(False))
    links = edges.where(F.col("match_probability") >= match_threshold)
    components = _checkpoint(connected_components(links))
    left = components.select(F.col("record_index").alias("left"), F.col("component"))
    right = components.select(
        F.col("record_index").alias("right"), F.col("component").alias("right_component")
    )
    inside = (
        edges.join(left, on="left")
        .join(right, on="right")
        .where(F.col("component") == F.col("right_component"))
        .drop("right_component")
    )
    conflicted = (
        inside.where(
            (F.col("match_probability") < cannot_link_probability)
            | (F.col("weak_link") & (F.col("match_probability") >= match_threshold))
        )
        .select("component")
        .distinct()
    )
    split = (
        inside.join(conflicted, on="component", how="left_semi")
        .groupBy("component")
        .applyInArrow(
            lambda table: _cluster_component(
                table,
                match_threshold=match_threshold,
                cannot_link_probability=cannot_link_probability,
            ),
            schema="record_index long, cluster long",
        )
    )
    whole = components.join(split.select("record_index"), on="record_index", how="left_anti")
    assigned = from_spark(
        whole.select("record_index", F.col("component").alias("cluster")).unionByName(split)
    )
    labels = np.arange(n_records, dtype=np.int64)
    labels[assigned["record_index"].to_numpy()] = assigned["cluster"].to_numpy()
    return labels
