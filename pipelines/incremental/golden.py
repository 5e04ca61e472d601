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
from pipelines.warehouse.spill import SpilledGolden, SpilledTable, SpillFolder

# DuckDB's memory for sorting the carried field candidates with the recomputed ones
# (8M rows at 1M records); past it the sort spills to disk. Its default
# (writer.MERGE_MEMORY, 6 GB) let the golden step reach 9 GiB.
CANDIDATE_MERGE_MEMORY = "1GB"


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
class IncrementalGolden(SpilledGolden):
    """A spilled golden record whose ``carried`` customers are the ``previous`` release's rows.

    Later stages use it to touch only the other customers (contact points,
    the tables published as changes). Its candidates (8M rows at 1M records)
    wait in the scratch folder as a whole build's do: held in memory, they and
    the copies made of them took the run past 9 GiB.
    """

    carried: pl.Series = field(default_factory=lambda: pl.Series("unified_id", [], pl.String))
    previous: PreviousGolden | None = None

    def recomputed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``frame`` whose customer was not carried over."""
        return frame.filter(self.not_carried())

    def not_carried(self) -> pl.Expr:
        """True for the rows of a customer not carried over (a recomputed or a new one)."""
        return ~pl.col("unified_id").is_in(self.carried.implode())


def with_contact_points(
    golden: GoldenRecord | SpilledGolden, *, fields: Sequence[str]
) -> pl.DataFrame:
    """``customer_contact_points`` of every customer; carried customers' rows from their release.

    Contact points are per customer (``lineage.contact_points``), so those of
    a carried customer are its previous rows; the order is the function's own.
    Of spilled candidates, only the contact fields' are read back.
    """
    previous = golden.previous if isinstance(golden, IncrementalGolden) else None
    if previous is not None and "customer_contact_points" in previous.columns:
        assert isinstance(golden, IncrementalGolden)
        recomputed = _contact_candidates(golden.field_candidates, fields, golden.not_carried())
        kinds = ", ".join(f"'{kind}'" for kind in fields)
        return previous.warehouse.rows_plus(
            "customer_contact_points",
            release=previous.release,
            keep=golden.carried.to_frame("unified_id"),
            new=customer_contact_points(recomputed, fields=fields),
            order_by=["unified_id", f"list_position([{kinds}], kind)", "is_primary DESC",
                      "trust_score DESC", "value"],
        )  # fmt: skip
    if isinstance(golden, SpilledGolden):
        contact = _contact_candidates(golden.field_candidates, fields, pl.lit(True))
        return customer_contact_points(contact, fields=fields)
    return customer_contact_points(golden.field_candidates, fields=fields)


def _contact_candidates(
    candidates: SpilledTable, fields: Sequence[str], rows: pl.Expr
) -> pl.DataFrame:
    """Of spilled candidates, the contact fields' ``rows``, only the columns contact points read."""
    read = [c for c in candidates.columns if c in CANDIDATE_COLUMNS_READ]
    wanted = pl.col("field").is_in(list(fields)) & rows
    return candidates.lazy().filter(wanted).select(read).collect()


def combine_golden(
    previous: PreviousGolden, carried: pl.Series, fresh: GoldenRecord, *, spill: SpillFolder
) -> IncrementalGolden:
    """The previous release's rows of ``carried`` customers plus the recomputed ones.

    In the order ``build_golden_record`` gives (customer, field, candidate
    rank), so the tables equal a full rebuild's row for row. DuckDB selects
    the carried rows and sorts (``Warehouse.rows_plus_parts``): the release's
    tables are never loaded whole, and the candidates go to ``spill`` batch by
    batch as DuckDB gives them (:data:`CANDIDATE_MERGE_MEMORY` for its sort).
    ``fresh`` holds the steward overrides already (an overridden customer is
    never carried).
    """
    keep = carried.to_frame("unified_id")
    field_order = ", ".join(f"'{f}'" for f in FIELD_ORDER)
    by_field = ["unified_id", f"list_position([{field_order}], field)"]
    warehouse, release = previous.warehouse, previous.release
    candidates = warehouse.rows_plus_parts(
        "field_candidates",
        release=release,
        keep=keep,
        new=fresh.field_candidates,
        # A steward row (no rank) follows its field's candidates, as apply_field_overrides puts it.
        order_by=[*by_field, "rank IS NULL", "rank"],
        memory=CANDIDATE_MERGE_MEMORY,
    )
    return IncrementalGolden(
        golden_customer=warehouse.rows_plus(
            "golden_customer",
            release=release,
            keep=keep,
            new=fresh.golden_customer,
            order_by=by_field[:1],
        ),
        field_candidates=spill.write_parts("field_candidates", candidates),
        carried=carried,
        previous=previous,
    )
