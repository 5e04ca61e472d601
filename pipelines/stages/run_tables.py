"""The run's own tables: quarantine, value rejections, ``pipeline_runs``; the wall clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from connectors.canonical import QUARANTINE_SCHEMA
from connectors.time_window import empty_value_rejections
from pipelines.warehouse.spill import (
    StagedBatch,
)


def quarantine_table(batches: Mapping[str, StagedBatch], *, run_id: str) -> pl.DataFrame:
    """Every rejected row of every source, with its reason."""
    frames = [b.quarantine for b in batches.values()]
    combined = pl.concat(frames) if frames else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return combined.with_columns(pl.lit(run_id).alias("run_id")).sort(
        "source_system", "source_file", "row_number"
    )


def value_rejections_table(batches: Mapping[str, StagedBatch], *, run_id: str) -> pl.DataFrame:
    """Every value dropped from a kept record (``connectors.time_window``), with its reason."""
    frames = [b.value_rejections for b in batches.values()]
    combined = pl.concat(frames) if frames else empty_value_rejections()
    return combined.with_columns(pl.lit(run_id).alias("run_id"))


@dataclass(frozen=True)
class RunSummary:
    """Counts and timings of one run, as they go into ``pipeline_runs``."""

    run_id: str
    started_at: datetime
    rows_in: int
    rows_quarantined: int
    golden_rows: int
    config_hash: str
    # Records kept with their last good values for quarantined rows, and records retired.
    records_carried: int = 0
    records_retired: int = 0

    def as_row(self, *, status: str, finished_at: datetime) -> dict[str, object]:
        """A ``pipeline_runs`` row."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": finished_at,
            "status": status,
            "rows_in": self.rows_in,
            "rows_quarantined": self.rows_quarantined,
            "golden_rows": self.golden_rows,
            "config_hash": self.config_hash,
            "records_carried": self.records_carried,
            "records_retired": self.records_retired,
        }


PIPELINE_RUNS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "status": pl.String(),
    "rows_in": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "golden_rows": pl.Int64(),
    "config_hash": pl.String(),
    "records_carried": pl.Int64(),
    "records_retired": pl.Int64(),
}


def pipeline_runs_table(log: list[dict[str, object]], current: dict[str, object]) -> pl.DataFrame:
    """Every logged run (failures included) plus the one being published."""
    rows = [
        {k: None if entry.get(k) is None else str(entry.get(k)) for k in PIPELINE_RUNS_SCHEMA}
        for entry in [*log, current]
    ]
    frame = pl.DataFrame(rows, schema={k: pl.String for k in PIPELINE_RUNS_SCHEMA}, orient="row")
    return frame.with_columns(
        pl.col("started_at", "finished_at").str.to_datetime(time_zone="UTC", strict=False),
        pl.col(
            "rows_in", "rows_quarantined", "golden_rows", "records_carried", "records_retired"
        ).cast(pl.Int64),
    ).cast(pl.Schema(PIPELINE_RUNS_SCHEMA))


def utc_now() -> datetime:
    """The wall clock, UTC; used only for run bookkeeping, never for values."""
    return datetime.now(UTC)
