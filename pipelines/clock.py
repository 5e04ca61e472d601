"""The run clock: the one instant a run ages values against and checks timestamps by.

Trust measures a value's age from the run's clock (``as_of``), never from
the data: one source row dated 9999-12-31 used to become the reference point
and make every other value old. The clock is:

1. pinned for one run (``fusion run --as-of``), else
2. pinned in the config (``run.as_of``), else
3. the start of the UTC day on which the run started.

A day, not the instant: runs on the same day age values identically (a
rerun, or a second run the landing sensor starts, carries golden records over
exactly), and a value's trust moves once a day rather than with every second.
The clock is stored in ``run_settings.as_of``, so a published run can be
repeated with ``--as-of`` and give the same golden record.
"""

from __future__ import annotations

from datetime import UTC, datetime


def run_clock(*, started_at: datetime, pinned: datetime | None = None) -> datetime:
    """The run's ``as_of``: ``pinned`` if given, else midnight UTC of ``started_at``'s day.

    Example:
        >>> run_clock(started_at=datetime(2026, 12, 7, 23, 59, tzinfo=UTC)).isoformat()
        '2026-12-07T00:00:00+00:00'
    """
    if pinned is not None:
        return pinned.astimezone(UTC)
    start = started_at.astimezone(UTC)
    return datetime(start.year, start.month, start.day, tzinfo=UTC)
