"""Clusters wider than their evidence get every record pair compared.

Blocking compares only the pairs some rule proposes, so a cluster can grow
through a chain of links whose two ends were never compared: on
historical_50k, partial names ('robert', 'frost', 'charlie') linked to
several people joined 25 of them into one 63-record cluster, and no scored
pair between, say, Robert Frost (1793) and Thomas Pinches (1825) told the
cannot-link rule of ``matching.clustering`` that they differ.

A cluster of at least ``min_records`` records in which fewer than
``compared_share`` of its record pairs were compared is such a chain: the
records were put together by paths, not by direct evidence. Its uncompared
pairs are compared and scored with the run's model (``matching.linkage``
does that and clusters again), so the pairs that disagree become
cannot-links and forbid the merges that chained them. A cluster backed by
direct evidence, most of its pairs compared, is left alone: comparing all
pairs of every cluster also split true customers whose records disagree
with one another (historical_50k with attributes and people_100k lost
pairwise F1), while this criterion changed no set for the worse.

The work is bounded: a cluster above ``max_records`` (the cluster size
limit, ``matching.cluster_limits``) is not completed, so no cluster adds more
than max_records * (max_records - 1) / 2 pairs.
"""

from __future__ import annotations

import numpy as np
import polars as pl

COMPLETION_RULE = "cluster_completion"
"""The ``blocking_rules`` of a pair compared because its cluster was thin (no rule found it)."""


def thin_clusters(
    labels: np.ndarray,
    scored: pl.DataFrame,
    *,
    min_records: int,
    compared_share: float,
    max_records: int,
) -> pl.DataFrame:
    """Clusters whose records were mostly joined by paths: ``cluster``, ``records``, ``compared``.

    Args:
        labels: Cluster label per record_index.
        scored: The scored pairs (``left``, ``right``): the pairs that were compared.
        min_records: Smallest cluster considered (two records are always compared).
        compared_share: A cluster with fewer compared pairs than this share of its
            record pairs is thin.
        max_records: Clusters above this size are left out (their cost is not bounded).

    Example:
        A chain of five records (4 of its 10 pairs compared) is thin; three records
        with two of three pairs compared are not:

        >>> labels = np.array([0, 0, 0, 0, 0, 5, 5, 5])
        >>> scored = pl.DataFrame({"left": [0, 1, 2, 3, 5, 5], "right": [1, 2, 3, 4, 6, 7]})
        >>> thin_clusters(labels, scored, min_records=3, compared_share=0.5,
        ...               max_records=100).rows()
        [(0, 5, 4)]
    """
    return thin_clusters_of_counts(
        labels,
        compared_pairs_per_cluster(labels, scored),
        min_records=min_records,
        compared_share=compared_share,
        max_records=max_records,
    )


def compared_pairs_per_cluster(labels: np.ndarray, scored: pl.DataFrame) -> np.ndarray:
    """Per cluster label, how many of ``scored``'s pairs have both records in that cluster.

    Example:
        >>> labels = np.array([0, 0, 0, 3])
        >>> scored = pl.DataFrame({"left": [0, 1, 2], "right": [1, 2, 3]})
        >>> compared_pairs_per_cluster(labels, scored).tolist()
        [2, 0, 0, 0]
    """
    # Cluster ids of both ends of every compared pair, 32-bit: at 7M pairs (1M records)
    # these are the step's only arrays as long as the pairs.
    label32 = labels.astype(np.int32)
    left_cluster = label32[scored["left"].to_numpy()]
    right_cluster = label32[scored["right"].to_numpy()]
    inside = left_cluster[left_cluster == right_cluster]
    return np.bincount(inside, minlength=len(labels)).astype(np.int64)


def thin_clusters_of_counts(
    labels: np.ndarray,
    compared: np.ndarray,
    *,
    min_records: int,
    compared_share: float,
    max_records: int,
) -> pl.DataFrame:
    """``thin_clusters`` from each cluster's count of compared pairs inside it.

    Split from ``thin_clusters`` so that the Spark path (``matching.spark_match``),
    whose pairs stay on the executors, counts them there and sends only the counts.

    Args:
        labels: Cluster label per record_index.
        compared: Per cluster label (array index), its compared pairs inside the
            cluster (``compared_pairs_per_cluster``).
        min_records: See ``thin_clusters``.
        compared_share: See ``thin_clusters``.
        max_records: See ``thin_clusters``.

    Example:
        >>> thin_clusters_of_counts(np.array([0, 0, 0, 0, 0]), np.array([4, 0, 0, 0, 0]),
        ...                         min_records=3, compared_share=0.5, max_records=100).rows()
        [(0, 5, 4)]
    """
    records = np.bincount(labels, minlength=len(labels)).astype(np.int64)
    record_pairs = records * (records - 1) // 2
    thin = np.flatnonzero(
        (records >= min_records)
        & (records <= max_records)
        & (compared < compared_share * record_pairs)
    )
    return pl.DataFrame(
        {"cluster": thin.astype(np.int64), "records": records[thin], "compared": compared[thin]}
    )


def uncompared_pairs(labels: np.ndarray, scored: pl.DataFrame, clusters: pl.Series) -> pl.DataFrame:
    """Every record pair (``left`` < ``right``) inside ``clusters`` that ``scored`` lacks.

    Example:
        >>> labels = np.array([0, 0, 0, 3])
        >>> scored = pl.DataFrame({"left": [0], "right": [1]}, schema={"left": pl.UInt32,
        ...                       "right": pl.UInt32})
        >>> uncompared_pairs(labels, scored, pl.Series([0])).rows()
        [(0, 2), (1, 2)]
    """
    in_clusters = np.isin(labels, clusters.to_numpy())
    members = pl.DataFrame(
        {
            "record_index": np.flatnonzero(in_clusters).astype(np.uint32),
            "cluster": labels[in_clusters],
        }
    )
    pairs = (
        members.join(members, on="cluster", suffix="_right")
        .filter(pl.col("record_index") < pl.col("record_index_right"))
        .select(pl.col("record_index").alias("left"), pl.col("record_index_right").alias("right"))
    )
    # Only the compared pairs inside these clusters can be among them (not all 7M at 1M records).
    left = scored["left"].to_numpy()
    inside = scored.select("left", "right").filter(pl.Series(in_clusters[left])).cast(pl.UInt32)
    return pairs.join(inside, on=["left", "right"], how="anti").sort("left", "right")
