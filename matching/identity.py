"""Unified IDs that survive reruns: carried over by record membership.

IDs are opaque sequence numbers ('FU-00000042'), never derived from values
that can change. A run reads the previously published xref: a cluster whose
records held one previous ID keeps it; a cluster joining several keeps the
oldest and the others are recorded as ``merged_into`` it; when a previous
cluster splits, the part holding most of its records keeps the ID and the
other parts get new IDs recorded as ``split_from`` it. New IDs continue the
sequence past every ID ever issued, so a retired ID is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

ID_PREFIX = "FU-"
ID_DIGITS = 8
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "unified_id": pl.String(),
    "event": pl.String(),
    "other_unified_id": pl.String(),
}


def format_unified_id(number: int) -> str:
    """The opaque unified ID for a sequence number.

    Example:
        >>> format_unified_id(42)
        'FU-00000042'
    """
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


def _sequence_number(unified_id: pl.Expr) -> pl.Expr:
    return unified_id.str.strip_prefix(ID_PREFIX).cast(pl.Int64, strict=False)


@dataclass(frozen=True)
class IdAssignment:
    """Unified ID per cluster label and the ID events of this run."""

    cluster_ids: pl.DataFrame  # cluster, unified_id
    history: pl.DataFrame  # unified_id, event, other_unified_id


def assign_unified_ids(
    membership: pl.DataFrame, *, previous_xref: pl.DataFrame | None, issued_ids: pl.Series | None
) -> IdAssignment:
    """Give every cluster a unified ID, carrying previous IDs over by membership.

    Args:
        membership: ``source_system``, ``source_record_id``, ``cluster`` (an integer
            label whose order is deterministic for identical inputs).
        previous_xref: The published ``customer_xref`` of the previous run, or None.
        issued_ids: Every unified ID ever issued (from ``unified_id_history``), or None.

    Returns:
        The ID of each cluster and this run's history events.
    """
    keys = ["source_system", "source_record_id"]
    if previous_xref is not None and previous_xref.height:
        with_previous = membership.join(
            previous_xref.select(*keys, pl.col("unified_id").alias("previous_id")),
            on=keys,
            how="left",
        )
    else:
        with_previous = membership.with_columns(pl.lit(None, dtype=pl.String).alias("previous_id"))

    counts = (
        with_previous.drop_nulls("previous_id")
        .group_by("cluster", "previous_id")
        .len()
        .with_columns(_sequence_number(pl.col("previous_id")).alias("age"))
    )
    # Each previous ID goes to the cluster holding most of its records.
    claims = counts.sort(["previous_id", "len", "cluster"], descending=[False, True, False]).unique(
        "previous_id", keep="first", maintain_order=True
    )
    # A cluster claiming several previous IDs keeps the oldest; the others merge into it.
    kept = claims.sort(["cluster", "age"]).unique("cluster", keep="first", maintain_order=True)
    merged = claims.join(
        kept.select("cluster", pl.col("previous_id").alias("survivor")), on="cluster"
    )
    merged = merged.filter(pl.col("previous_id") != pl.col("survivor"))

    clusters = membership.select("cluster").unique().sort("cluster")
    new_clusters = clusters.join(kept.select("cluster"), on="cluster", how="anti")
    previous_ids = previous_xref["unified_id"] if previous_xref is not None else None
    used = [s for s in (issued_ids, previous_ids) if s is not None and len(s)]
    highest = max((_max_sequence(s) for s in used), default=0)
    new_ids = new_clusters.with_row_index("offset").select(
        "cluster",
        (
            pl.lit(ID_PREFIX)
            + (pl.col("offset") + highest + 1).cast(pl.String).str.zfill(ID_DIGITS)
        ).alias("unified_id"),
    )
    cluster_ids = pl.concat(
        [kept.select("cluster", pl.col("previous_id").alias("unified_id")), new_ids]
    ).sort("cluster")

    # A new cluster whose records had an ID elsewhere split from that ID.
    split_sources = (
        counts.join(new_clusters, on="cluster")
        .sort(["cluster", "len", "age"], descending=[False, True, False])
        .unique("cluster", keep="first", maintain_order=True)
        .join(new_ids, on="cluster")
        .select(
            "unified_id",
            pl.lit("split_from").alias("event"),
            pl.col("previous_id").alias("other_unified_id"),
        )
    )
    created = new_ids.join(split_sources.select("unified_id"), on="unified_id", how="anti").select(
        "unified_id",
        pl.lit("created").alias("event"),
        pl.lit(None, dtype=pl.String).alias("other_unified_id"),
    )
    merges = merged.select(
        pl.col("previous_id").alias("unified_id"),
        pl.lit("merged_into").alias("event"),
        pl.col("survivor").alias("other_unified_id"),
    )
    history = (
        pl.concat([created, split_sources, merges])
        .cast(pl.Schema(HISTORY_SCHEMA))
        .sort("unified_id", "event")
    )
    return IdAssignment(cluster_ids=cluster_ids, history=history)


def _max_sequence(ids: pl.Series) -> int:
    value = ids.to_frame("id").select(_sequence_number(pl.col("id")).max())["id"][0]
    return int(value or 0)
