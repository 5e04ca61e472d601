"""Unified IDs that survive reruns: carried over by record membership.

IDs are opaque sequence numbers ('FU-00000042'), never derived from values
that can change. A run reads the previously published xref and assigns IDs
the way MDM hubs do:

- a cluster whose records held one previous ID keeps it;
- a cluster joining several previous IDs keeps the oldest; the others are
  recorded as ``merged_into`` it and still resolve to it;
- when a previous cluster splits, the part holding most of its original
  records (those that were first given that ID) keeps it; another part gets
  back the ID its records originally had, if that ID is no longer live
  (restored), else a new one; both are recorded as ``split_from``;
- a record that disappears from its source is retired with the ID it had; an
  ID left without records is recorded as ``retired``; a retired record that
  reappears comes back to the live successor of its old ID;
- new IDs continue the sequence past every ID ever issued, so a retired ID
  is never reused for another customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

ID_PREFIX = "FU-"
ID_DIGITS = 8
KEYS = ["source_system", "source_record_id"]
MAX_RESOLVE_HOPS = 100
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
class PreviousIdentity:
    """What the last release says about identity.

    Attributes:
        xref: Active records: ``source_system, source_record_id, unified_id`` and,
            when known, ``first_unified_id`` (the ID a record was first given).
        retired: Records retired earlier: ``source_system, source_record_id, unified_id``.
        history: Every ID event so far (``unified_id, event, other_unified_id``).
        highest_issued: The highest sequence number ever issued, as the warehouse's
            ledger holds it: new IDs continue past it even when the tables above
            were lost (a release gone, history dropped).
    """

    xref: pl.DataFrame | None = None
    retired: pl.DataFrame | None = None
    history: pl.DataFrame | None = None
    highest_issued: int = 0


@dataclass(frozen=True)
class IdAssignment:
    """This run's IDs.

    Attributes:
        cluster_ids: ``cluster, unified_id``.
        records: ``source_system, source_record_id, unified_id, first_unified_id``.
        retired: Records that left since the last release, with the ID they had.
        history: This run's events (``unified_id, event, other_unified_id``).
    """

    cluster_ids: pl.DataFrame
    records: pl.DataFrame
    retired: pl.DataFrame
    history: pl.DataFrame


def resolve_unified_ids(ids: pl.Series, history: pl.DataFrame | None) -> pl.Series:
    """Follow ``merged_into`` events to the ID each one lives on as.

    Example:
        >>> h = pl.DataFrame({"unified_id": ["FU-2"], "event": ["merged_into"],
        ...                   "other_unified_id": ["FU-1"]})
        >>> resolve_unified_ids(pl.Series(["FU-2", "FU-3"]), h).to_list()
        ['FU-1', 'FU-3']
    """
    if history is None or not history.height:
        return ids
    merges = history.filter(pl.col("event") == "merged_into").unique(
        "unified_id", keep="last", maintain_order=True
    )
    successor = dict(zip(merges["unified_id"], merges["other_unified_id"], strict=True))
    resolved = ids
    for _ in range(MAX_RESOLVE_HOPS):
        stepped = resolved.replace_strict(successor, default=resolved, return_dtype=pl.String)
        if stepped.equals(resolved):
            break
        resolved = stepped
    return resolved.alias(ids.name)


def _previous_membership(membership: pl.DataFrame, previous: PreviousIdentity) -> pl.DataFrame:
    """Membership plus each record's previous ID and first ID, where it had them."""
    frames = []
    if previous.xref is not None and previous.xref.height:
        first = (
            pl.col("first_unified_id")
            if "first_unified_id" in previous.xref.columns
            else pl.col("unified_id")
        )
        frames.append(
            previous.xref.select(
                *KEYS, pl.col("unified_id").alias("previous_id"), first.alias("first_id")
            )
        )
    if previous.retired is not None and previous.retired.height:
        # A reappearing record returns to the live successor of its old ID.
        reappearing = previous.retired.select(*KEYS, "unified_id").with_columns(
            resolve_unified_ids(previous.retired["unified_id"], previous.history).alias(
                "previous_id"
            ),
        )
        frames.append(
            reappearing.select(*KEYS, "previous_id", pl.col("unified_id").alias("first_id"))
        )
    if not frames:
        return membership.with_columns(
            pl.lit(None, dtype=pl.String).alias("previous_id"),
            pl.lit(None, dtype=pl.String).alias("first_id"),
        )
    known = pl.concat(frames).unique(KEYS, keep="first", maintain_order=True)
    return membership.join(known, on=KEYS, how="left")


def _claims(with_previous: pl.DataFrame) -> pl.DataFrame:
    """Which cluster keeps each previous ID: the one holding most of its original records."""
    counts = (
        with_previous.drop_nulls("previous_id")
        .group_by("cluster", "previous_id")
        .agg(
            pl.len().alias("records"),
            (pl.col("first_id") == pl.col("previous_id")).sum().alias("original_records"),
        )
        .with_columns(_sequence_number(pl.col("previous_id")).alias("age"))
    )
    return counts.sort(
        ["previous_id", "original_records", "records", "cluster"],
        descending=[False, True, True, False],
    ).unique("previous_id", keep="first", maintain_order=True)


def assign_unified_ids(
    membership: pl.DataFrame, *, previous: PreviousIdentity | None = None
) -> IdAssignment:
    """Give every cluster a unified ID, carrying previous IDs over by membership.

    Args:
        membership: ``source_system``, ``source_record_id``, ``cluster`` (an integer
            label whose order is deterministic for identical inputs).
        previous: The identity state of the last release (empty for a first run).

    Returns:
        IDs per cluster and per record, the records retired, and this run's events.
    """
    previous = previous or PreviousIdentity()
    with_previous = _previous_membership(membership, previous)
    claims = _claims(with_previous)
    # A cluster claiming several previous IDs keeps the oldest; the others merge into it.
    kept = claims.sort(["cluster", "age"]).unique("cluster", keep="first", maintain_order=True)
    survivors = kept.select("cluster", pl.col("previous_id").alias("survivor"))
    merged = claims.join(survivors, on="cluster").filter(
        pl.col("previous_id") != pl.col("survivor")
    )

    unclaimed = (
        membership.select("cluster").unique().join(kept.select("cluster"), on="cluster", how="anti")
    )
    unavailable = set(kept["previous_id"].to_list()) | set(merged["previous_id"].to_list())
    restored = _restorable(with_previous, unclaimed, unavailable=unavailable)
    fresh = unclaimed.join(restored.select("cluster"), on="cluster", how="anti").sort("cluster")
    highest = _highest_issued(previous)
    fresh_ids = fresh.with_row_index("offset").select(
        "cluster",
        (
            pl.lit(ID_PREFIX)
            + (pl.col("offset") + highest + 1).cast(pl.String).str.zfill(ID_DIGITS)
        ).alias("unified_id"),
    )
    cluster_ids = pl.concat(
        [
            kept.select("cluster", pl.col("previous_id").alias("unified_id")),
            restored.select("cluster", "unified_id"),
            fresh_ids,
        ]
    ).sort("cluster")

    records = with_previous.join(cluster_ids, on="cluster").select(
        *KEYS,
        "unified_id",
        pl.coalesce("first_id", "unified_id").alias("first_unified_id"),
    )
    retired = _retired_records(membership, previous)
    history = _events(
        with_previous, cluster_ids=cluster_ids, kept=kept, merged=merged, retired=retired
    )
    return IdAssignment(
        cluster_ids=cluster_ids, records=records.sort(KEYS), retired=retired, history=history
    )


def _restorable(
    with_previous: pl.DataFrame, unclaimed: pl.DataFrame, *, unavailable: set[str]
) -> pl.DataFrame:
    """Unclaimed clusters whose records were first given an ID that is free again.

    That is the ID a customer had before it was merged into another one: when
    a steward or new evidence splits it off again, it gets its own ID back.
    """
    candidates = (
        with_previous.join(unclaimed, on="cluster")
        .drop_nulls("first_id")
        .filter(~pl.col("first_id").is_in(list(unavailable)))
        .group_by("cluster", "first_id")
        .len()
        .sort(["cluster", "len", "first_id"], descending=[False, True, False])
        .unique("cluster", keep="first", maintain_order=True)
    )
    # One cluster per restored ID: the one holding most of its original records.
    return (
        candidates.sort(["first_id", "len", "cluster"], descending=[False, True, False])
        .unique("first_id", keep="first", maintain_order=True)
        .select("cluster", pl.col("first_id").alias("unified_id"))
    )


def _retired_records(membership: pl.DataFrame, previous: PreviousIdentity) -> pl.DataFrame:
    if previous.xref is None or not previous.xref.height:
        return pl.DataFrame(schema={"source_system": pl.String, "source_record_id": pl.String,
                                    "unified_id": pl.String})  # fmt: skip
    return (
        previous.xref.select(*KEYS, "unified_id")
        .join(membership.select(KEYS), on=KEYS, how="anti")
        .sort(KEYS)
    )


def _events(
    with_previous: pl.DataFrame,
    *,
    cluster_ids: pl.DataFrame,
    kept: pl.DataFrame,
    merged: pl.DataFrame,
    retired: pl.DataFrame,
) -> pl.DataFrame:
    kept_ids = kept.select("cluster")
    others = cluster_ids.join(kept_ids, on="cluster", how="anti")
    # A cluster that did not keep an ID but whose records had one split from it.
    origin = (
        with_previous.join(others, on="cluster")
        .drop_nulls("previous_id")
        .group_by("unified_id", "previous_id")
        .len()
        .sort(["unified_id", "len", "previous_id"], descending=[False, True, False])
        .unique("unified_id", keep="first", maintain_order=True)
    )
    splits = origin.select(
        "unified_id",
        pl.lit("split_from").alias("event"),
        pl.col("previous_id").alias("other_unified_id"),
    )
    no_other = pl.lit(None, dtype=pl.String).alias("other_unified_id")
    created = others.join(splits.select("unified_id"), on="unified_id", how="anti").select(
        "unified_id", pl.lit("created").alias("event"), no_other
    )
    merges = merged.select(
        pl.col("previous_id").alias("unified_id"),
        pl.lit("merged_into").alias("event"),
        pl.col("survivor").alias("other_unified_id"),
    )
    still_used = set(cluster_ids["unified_id"].to_list()) | set(merged["previous_id"].to_list())
    emptied = (
        retired.select("unified_id")
        .unique()
        .filter(~pl.col("unified_id").is_in(list(still_used)))
        .select("unified_id", pl.lit("retired").alias("event"), no_other)
    )
    return (
        pl.concat([created, splits, merges, emptied])
        .cast(pl.Schema(HISTORY_SCHEMA))
        .sort("unified_id", "event")
    )


def _highest_issued(previous: PreviousIdentity) -> int:
    seen = [
        frame["unified_id"]
        for frame in (previous.history, previous.xref, previous.retired)
        if frame is not None and frame.height
    ]
    values = [s.to_frame("id").select(_sequence_number(pl.col("id")).max())["id"][0] for s in seen]
    return int(max([previous.highest_issued, *(v for v in values if v is not None)]))
