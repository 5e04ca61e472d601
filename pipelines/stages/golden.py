"""The golden stage: survivorship over each cluster, steward overrides, spilled in parts."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from lineage import (
    GoldenRecord,
    build_golden_record,
)
from lineage.golden import (
    PART_RECORDS,
    golden_record_parts,
    latest_update,
)
from pipelines.incremental import (
    Baseline,
    carried_unified_ids,
    combine_golden,
)
from pipelines.settings import FusionConfig
from pipelines.stages.identity import XREF_COLUMNS, Identity
from pipelines.stewardship.store import apply_field_overrides
from pipelines.warehouse.spill import (
    SpilledGolden,
    SpillFolder,
    spill_golden,
)


def build_golden(
    std: pl.DataFrame,
    identity: Identity,
    *,
    config: FusionConfig,
    run_id: str,
    spill: SpillFolder,
    overrides: pl.DataFrame | None = None,
    baseline: Baseline | None = None,
    part_records: int = PART_RECORDS,
    as_of: datetime | None = None,
) -> GoldenRecord | SpilledGolden:
    """Survivorship over trust scores, with field lineage; steward overrides win.

    ``as_of``: the run clock trust ages values against (``pipelines.clock``);
    None: the records' latest update (callers outside a run).

    An incremental run recomputes only the customers whose records changed
    and carries the others over from the previous release
    (``pipelines.incremental.carried_unified_ids`` says when that is exact).
    A whole build (polars engine) writes the candidates of each range of
    ``part_records`` records to ``spill`` as it is built, so they never all
    sit in memory.
    """
    carried = (
        None
        if baseline is None
        else carried_unified_ids(
            std,
            identity.xref,
            baseline=baseline,
            overrides=overrides,
            history=identity.history,
            as_of=as_of,
        )
    )
    if carried is None or baseline is None or baseline.golden is None:
        if config.matching.engine != "spark":
            return _spilled_golden(
                std,
                identity,
                config=config,
                run_id=run_id,
                spill=spill,
                overrides=overrides,
                part_records=part_records,
                as_of=as_of,
            )
        from lineage.golden_spark import build_golden_record_spark

        golden = build_golden_record_spark(
            std,
            identity.xref,
            sources=config.sources,
            settings=config.survivorship,
            run_id=run_id,
            spark_settings=config.matching.spark,
            as_of=as_of,
        )
    else:
        todo = identity.xref.filter(~pl.col("unified_id").is_in(carried.implode()))
        fresh = build_golden_record(
            std.join(todo.select(XREF_COLUMNS[:2]), on=list(XREF_COLUMNS[:2]), how="semi"),
            todo,
            sources=config.sources,
            settings=config.survivorship,
            run_id=run_id,
            as_of=latest_update(std) if as_of is None else as_of,
        )
        if overrides is not None:
            # Overridden customers are never carried over: applied to the recomputed ones,
            # the overrides are applied to the whole.
            fresh = apply_field_overrides(fresh, overrides, history=identity.history, run_id=run_id)
        return combine_golden(baseline.golden, carried, fresh, spill=spill)
    if overrides is None:
        return golden
    return apply_field_overrides(golden, overrides, history=identity.history, run_id=run_id)


def _spilled_golden(
    std: pl.DataFrame,
    identity: Identity,
    *,
    config: FusionConfig,
    run_id: str,
    spill: SpillFolder,
    overrides: pl.DataFrame | None,
    part_records: int,
    as_of: datetime | None,
) -> SpilledGolden:
    """Every customer's golden record, range by range, the candidates spilled as they come."""
    parts = golden_record_parts(
        std,
        identity.xref,
        sources=config.sources,
        settings=config.survivorship,
        run_id=run_id,
        part_records=part_records,
        as_of=as_of,
    )
    if overrides is not None:
        # An override names one customer: applied to its range, it is applied to the whole.
        parts = (
            apply_field_overrides(part, overrides, history=identity.history, run_id=run_id)
            for part in parts
        )
    return spill_golden(parts, spill=spill)
