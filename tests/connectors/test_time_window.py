"""Source timestamps outside the run's window: dropped from a kept record, and recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from connectors import SourceConfig, load_source
from connectors.time_window import VALUE_REJECTIONS_SCHEMA, TimestampWindow

MakeSource = Callable[..., SourceConfig]
WriteCsv = Callable[..., Path]
CLOCK = datetime(2026, 11, 22, tzinfo=UTC)
WINDOW = TimestampWindow(as_of=CLOCK)  # defaults: 2 days ahead, floor 1970-01-01 exclusive


@pytest.mark.parametrize(
    ("updated", "kept", "reason"),
    [
        # Issue 28's years: the future ones would have become the run's reference point.
        ("9999-12-31T00:00:00Z", False, "later than 2026-11-24T00:00:00Z"),
        ("2999-01-01T00:00:00Z", False, "later than 2026-11-24T00:00:00Z"),
        ("0001-01-01T00:00:00Z", False, "not after the earliest accepted timestamp"),
        ("1900-01-01T00:00:00Z", False, "not after the earliest accepted timestamp"),
        # Sentinels at and around the floor (exclusive): epoch zero is a null cast to a time.
        ("1970-01-01T00:00:00Z", False, "not after the earliest accepted timestamp"),
        ("1970-01-01T00:00:01Z", True, None),
        # The run clock is the start of its day; two days of drift past it are accepted.
        ("2026-11-22T23:59:00Z", True, None),
        ("2026-11-24T00:00:00Z", True, None),
        ("2026-11-24T00:00:01Z", False, "later than 2026-11-24T00:00:00Z"),
        ("2019-01-02T13:37:00Z", True, None),
    ],
)
def test_window_keeps_or_rejects_a_timestamp(
    updated: str, kept: bool, reason: str | None, make_source: MakeSource, write_csv: WriteCsv
) -> None:
    write_csv([["id", "name", "changed"], ["C1", "Acme", updated], ["C2", "Borealis", ""]])
    source = make_source(updated_at={"column": "changed", "format": "iso"})
    batch = load_source(source, window=WINDOW)
    assert batch.records["source_record_id"].to_list() == ["C1", "C2"]  # the record stays
    assert batch.quarantine.height == 0
    stamped = batch.records.filter(pl.col("source_record_id") == "C1")["source_updated_at"]
    assert stamped.is_not_null().item() is kept
    if kept:
        assert batch.value_rejections.height == 0
        return
    rejection = batch.value_rejections.row(0, named=True)
    assert batch.value_rejections.height == 1
    assert batch.value_rejections.schema == pl.Schema(VALUE_REJECTIONS_SCHEMA)
    assert rejection["source_system"] == "crm"
    assert rejection["source_record_id"] == "C1"
    assert rejection["source_column"] == "changed"
    assert rejection["field"] == "updated_at"
    assert rejection["value"].startswith(updated[:19])
    assert reason is not None
    assert reason in rejection["reason"]


def test_without_a_window_every_parsed_timestamp_is_kept(
    make_source: MakeSource, write_csv: WriteCsv
) -> None:
    write_csv([["id", "name", "changed"], ["C1", "Acme", "9999-12-31T00:00:00Z"]])
    batch = load_source(make_source(updated_at={"column": "changed", "format": "iso"}))
    assert batch.records["source_updated_at"].is_not_null().all()
    assert batch.value_rejections.height == 0


def test_a_far_future_duplicate_no_longer_wins_as_the_latest_row(
    make_source: MakeSource, write_csv: WriteCsv
) -> None:
    """Duplicates keep the latest row: a rejected timestamp counts as none, so the real
    latest row is kept and the rejected one is quarantined (and so not in value_rejections)."""
    write_csv(
        [
            ["id", "name", "changed"],
            ["C1", "Acme (typo 9999)", "9999-12-31T00:00:00Z"],
            ["C1", "Acme Ltd", "2026-10-01T00:00:00Z"],
        ]
    )
    batch = load_source(
        make_source(updated_at={"column": "changed", "format": "iso"}), window=WINDOW
    )
    assert batch.records["name"].to_list() == ["Acme Ltd"]
    assert batch.quarantine["row_number"].to_list() == [1]
    assert batch.value_rejections.height == 0


def test_epoch_zero_is_rejected_in_epoch_sources(
    make_source: MakeSource, write_csv: WriteCsv
) -> None:
    write_csv([["id", "name", "ms"], ["C1", "Acme", "0"], ["C2", "Bo", "1790000000000"]])
    batch = load_source(
        make_source(updated_at={"column": "ms", "format": "epoch_ms"}), window=WINDOW
    )
    assert batch.value_rejections["source_record_id"].to_list() == ["C1"]
    assert batch.records["source_updated_at"].null_count() == 1


def test_window_is_configurable() -> None:
    window = TimestampWindow(
        as_of=CLOCK, max_future=timedelta(0), floor=datetime(1900, 1, 1, tzinfo=UTC)
    )
    frame = pl.DataFrame(
        {"t": [CLOCK + timedelta(seconds=1), CLOCK, datetime(1950, 1, 1, tzinfo=UTC)]}
    )
    reasons = frame.select(window.reason(pl.col("t"))).to_series().to_list()
    assert reasons[1:] == [None, None]
    assert reasons[0].startswith("later than 2026-11-22T00:00:00Z (the run clock")
    with pytest.raises(ValueError, match="time zone"):
        TimestampWindow(as_of=datetime(2026, 1, 1))
