"""Match records in record-key order, whatever order they come in.

Several steps of matching work by ``record_index``: the seeded sample of
random pairs that estimates u, the semantic rule's choice among equally near
names (lower index first), the order in which EM sums the pairs, and the
cluster labels (a cluster's smallest ``record_index``). The same records in
another row order therefore gave other candidate pairs, another model and
other clusters (b2b_10k with its rows shuffled: about 460 of 36,000 candidate
pairs and 20 clusters differed). Matching now runs on the records sorted by
``(source_system, source_record_id)`` and maps its result back to the
caller's ``record_index``, so only the records decide the result.

Standardisation already gives its records in that order (its ``record_index``
is their rank by key), so a run pays only the check that they are sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

# A record's identity across runs; unique within one run's records.
RECORD_KEYS = ("source_system", "source_record_id")


@dataclass(frozen=True)
class KeyOrder:
    """Where the caller's records go in key order.

    ``order[p]``: the caller's ``record_index`` of the record at key rank ``p``;
    ``rank[i]``: the key rank of the caller's record ``i`` (the inverse of ``order``).
    """

    order: np.ndarray
    rank: np.ndarray

    def records(self, std: pl.DataFrame) -> pl.DataFrame:
        """``std`` sorted by key, its ``record_index`` the key rank."""
        dtype = std.schema["record_index"]
        return std[self.order].with_columns(
            pl.int_range(std.height).cast(dtype).alias("record_index")
        )

    def ranks_of(self, indices: np.ndarray) -> np.ndarray:
        """The key ranks of caller ``record_index`` values."""
        return self.rank[np.asarray(indices, dtype=np.int64)].astype(np.asarray(indices).dtype)

    def indices_of(self, ranks: np.ndarray) -> np.ndarray:
        """The caller's ``record_index`` values of key ranks."""
        return self.order[np.asarray(ranks, dtype=np.int64)].astype(np.asarray(ranks).dtype)

    def rows_by_rank(self, vectors: sp.csr_matrix) -> sp.csr_matrix:
        """Rows in caller order (row ``i`` = record ``i``) reordered by key rank."""
        return vectors[self.order]

    def rows_by_index(self, vectors: sp.csr_matrix) -> sp.csr_matrix:
        """Rows by key rank reordered to the caller's ``record_index``."""
        return vectors[self.rank]


def key_order(std: pl.DataFrame) -> KeyOrder | None:
    """How to put ``std`` in record-key order; None when it already is.

    ``std``'s ``record_index`` must be its row number, as matching requires.
    Records with equal keys (none in a run: the connectors give each source
    record one ID) keep their relative order.

    Example:
        >>> std = pl.DataFrame({"record_index": [0, 1], "source_system": ["erp", "crm"],
        ...                     "source_record_id": ["E1", "C1"]})
        >>> key_order(std).order.tolist()
        [1, 0]
        >>> key_order(std.reverse().with_columns(pl.Series("record_index", [0, 1]))) is None
        True
    """
    keys = [pl.col(k).cast(pl.String) for k in RECORD_KEYS]
    order = std.select(pl.arg_sort_by(keys, maintain_order=True)).to_series().to_numpy()
    if np.array_equal(order, np.arange(std.height)):
        return None
    order = order.astype(np.int64)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return KeyOrder(order=order, rank=rank)


def pairs_in_caller_order(pairs: pl.DataFrame, key: KeyOrder) -> pl.DataFrame:
    """Scored pairs of key ranks as the caller's ``record_index`` values, ``left < right``.

    Swapping a pair's sides changes none of its evidence: every comparison is symmetric.
    """
    a = pl.Series(key.indices_of(pairs["left"].to_numpy()))
    b = pl.Series(key.indices_of(pairs["right"].to_numpy()))
    return pairs.with_columns(
        pl.min_horizontal(a, b).alias("left"), pl.max_horizontal(a, b).alias("right")
    )


def clusters_in_caller_order(
    clusters: pl.DataFrame, oversized: pl.DataFrame, key: KeyOrder
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clusters of key ranks, and their oversized-cluster report, in the caller's records.

    A cluster's label stays its smallest ``record_index``, now the caller's; the
    rows come in ``record_index`` order, as matching gives them.
    """
    members = clusters.with_columns(
        pl.Series(key.indices_of(clusters["record_index"].to_numpy())).alias("index")
    )
    labels = members.group_by("cluster").agg(pl.col("index").min().alias("label"))
    mapped = (
        members.join(labels, on="cluster")
        .select(
            pl.col("index").alias("record_index"),
            pl.col("label").cast(clusters.schema["cluster"]).alias("cluster"),
        )
        .sort("record_index")
    )
    return mapped, _oversized_in_caller_order(oversized, labels)


def directed_pairs_in_caller_order(pairs: pl.DataFrame, key: KeyOrder) -> pl.DataFrame:
    """Directed ``left -> right`` pairs of key ranks as the caller's ``record_index`` values."""
    return pairs.with_columns(
        pl.Series(key.indices_of(pairs[c].to_numpy())).alias(c) for c in ("left", "right")
    )


def _oversized_in_caller_order(report: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """The oversized-cluster report with each part's and each original cluster's new label.

    A part's label is its cluster's; the cluster it was split from gets the
    smallest label of its parts, i.e. its smallest record.
    """
    if not report.height:
        return report
    dtype = report.schema["record_index"]
    parts = report.join(
        labels.select(pl.col("cluster").cast(dtype).alias("record_index"), "label"),
        on="record_index",
        how="left",
        maintain_order="left",
    )
    return parts.with_columns(
        pl.col("label").cast(dtype).alias("record_index"),
        pl.col("label")
        .min()
        .over("original_record_index")
        .cast(dtype)
        .alias("original_record_index"),
    ).select(report.columns)
