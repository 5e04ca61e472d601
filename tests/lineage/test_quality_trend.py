"""Quality across the releases a warehouse keeps: one row per release, oldest first."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import duckdb

from lineage.quality_trend import load_quality_trend

# (suite, expectation, column, severity, success, unexpected_count) per release.
RELEASES = {
    "20261201T080000-aaaaaaaa": [
        ("golden_customer", "expect_column_values_to_be_unique", "unified_id", "error", True, 0),
        ("golden_customer", "expect_column_values_to_match_regex", "phone", "warn", False, 12),
    ],
    "20261202T080000-bbbbbbbb": [
        ("golden_customer", "expect_column_values_to_be_unique", "unified_id", "error", True, 0),
        ("golden_customer", "expect_column_values_to_match_regex", "phone", "warn", False, 30),
        ("fact_orders", "expect_column_values_to_not_be_null", "unified_id", "warn", False, 4),
    ],
}


def _release(folder: Path, run_id: str, rows: Sequence[tuple[object, ...]]) -> None:
    folder.mkdir(parents=True)
    with contextlib.closing(duckdb.connect(str(folder / "golden.duckdb"))) as con:
        con.execute(
            "CREATE TABLE quality_results (run_id VARCHAR, suite VARCHAR, expectation VARCHAR, "
            "column_name VARCHAR, severity VARCHAR, success BOOLEAN, unexpected_count BIGINT)"
        )
        con.executemany(
            "INSERT INTO quality_results VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, *row) for row in rows],
        )
        con.execute(
            "CREATE TABLE pipeline_runs AS SELECT ? AS run_id, "
            "TIMESTAMPTZ '2026-12-01 08:00:00+00' AS finished_at",
            [run_id],
        )


def test_each_kept_release_gives_its_counts_and_failures_oldest_first(tmp_path: Path) -> None:
    for name, rows in RELEASES.items():
        _release(tmp_path / "releases" / name, name[-8:], rows)
    (tmp_path / "releases" / ".staging-x").mkdir()  # a run in progress is no release
    (tmp_path / "releases" / "20261130T080000-old").mkdir()  # no database: skipped

    trend = load_quality_trend(tmp_path)

    assert trend["release"].to_list() == list(RELEASES)
    assert trend.select("expectations", "passed", "failed_warnings", "failed_errors").rows() == [
        (2, 1, 1, 0),
        (3, 1, 2, 0),
    ]
    assert trend["run_id"].to_list() == ["aaaaaaaa", "bbbbbbbb"]
    assert trend["finished_at"].to_list() == ["2026-12-01 08:00 UTC"] * 2
    failing = trend["failing"].to_list()
    assert failing[0] == "golden_customer: expect_column_values_to_match_regex(phone) 12"
    assert failing[1] == (
        "fact_orders: expect_column_values_to_not_be_null(unified_id) 4; "
        "golden_customer: expect_column_values_to_match_regex(phone) 30"
    )


def test_a_warehouse_without_releases_has_no_trend(tmp_path: Path) -> None:
    assert load_quality_trend(tmp_path).is_empty()
