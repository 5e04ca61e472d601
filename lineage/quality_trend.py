"""Data quality across the releases a warehouse keeps: one row per release, oldest first.

Every release publishes the quality results it was validated with
(``quality_results``), and the warehouse keeps its last few releases
(``releases/NAME/golden.duckdb``). Reading each one gives the trend a steward
wants beside the latest figures: are warnings growing, which expectation
started failing. Releases from before ``quality_results`` existed are skipped.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import polars as pl

from lineage.report import DATABASE_NAME

RELEASES_DIR = "releases"
TREND_SCHEMA: dict[str, pl.DataType] = {
    "release": pl.String(),
    "run_id": pl.String(),
    "finished_at": pl.String(),
    "expectations": pl.Int64(),
    "passed": pl.Int64(),
    "failed_warnings": pl.Int64(),
    "failed_errors": pl.Int64(),
    "failing": pl.String(),
}


def _release_row(release: Path) -> dict[str, object] | None:
    """The quality counts of one release, or None when it holds no quality results."""
    database = release / DATABASE_NAME
    if not database.is_file():
        return None
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error:
        return None
    with contextlib.closing(con):
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "quality_results" not in tables:
            return None
        counts = con.execute(
            """
            SELECT any_value(run_id), count(*),
                   count(*) FILTER (WHERE success),
                   count(*) FILTER (WHERE NOT success AND severity = 'warn'),
                   count(*) FILTER (WHERE NOT success AND severity = 'error'),
                   string_agg(suite || ': ' || expectation
                              || coalesce('(' || column_name || ')', '')
                              || ' ' || coalesce(unexpected_count::VARCHAR, '?'), '; '
                              ORDER BY suite, expectation, column_name)
                       FILTER (WHERE NOT success)
            FROM quality_results
            """
        ).fetchall()[0]
        finished = None
        if "pipeline_runs" in tables:
            rows = con.execute(
                "SELECT strftime(finished_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M UTC') "
                "FROM pipeline_runs WHERE run_id = ?",
                [counts[0]],
            ).fetchall()
            finished = rows[0][0] if rows else None
    run_id, total, passed, warnings, errors, failing = counts
    return {
        "release": release.name,
        "run_id": run_id,
        "finished_at": finished,
        "expectations": total,
        "passed": passed,
        "failed_warnings": warnings,
        "failed_errors": errors,
        "failing": failing,
    }


def load_quality_trend(warehouse_dir: Path) -> pl.DataFrame:
    """Expectation counts per kept release (passed, failed WARN, failed ERROR), oldest first.

    Example:
        >>> load_quality_trend(Path("no-such-warehouse")).height
        0
    """
    folder = Path(warehouse_dir) / RELEASES_DIR
    releases = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if folder.is_dir() else []  # fmt: skip
    rows = [row for row in map(_release_row, releases) if row is not None]
    return pl.DataFrame(rows, schema=TREND_SCHEMA, orient="row")
