"""The source and standardisation stages: read each export, standardise every record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import polars as pl

from connectors import SourceBatch, load_source
from connectors.config import SourceConfig
from connectors.time_window import TimestampWindow
from matching import standardise
from pipelines.incremental import (
    Baseline,
    Standardised,
    Standardiser,
    reuses_standardised,
    standardise_in_parts,
    standardise_incrementally,
)
from pipelines.settings import FusionConfig
from pipelines.warehouse.spill import (
    SpilledTable,
    SpillFolder,
)


def load_one_source(source: SourceConfig, *, window: TimestampWindow | None = None) -> SourceBatch:
    """Read one export into canonical records plus its quarantine.

    ``window``: the timestamps the run accepts (``connectors.time_window``).
    """
    return load_source(source, window=window)


STANDARDISED_TABLE = "standardised_records"


def standardise_batches(
    batches: Mapping[str, SourceBatch],
    *,
    config: FusionConfig,
    baseline: Baseline,
    carried: pl.DataFrame | None = None,
) -> Standardised:
    """Every source's canonical records, standardised (unchanged ones reused from the baseline).

    ``carried``: canonical records read in place of quarantined rows
    (``pipelines.warehouse.retirement.carried_canonical_records``).
    """
    records = _all_records(batches, config, carried=carried)
    return standardise_incrementally(
        records,
        baseline=baseline,
        default_regions=config.default_regions,
        standardiser=_standardiser(config),
    )


def _all_records(
    batches: Mapping[str, SourceBatch], config: FusionConfig, *, carried: pl.DataFrame | None
) -> pl.DataFrame:
    """Every source's canonical records, in the config's order of sources, then the carried."""
    frames = [batches[s.name].records for s in config.sources]
    if carried is not None and carried.height:
        frames.append(carried.select(frames[0].columns).cast(frames[0].schema))
    return pl.concat(frames, how="vertical")


@dataclass(frozen=True)
class SpilledStandardised:
    """The standardised records in the run's scratch folder, and how many were reused."""

    records: SpilledTable
    reused: int
    standardised: int


def spill_standardised(
    batches: Mapping[str, SourceBatch],
    *,
    config: FusionConfig,
    baseline: Baseline,
    spill: SpillFolder,
    carried: pl.DataFrame | None = None,
) -> SpilledStandardised:
    """``standardise_batches``, written to ``spill`` (every later step reads them from there).

    With nothing to reuse and Polars as the engine, each part goes to the
    file as it is standardised (``standardise_in_parts``); otherwise the
    records are standardised whole, then written.
    """
    if config.matching.engine == "spark" or reuses_standardised(baseline):
        result = standardise_batches(batches, config=config, baseline=baseline, carried=carried)
        spilled = spill.write(STANDARDISED_TABLE, result.records)
        return SpilledStandardised(spilled, reused=result.reused, standardised=result.standardised)
    records = _all_records(batches, config, carried=carried)
    parts = standardise_in_parts(records, default_regions=config.default_regions)
    spilled = spill.write_parts(STANDARDISED_TABLE, parts)
    return SpilledStandardised(spilled, reused=0, standardised=records.height)


def _standardiser(config: FusionConfig) -> Standardiser:
    """``standardise``, or the same function on Spark when ``matching.engine`` is spark."""
    if config.matching.engine != "spark":
        return standardise
    from matching.engines.spark_standardise import standardise_on_spark

    return partial(standardise_on_spark, settings=config.matching.spark)
