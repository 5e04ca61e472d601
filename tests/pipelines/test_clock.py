"""The run clock and the run settings that pin it or bound source timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connectors.errors import ConfigError
from pipelines.clock import run_clock
from pipelines.settings import RunSettings, TimestampSettings, parse_instant

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("started_at", "pinned", "expected"),
    [
        (datetime(2026, 12, 7, 23, 59, tzinfo=UTC), None, datetime(2026, 12, 7, tzinfo=UTC)),
        # The day is the UTC day: 07:30 in Shanghai on the 8th is still the 7th in UTC.
        (datetime(2026, 12, 8, 7, 30, tzinfo=SHANGHAI), None, datetime(2026, 12, 7, tzinfo=UTC)),
        # A pinned clock is used as given (in UTC), not truncated.
        (
            datetime(2026, 12, 7, tzinfo=UTC),
            datetime(2025, 1, 2, 8, 0, tzinfo=SHANGHAI),
            datetime(2025, 1, 2, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_run_clock(started_at: datetime, pinned: datetime | None, expected: datetime) -> None:
    assert run_clock(started_at=started_at, pinned=pinned) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22", datetime(2026, 11, 22, tzinfo=UTC)),
        ("2026-11-22T10:00:00", datetime(2026, 11, 22, 10, tzinfo=UTC)),
        ("2026-11-22T10:00:00+08:00", datetime(2026, 11, 22, 2, tzinfo=UTC)),
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize("text", ["tomorrow", "", "2026-13-01"])
def test_parse_instant_refuses_what_is_no_instant(text: str) -> None:
    with pytest.raises(ConfigError, match="not an ISO 8601 date or instant"):
        parse_instant(text)


def test_run_settings_read_dates_and_keep_default_json() -> None:
    """``run.as_of`` and ``run.timestamps`` stay out of the config JSON while unset,
    so configuration hashes (and incremental reuse) are those of before."""
    assert set(RunSettings().model_dump(mode="json")) == {"name", "landing_dir", "data_roots"}
    pinned = RunSettings.model_validate(
        {"as_of": date(2026, 11, 22), "timestamps": {"floor": "1900-01-01", "max_future_days": 0}}
    )
    assert pinned.as_of == datetime(2026, 11, 22, tzinfo=UTC)
    window = pinned.timestamps.window(as_of=datetime(2026, 11, 22, tzinfo=UTC))
    assert window.latest == datetime(2026, 11, 22, tzinfo=UTC)
    assert window.floor == datetime(1900, 1, 1, tzinfo=UTC)
    assert pinned.model_dump(mode="json")["as_of"] == "2026-11-22T00:00:00Z"
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        TimestampSettings(max_future_days=-1)
