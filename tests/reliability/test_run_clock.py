"""One timestamp never rewrites the warehouse (issue 28): ages come from the run clock,
and source timestamps outside the run's window are rejected values, not reference points."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from rich.console import Console

from pipelines.orchestration.runner import run_pipeline
from tests.reliability.conftest import fusion_cli, read_tables, two_source_samples

CLOCK = datetime(2026, 11, 1, tzinfo=UTC)  # after the samples' latest update (2026-10-30)
# New CRM customers, each dated in one of the years issue 28 found accepted.
IMPLAUSIBLE = {
    "CRM-900001": "9999-12-31T00:00:00Z",
    "CRM-900002": "2999-06-01T08:00:00+08:00",
    "CRM-900003": "0001-01-01T00:00:00Z",
    "CRM-900004": "1900-01-01T00:00:00Z",
}
RUN_COLUMNS = ("run_id",)


def _crm_rows() -> list[list[str]]:
    rows = []
    for number, (record_id, updated) in enumerate(IMPLAUSIBLE.items()):
        rows.append(
            [record_id, "Company", f"Zephyrine Quanta {number} GmbH", "Ida Moser",
             f"ida{number}@zephyrine-quanta.example", f"+49 30 5550{number:04d}",
             f"Quantweg {number + 1}", "10115", "Berlin", "Berlin", "Germany", "Software",
             "10-49", "", "B", updated]
        )  # fmt: skip
    return rows


def _append_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = path.read_text(encoding="utf-8")
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())


def _untouched(tables: dict[str, pl.DataFrame], name: str, ids: pl.Series) -> pl.DataFrame:
    frame = tables[name].filter(pl.col("unified_id").is_in(ids.implode()))
    frame = frame.drop(RUN_COLUMNS, strict=False)
    return frame.sort(frame.columns, nulls_last=True)


@pytest.mark.slow
def test_implausible_timestamps_change_no_other_customer_and_keep_their_records(
    tmp_path: Path,
) -> None:
    """Issue 28, case 2: one row dated 9999-12-31 changed 259 customers of the samples.
    Now: four rows dated 9999, 2999, 0001 and 1900 are kept as records, their timestamps
    are rejected values, and no other customer's golden row or lineage changes."""
    config = two_source_samples(tmp_path / "data", lines=120)
    warehouse, quiet = tmp_path / "wh", Console(quiet=True)
    run_pipeline(config, warehouse, console=quiet, as_of=CLOCK)
    before = read_tables(warehouse)
    known = before["golden_customer"]["unified_id"]

    _append_csv(tmp_path / "data" / "crm_customers.csv", _crm_rows())
    # A full rebuild recomputes every golden record (an incremental run would carry
    # the untouched customers over and prove nothing).
    run_pipeline(config, warehouse, console=quiet, as_of=CLOCK, mode="full")
    after = read_tables(warehouse)

    xref = after["customer_xref"].filter(pl.col("source_record_id").is_in(list(IMPLAUSIBLE)))
    assert sorted(xref["source_record_id"]) == sorted(IMPLAUSIBLE)  # every record kept
    new_ids = xref["unified_id"]
    assert not new_ids.is_in(known.implode()).any()  # new customers, nobody else's
    for table in ("golden_customer", "field_lineage", "field_candidates", "customer_xref"):
        assert _untouched(before, table, known).equals(_untouched(after, table, known)), table

    rejections = after["value_rejections"].sort("source_record_id")
    assert rejections["source_record_id"].to_list() == sorted(IMPLAUSIBLE)
    assert set(rejections["source_column"]) == {"last_modified"}
    assert set(rejections["field"]) == {"updated_at"}
    assert rejections["reason"].str.contains("later than").sum() == 2
    assert rejections["reason"].str.contains("earliest accepted").sum() == 2
    assert rejections["run_id"].n_unique() == 1
    lineage = after["field_lineage"].filter(pl.col("unified_id").is_in(new_ids.implode()))
    assert lineage["source_updated_at"].is_null().all()  # the value stays, without a time
    # The clock is stored with the run: the release names the instant it aged values by.
    assert after["run_settings"]["as_of"].to_list() == [CLOCK]


@pytest.mark.slow
def test_rerun_with_the_stored_clock_gives_the_same_golden_record(tmp_path: Path) -> None:
    """Without --as-of the clock is the run's UTC day; run_settings keeps it, and a run
    pinned to it (another day, through the CLI) reproduces every golden value."""
    config = two_source_samples(tmp_path / "data", lines=40)
    first, second = tmp_path / "first", tmp_path / "second"
    run_pipeline(config, first, console=Console(quiet=True))
    with duckdb.connect(str(first / "golden.duckdb"), read_only=True) as con:
        stored = con.sql("SELECT as_of FROM run_settings").fetchall()[0][0]
    assert stored == run_clock_today()
    done = fusion_cli(
        "run", "--config", str(config), "--warehouse", str(second), "--as-of", stored.isoformat()
    )
    assert done.returncode == 0, done.stderr
    a, b = read_tables(first), read_tables(second)
    for table in ("golden_customer", "field_lineage", "field_candidates"):
        left, right = (t[table].drop("run_id", strict=False) for t in (a, b))
        assert left.sort(left.columns).equals(right.sort(right.columns)), table


def test_an_unreadable_as_of_is_one_line(tmp_path: Path) -> None:
    config = two_source_samples(tmp_path / "data", lines=5)
    done = fusion_cli(
        "run", "--config", str(config), "--warehouse", str(tmp_path / "wh"), "--as-of", "soon"
    )
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0
    assert "not an ISO 8601 date or instant" in done.stderr


def run_clock_today() -> datetime:
    today = datetime.now(UTC)
    return datetime(today.year, today.month, today.day, tzinfo=UTC)
