"""Source timestamps the run can believe: within a window around the run's clock.

Trust ages every value against the run's clock (``as_of``), so one source
timestamp in year 9999 must not become a reference point, and one in year
0001 or an epoch-zero sentinel (``1970-01-01``) must not make a value look
ancient. A record whose ``updated_at`` lies outside the window keeps its
place: only the timestamp is dropped (its ``source_updated_at`` becomes
null, as if the export had none) and a ``value_rejections`` row says which
column held what and why.

The window is ``floor < updated_at <= as_of + max_future``:

- ``as_of`` is the run's clock (``pipelines.clock``: the start of the run's
  UTC day unless pinned), so the default ``max_future`` of 2 days accepts
  timestamps up to at least one full day past the moment the run started
  (clocks of source systems drift; time zones get misconfigured by hours);
- ``floor`` is exclusive and defaults to ``1970-01-01T00:00:00Z``: epoch
  zero is what an unset epoch column or a null cast to a date becomes, and
  no customer master record was last changed before it. Years 1900 (Excel's
  and SQL Server's zero dates), 1753 and 0001 fall below it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from connectors.config import SourceConfig

# What ``value_rejections`` holds besides ``run_id`` (added at publish time).
VALUE_REJECTIONS_SCHEMA: dict[str, pl.DataType] = {
    "source_system": pl.String(),
    "source_file": pl.String(),
    "source_record_id": pl.String(),
    "source_column": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
}
UPDATED_AT_FIELD = "updated_at"
DEFAULT_MAX_FUTURE = timedelta(days=2)
DEFAULT_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
# The working columns a mapped frame gets while it is checked.
_ROW_KEY = ("source_file", "row_number")


@dataclass(frozen=True)
class TimestampWindow:
    """The source timestamps a run accepts: ``floor < t <= as_of + max_future``.

    Example:
        >>> w = TimestampWindow(as_of=datetime(2026, 12, 7, tzinfo=UTC))
        >>> w.latest.isoformat(), w.floor.isoformat()
        ('2026-12-09T00:00:00+00:00', '1970-01-01T00:00:00+00:00')
    """

    as_of: datetime
    max_future: timedelta = DEFAULT_MAX_FUTURE
    floor: datetime = DEFAULT_FLOOR

    def __post_init__(self) -> None:
        for name in ("as_of", "floor"):
            if getattr(self, name).tzinfo is None:
                msg = f"timestamp window: {name} must carry a time zone"
                raise ValueError(msg)
        if self.max_future < timedelta(0):
            msg = f"timestamp window: max_future must not be negative, got {self.max_future}"
            raise ValueError(msg)

    @property
    def latest(self) -> datetime:
        """The latest timestamp accepted."""
        return self.as_of + self.max_future

    def reason(self, timestamp: pl.Expr) -> pl.Expr:
        """Why ``timestamp`` is rejected, or null when it is in the window (or null)."""
        latest, floor = self.latest.astimezone(UTC), self.floor.astimezone(UTC)
        future = f"later than {_text(latest)} (the run clock {_text(self.as_of)} + {_days(self)})"
        before = f"not after the earliest accepted timestamp {_text(floor)}"
        return (
            pl.when(timestamp > pl.lit(latest))
            .then(pl.lit(future))
            .when(timestamp <= pl.lit(floor))
            .then(pl.lit(before))
        )


def reject_implausible_timestamps(
    mapped: pl.DataFrame, *, source: SourceConfig, window: TimestampWindow
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Null the ``source_updated_at`` outside ``window``; one rejection row per nulled value.

    Args:
        mapped: A mapped frame (``connectors.mapping.MAPPED_SCHEMA``) of the source.
        source: Its config (names the timestamp column in the rejection rows).
        window: The timestamps this run accepts.

    Returns:
        The frame with those timestamps nulled (same rows, same order), and the
        rejections (``VALUE_REJECTIONS_SCHEMA`` plus ``source_file, row_number``,
        so a caller can drop those of rows that end up quarantined anyway).
        Rows that already carry a quarantine reason are left as they are.

    Example:
        >>> nulled, rejected = reject_implausible_timestamps(mapped, source=crm,
        ...     window=TimestampWindow(as_of=run_clock))  # doctest: +SKIP
    """
    columns = [*dict.fromkeys([*VALUE_REJECTIONS_SCHEMA, *_ROW_KEY])]
    if source.updated_at is None:
        return mapped, pl.DataFrame(schema={c: mapped.schema.get(c, pl.String) for c in columns})
    reason = pl.when(pl.col("reason").is_null()).then(window.reason(pl.col("source_updated_at")))
    checked = mapped.with_columns(reason.alias("_rejected"))
    rejected = checked.filter(pl.col("_rejected").is_not_null()).select(
        "source_system",
        "source_file",
        "source_record_id",
        pl.lit(source.updated_at.column, pl.String).alias("source_column"),
        pl.lit(UPDATED_AT_FIELD, pl.String).alias("field"),
        pl.col("source_updated_at").dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z").alias("value"),
        pl.col("_rejected").alias("reason"),
        "row_number",
    )
    nulled = checked.with_columns(
        pl.when(pl.col("_rejected").is_null()).then(pl.col("source_updated_at"))
    ).drop("_rejected")
    return nulled, rejected


def kept_rejections(rejected: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """The rejections of rows that became records (``VALUE_REJECTIONS_SCHEMA``), by row.

    A row quarantined after the check (a duplicate ID losing to a later row)
    is in ``quarantine`` with its reason; its dropped timestamp is not a value
    of any kept record.
    """
    kept = rejected.join(records.select(_ROW_KEY), on=list(_ROW_KEY), how="semi")
    return kept.sort(*_ROW_KEY, maintain_order=True).select(
        pl.col(c).cast(t) for c, t in VALUE_REJECTIONS_SCHEMA.items()
    )


def empty_value_rejections() -> pl.DataFrame:
    """No rejected values (``run_id`` is added at publish time)."""
    return pl.DataFrame(schema=VALUE_REJECTIONS_SCHEMA)


def _text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _days(window: TimestampWindow) -> str:
    days = window.max_future / timedelta(days=1)
    return f"{days:g} day{'' if days == 1 else 's'}"
