"""Recompute golden records for the customers whose records changed; carry the others over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from lineage import GoldenRecord, customer_contact_points
from lineage.contact_points import CANDIDATE_COLUMNS_READ
from lineage.golden import FIELD_ORDER, latest_update
from matching.identity import resolve_unified_ids
from pipelines.incremental.baseline import KEYS, Baseline, PreviousGolden
from pipelines.warehouse.spill import SpilledGolden


def carried_unified_ids(
    std: pl.DataFrame,
    xref: pl.DataFrame,
    *,
    baseline: Baseline,
    overrides: pl.DataFrame | None,
    history: pl.DataFrame | None,
    as_of: datetime | None = None,
) -> pl.Series | None:
    """Unified IDs whose golden record the previous release already holds, exactly.

    Survivorship is per customer except for one global input: trust ages
    values against the run clock ``as_of`` (``pipelines.clock``; None: the
    records' latest ``source_updated_at``). So a golden record is carried over
    when that instant did not move since the release, the customer has exactly
    the records it had, none of them changed, and no steward override names
    it (overrides are applied afresh); None: recompute every golden record.
    """
    previous, before = baseline.golden, baseline.standardised
    if previous is None or before is None or baseline.xref is None:
        return None
    aged_at = latest_update(before) if baseline.as_of is None else baseline.as_of
    if (latest_update(std) if as_of is None else as_of) != aged_at:
        return None
    now = xref.select(*KEYS, "unified_id").join(std.select(*KEYS, "content_hash"), on=KEYS)
    then = baseline.xref.select(*KEYS, "unified_id").join(
        before.select(*KEYS, "content_hash"), on=KEYS
    )
    both = now.join(then, on=KEYS, how="full", suffix="_then", coalesce=True)
    moved = both.filter(
        pl.col("unified_id").ne_missing(pl.col("unified_id_then"))
        | pl.col("content_hash").ne_missing(pl.col("content_hash_then"))
    )
    dirty = pl.concat([moved["unified_id"], moved["unified_id_then"]]).drop_nulls()
    if overrides is not None and overrides.height:
        dirty = pl.concat([dirty, resolve_unified_ids(overrides["unified_id"], history)])
    dirty = pl.concat([dirty, previous.stewarded]).unique()
    live = now["unified_id"].unique()
    return live.filter(~live.is_in(dirty.implode()) & live.is_in(previous.unified_ids.implode()))


@dataclass(frozen=True)
class IncrementalGolden(GoldenRecord):
    """A golden record whose ``carried`` customers are the ``previous`` release's rows, unchanged.

    Later stages use it to touch only the other customers (contact points,
    the tables published as changes).
    """

    carried: pl.Series = field(default_factory=lambda: pl.Series("unified_id", [], pl.String))
    previous: PreviousGolden | None = None

    def recomputed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``frame`` whose customer was not carried over."""
        return frame.filter(~pl.col("unified_id").is_in(self.carried.implode()))


def with_contact_points(
    golden: GoldenRecord | SpilledGolden, *, fields: Sequence[str]
) -> pl.DataFrame:
    """``customer_contact_points`` of every customer; carried customers' rows from their release.

    Contact points are per customer (``lineage.contact_points``), so those of
    a carried customer are its previous rows; the order is the function's own.
    Of spilled candidates, only the contact fields' are read back.
    """
    if isinstance(golden, SpilledGolden):
        wanted = pl.col("field").is_in(list(fields))
        read = [c for c in golden.field_candidates.columns if c in CANDIDATE_COLUMNS_READ]
        contact = golden.field_candidates.lazy().filter(wanted).select(read).collect()
        return customer_contact_points(contact, fields=fields)
    previous = golden.previous if isinstance(golden, IncrementalGolden) else None
    if previous is None or "customer_contact_points" not in previous.columns:
        return customer_contact_points(golden.field_candidates, fields=fields)
    assert isinstance(golden, IncrementalGolden)
    fresh = customer_contact_points(golden.recomputed(golden.field_candidates), fields=fields)
    kinds = ", ".join(f"'{kind}'" for kind in fields)
    return previous.warehouse.rows_plus(
        "customer_contact_points",
        release=previous.release,
        keep=golden.carried.to_frame("unified_id"),
        new=fresh,
        order_by=["unified_id", f"list_position([{kinds}], kind)", "is_primary DESC",
                  "trust_score DESC", "value"],
    )  # fmt: skip


def combine_golden(
    previous: PreviousGolden, carried: pl.Series, fresh: GoldenRecord
) -> IncrementalGolden:
    """The previous release's rows of ``carried`` customers plus the recomputed ones.

    In the order ``build_golden_record`` gives (customer, field, candidate
    rank), so the tables equal a full rebuild's row for row. DuckDB selects
    the carried rows and sorts (``Warehouse.rows_plus``): the release's tables
    are never loaded whole.
    """
    keep = carried.to_frame("unified_id")
    field_order = ", ".join(f"'{f}'" for f in FIELD_ORDER)
    by_field = ["unified_id", f"list_position([{field_order}], field)"]

    def merged(table: str, new: pl.DataFrame, order_by: list[str]) -> pl.DataFrame:
        return previous.warehouse.rows_plus(
            table, release=previous.release, keep=keep, new=new, order_by=order_by
        )

    return IncrementalGolden(
        golden_customer=merged("golden_customer", fresh.golden_customer, by_field[:1]),
        field_candidates=merged("field_candidates", fresh.field_candidates, [*by_field, "rank"]),
        carried=carried,
        previous=previous,
    )
