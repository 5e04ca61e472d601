"""What an incremental release writes: table deltas instead of whole tables."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from lineage import GoldenRecord
from matching.name_idf import NameIdf
from pipelines.incremental.baseline import KEYS, Baseline
from pipelines.incremental.golden import IncrementalGolden
from pipelines.warehouse import (
    KEPT,
    DerivedDelta,
    DerivedTable,
    ReleaseTable,
    StagedTable,
    TableDelta,
    staged_lazy,
    staged_rows,
)
from pipelines.warehouse.spill import SpilledGolden, SpilledTable

# field_lineage too: derived from field_candidates when the release is written,
# or spilled with them (for the changed customers only: publish_plan).
GOLDEN_DELTA_TABLES = ("golden_customer", "field_candidates", "customer_contact_points")


def publish_plan(
    tables: Mapping[str, StagedTable],
    *,
    std: StagedTable,
    golden: GoldenRecord | SpilledGolden,
    history: pl.DataFrame,
    baseline: Baseline,
    statistics: NameIdf | None,
    run_id: str,
) -> dict[str, ReleaseTable]:
    """Which of an incremental run's tables can be published as changes to its base release.

    The release the baseline was read from is copied, and only these tables'
    changed rows are written (``Warehouse.publish``): golden records carried
    over unchanged (``IncrementalGolden``) stay, the others are replaced by
    their recomputed rows; reused standardised records stay and get their new
    ``record_index`` and file position; the ID history gets this run's events;
    the name statistics frozen with the model are kept; the lineage is
    derived again for the recomputed customers only. Tables not named here
    are written whole. Empty when there is nothing to build on (first run,
    full rebuild, another configuration).
    """
    before = baseline.standardised
    if baseline.release is None or before is None:
        return {}
    plan: dict[str, ReleaseTable] = {}
    previous = golden.previous if isinstance(golden, IncrementalGolden) else None
    if previous is not None and previous.release == baseline.release:
        assert isinstance(golden, IncrementalGolden)
        ids = previous.unified_ids
        removed = ids.filter(~ids.is_in(golden.carried.implode())).to_frame()
        lineage = tables.get("field_lineage")
        # A spilled lineage (the candidates are spilled) is per customer as they are.
        spilled = ("field_lineage",) if isinstance(lineage, SpilledTable) else ()
        for name in (*GOLDEN_DELTA_TABLES, *spilled):
            rows = staged_lazy(tables[name])
            known = previous.columns.get(name)
            if known is None or set(known) != set(rows.collect_schema().names()):
                continue
            # Only the recomputed customers' rows are read (the candidates are spilled).
            added = rows.filter(golden.not_carried()).collect()
            plan[name] = TableDelta(("unified_id",), removed=removed, added=added)
        known = previous.columns.get("field_lineage")
        if (
            "field_candidates" in plan
            and isinstance(lineage, DerivedTable)
            and known is not None
            and set(known) == set(lineage.columns)
        ):
            # Its rows are per customer: only those of the customers not carried move.
            recomputed = golden.recomputed(golden.golden_customer).select("unified_id")
            changed = pl.concat([removed, recomputed]).unique()
            plan["field_lineage"] = DerivedDelta(lineage.query, ("unified_id",), changed)
    if set(before.columns) == set(std.columns):
        plan["standardised_records"] = standardised_delta(staged_rows(std), before)
    if baseline.xref is not None:
        plan["unified_id_history"] = TableDelta(
            ("unified_id",),
            removed=history.clear().select("unified_id"),
            added=history.filter(pl.col("run_id") == run_id),
        )
    if (
        statistics is not None
        and baseline.statistics is not None
        and statistics.equals(baseline.statistics)
    ):
        plan["name_idf"] = KEPT
    return plan


def standardised_delta(std: pl.DataFrame, previous: pl.DataFrame) -> TableDelta:
    """``standardised_records`` as changes: new and changed rows, moved rows, gone keys.

    A reused record keeps its row; only its ``record_index`` (the sort order
    of all keys) and its place in the export can move.
    """
    moving = ["record_index", "source_file", "row_number"]
    same = std.select(*KEYS, "content_hash", *moving).join(
        previous.select(*KEYS, "content_hash", *moving), on=[*KEYS, "content_hash"], suffix="_then"
    )
    moved = same.filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_then")) for c in moving)
    ).select(*KEYS, *moving)
    return TableDelta(
        tuple(KEYS),
        removed=previous.select(KEYS).join(same.select(KEYS), on=KEYS, how="anti"),
        added=std.join(same.select(KEYS), on=KEYS, how="anti"),
        updated=moved,
    )
