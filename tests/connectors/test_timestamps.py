"""Timestamp parsing: every format lands on the right UTC instant, or on null."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from connectors.config import UpdatedAtSpec
from connectors.timestamps import UTC_DATETIME, parse_timestamp


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


CASES = [
    # ISO: offsets win, naive values are read in the source's zone.
    {
        "format": "iso",
        "timezone": "UTC",
        "text": "2024-01-05T10:00:00Z",
        "expected": utc(2024, 1, 5, 10),
    },
    {
        "format": "iso",
        "timezone": "UTC",
        "text": "2024-01-05T10:00:00+08:00",
        "expected": utc(2024, 1, 5, 2),
    },
    {
        "format": "iso",
        "timezone": "UTC",
        "text": "2024-01-05T10:00:00-0500",
        "expected": utc(2024, 1, 5, 15),
    },
    {
        "format": "iso",
        "timezone": "Asia/Shanghai",
        "text": "2024-01-05T10:00:00Z",
        "expected": utc(2024, 1, 5, 10),
    },
    {
        "format": "iso",
        "timezone": "Asia/Shanghai",
        "text": "2024-01-05T10:00:00",
        "expected": utc(2024, 1, 5, 2),
    },
    {
        "format": "iso",
        "timezone": "Asia/Shanghai",
        "text": "2024-01-05 10:00",
        "expected": utc(2024, 1, 5, 2),
    },
    {
        "format": "iso",
        "timezone": "Europe/Berlin",
        "text": "2024-07-01",
        "expected": utc(2024, 6, 30, 22),
    },
    {
        "format": "iso",
        "timezone": "UTC",
        "text": "2024-01-05T10:00:00.250Z",
        "expected": dt.datetime(2024, 1, 5, 10, 0, 0, 250000, tzinfo=dt.UTC),
    },
    {"format": "iso", "timezone": "UTC", "text": "2024-13-45T00:00:00Z", "expected": None},
    {"format": "iso", "timezone": "UTC", "text": "yesterday", "expected": None},
    # A wall-clock time skipped by the spring-forward jump is not an instant.
    {
        "format": "iso",
        "timezone": "America/New_York",
        "text": "2024-03-10T02:30:00",
        "expected": None,
    },
    # The repeated autumn hour takes its first occurrence (EDT, UTC-4).
    {
        "format": "iso",
        "timezone": "America/New_York",
        "text": "2024-11-03T01:30:00",
        "expected": utc(2024, 11, 3, 5, 30),
    },
    # Epochs.
    {
        "format": "epoch_s",
        "timezone": "UTC",
        "text": "1700000000",
        "expected": utc(2023, 11, 14, 22, 13, 20),
    },
    {
        "format": "epoch_s",
        "timezone": "UTC",
        "text": "1700000000.5",
        "expected": dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.UTC),
    },
    {
        "format": "epoch_ms",
        "timezone": "UTC",
        "text": "1700000000123",
        "expected": dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.UTC),
    },
    {"format": "epoch_ms", "timezone": "UTC", "text": "17e99", "expected": None},
    {"format": "epoch_s", "timezone": "UTC", "text": "nan", "expected": None},
    {"format": "epoch_s", "timezone": "UTC", "text": "soon", "expected": None},
    # strptime patterns in the source's zone.
    {
        "format": "%Y/%m/%d %H:%M",
        "timezone": "Asia/Shanghai",
        "text": "2024/01/05 10:00",
        "expected": utc(2024, 1, 5, 2),
    },
    {
        "format": "%Y/%m/%d %H:%M",
        "timezone": "Asia/Shanghai",
        "text": "2024/01/01 03:30",
        "expected": utc(2023, 12, 31, 19, 30),
    },
    {
        "format": "%Y/%m/%d %H:%M",
        "timezone": "Asia/Shanghai",
        "text": "2023/02/30 10:00",
        "expected": None,
    },
    {
        "format": "%Y/%m/%d %H:%M",
        "timezone": "Asia/Shanghai",
        "text": "2024-01-05 10:00",
        "expected": None,
    },
    {
        "format": "%d.%m.%Y %H:%M",
        "timezone": "Europe/Berlin",
        "text": "05.01.2024 10:00",
        "expected": utc(2024, 1, 5, 9),
    },
    {
        "format": "%d.%m.%Y %H:%M %z",
        "timezone": "UTC",
        "text": "05.01.2024 10:00 +0100",
        "expected": utc(2024, 1, 5, 9),
    },
    {"format": "%Y%m%d", "timezone": "UTC", "text": "20240105", "expected": utc(2024, 1, 5)},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['format']}|{c['timezone']}|{c['text']}")
def test_parse_timestamp(case: dict) -> None:
    spec = UpdatedAtSpec(column="t", format=case["format"], timezone=case["timezone"])
    frame = pl.DataFrame({"t": [case["text"], None]}, schema={"t": pl.String})
    parsed = frame.select(parse_timestamp(pl.col("t"), spec=spec)).to_series()
    assert parsed.dtype == UTC_DATETIME
    assert parsed.to_list() == [case["expected"], None]


def test_mixed_iso_values_parse_row_by_row() -> None:
    """Each value is parsed on its own: no format is inferred from the first row."""
    spec = UpdatedAtSpec(column="t", format="iso", timezone="Asia/Shanghai")
    texts = ["2024-01-05", "2024-01-05T10:00:00+00:00", "2024-01-05 08:00:00", "bad"]
    frame = pl.DataFrame({"t": texts})
    parsed = frame.select(parse_timestamp(pl.col("t"), spec=spec)).to_series()
    assert parsed.to_list() == [utc(2024, 1, 4, 16), utc(2024, 1, 5, 10), utc(2024, 1, 5), None]
