"""The analyst door: read-only, bounded queries, one-line errors, spreadsheet-safe exports."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from pipelines.cli import main
from pipelines.warehouse.sql import (
    QueryError,
    QueryLimits,
    escape_spreadsheet_formulas,
    query_warehouse,
    run_read_only_query,
)


def test_query_reads_the_golden_record(sample_warehouse: Path) -> None:
    result = run_read_only_query(
        sample_warehouse,
        "SELECT count(*) AS n, count(DISTINCT unified_id) AS ids FROM golden_customer",
    )
    assert result["n"].item() == result["ids"].item() > 2000


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE evil AS SELECT 1",
        "DELETE FROM golden_customer",
        "UPDATE golden_customer SET name = 'x'",
        "COPY golden_customer TO '{tmp}/leak.csv'",
        "ATTACH '{tmp}/other.duckdb' AS other",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
    ],
)
def test_writes_and_file_access_are_refused(
    sample_warehouse: Path, tmp_path: Path, statement: str
) -> None:
    before = run_read_only_query(sample_warehouse, "SELECT count(*) AS n FROM golden_customer")
    with pytest.raises(QueryError):
        run_read_only_query(sample_warehouse, statement.format(tmp=tmp_path))
    assert list(tmp_path.iterdir()) == []
    after = run_read_only_query(sample_warehouse, "SELECT count(*) AS n FROM golden_customer")
    assert before.equals(after)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 138 0013 8000", "'+86 138 0013 8000"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Acme Ltd", "Acme Ltd"),
        (None, None),
    ],
)
def test_csv_exports_escape_formula_cells(cell: str | None, expected: str | None) -> None:
    frame = pl.DataFrame({"name": [cell], "n": [1]}, schema={"name": pl.String, "n": pl.Int64})
    assert escape_spreadsheet_formulas(frame).row(0) == (expected, 1)


# --- `fusion sql`: bounded, one statement, one-line errors ----------------------------------

CROSS_JOIN_4 = (
    "SELECT * FROM golden_customer a, golden_customer b, golden_customer c, golden_customer d"
)
RECURSIVE_FOREVER = (
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t"
)
SMALL = ("--memory-limit", "64MB", "--timeout", "2")


def fusion_sql(warehouse: Path, query: str, *options: str) -> tuple[Result, float]:
    """``fusion sql`` in process (stdout and stderr apart), and how long it took."""
    started = time.monotonic()
    result = CliRunner().invoke(main, ["sql", query, "--warehouse", str(warehouse), *options])
    return result, time.monotonic() - started


def assert_one_line_failure(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("fusion sql failed: ")
    assert re.search(expected, result.stderr), result.stderr


@pytest.mark.parametrize(
    ("query", "options", "expected"),
    [
        pytest.param(
            CROSS_JOIN_4, SMALL, r"needs more than the 64MB memory limit \(raise --memory-limit\)"
            r": Out of Memory Error", id="four-way cross join: memory limit",
        ),
        pytest.param(
            "SELECT string_agg(a.name || b.name, ',') FROM golden_customer a, golden_customer b",
            SMALL, "needs more than the 64MB memory limit", id="cross join aggregate: memory",
        ),
        pytest.param(
            "SELECT count(*) FROM range(1000000000000)", SMALL,
            r"stopped at the 2 s time limit \(add a LIMIT or a filter, or raise --timeout\)",
            id="count over range(1e12): timeout",
        ),
        pytest.param(
            RECURSIVE_FOREVER, SMALL, "stopped at the 2 s time limit|needs more than the 64MB",
            id="unbounded recursive CTE: timeout or memory",
        ),
        pytest.param(
            "SELECT 1; SELECT count(*) FROM golden_customer", (),
            r"give exactly one SQL statement \(found 2\)$", id="two statements",
        ),
        pytest.param(" ; ", (), r"\(found 0\)$", id="no statement"),
        pytest.param(
            "DELETE FROM golden_customer", (), "only queries are allowed here, not a DELETE",
            id="a write",
        ),
        pytest.param(
            "SELECT * FROM read_csv('/etc/passwd')", (), "Permission Error: .*disabled",
            id="file access",
        ),
        pytest.param(
            "SELECT * FROM golden_custmer", (),
            r'^fusion sql failed: Catalog Error: Table with name golden_custmer does not exist! '
            r'Did you mean "golden_customer"\?$', id="typo keeps DuckDB's hint",
        ),
        pytest.param(
            "SELEC 1", (), r'Parser Error: syntax error at or near "SELEC"$', id="syntax error",
        ),
        pytest.param(
            "SELECT 1", ("--memory-limit", "lots"), "memory limit 'lots': .*must have a number",
            id="bad memory limit",
        ),
    ],
)  # fmt: skip
def test_sql_failures_are_one_line_and_bounded(
    sample_warehouse: Path, query: str, options: tuple[str, ...], expected: str
) -> None:
    result, seconds = fusion_sql(sample_warehouse, query, *options)
    assert_one_line_failure(result, expected)
    assert seconds < 30  # generous: the limits are 2 s and 64MB


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda good: os.urandom(64 * 1024), id="random bytes"),
        pytest.param(lambda good: good[:20_000], id="truncated"),
        pytest.param(lambda good: b"", id="empty file"),
    ],
)
def test_corrupt_database_is_one_line(
    sample_warehouse: Path, tmp_path: Path, corrupt: Callable[[bytes], bytes]
) -> None:
    good = (sample_warehouse / "golden.duckdb").read_bytes()
    (tmp_path / "golden.duckdb").write_bytes(corrupt(good))
    result, _ = fusion_sql(tmp_path, "SELECT count(*) FROM golden_customer")
    assert_one_line_failure(result, "cannot open the warehouse database .*golden.duckdb: ")


def test_csv_renders_nested_and_unusual_columns_as_text(sample_warehouse: Path) -> None:
    query = (
        "SELECT unified_id, [source_count, record_count] AS counts, "
        "{'tier': tier, 'ids': [unified_id]} AS detail, INTERVAL 1 DAY AS age, "
        "'\\xAB'::BLOB AS raw FROM golden_customer ORDER BY unified_id LIMIT 3"
    )
    result, _ = fusion_sql(sample_warehouse, query, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    stored = run_read_only_query(
        sample_warehouse,
        "SELECT unified_id, source_count, record_count, tier FROM golden_customer "
        "ORDER BY unified_id LIMIT 3",
    )
    assert [r["unified_id"] for r in rows] == stored["unified_id"].to_list()
    for row, (unified_id, sources, records, tier) in zip(rows, stored.iter_rows(), strict=True):
        assert json.loads(row["counts"]) == [sources, records]
        assert json.loads(row["detail"]) == {"tier": tier, "ids": [unified_id]}
        assert row["age"] == "1 day"
        assert row["raw"] == "\\xAB"


def test_table_and_parquet_keep_lists_and_show_intervals(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    query = "SELECT [1, 2] AS pair, INTERVAL 90 MINUTE AS wait FROM golden_customer LIMIT 1"
    shown, _ = fusion_sql(sample_warehouse, query)
    assert shown.exit_code == 0, shown.stderr
    assert "[1, 2]" in shown.stdout
    assert "01:30:00" in shown.stdout
    target = tmp_path / "out.parquet"
    written, _ = fusion_sql(sample_warehouse, query, "--format", "parquet", "--output", str(target))
    assert written.exit_code == 0, written.stderr
    assert pl.read_parquet(target).to_dicts() == [{"pair": [1, 2], "wait": "01:30:00"}]


@pytest.mark.parametrize(
    ("query", "max_rows", "rows", "cut"),
    [
        ("SELECT unified_id FROM golden_customer ORDER BY unified_id DESC", "5", 5, True),
        ("SELECT unified_id FROM golden_customer ORDER BY unified_id DESC LIMIT 5", "5", 5, False),
        ("SELECT unified_id FROM golden_customer ORDER BY unified_id DESC LIMIT 3", "5", 3, False),
        ("SELECT * FROM range(1000000000000) r(unified_id)", "2", 2, True),
    ],
)
def test_row_cap_cuts_and_says_so(
    sample_warehouse: Path, query: str, max_rows: str, rows: int, cut: bool
) -> None:
    result, _ = fusion_sql(sample_warehouse, query, "--format", "csv", "--max-rows", max_rows)
    assert result.exit_code == 0, result.stderr
    got = [r["unified_id"] for r in csv.DictReader(io.StringIO(result.stdout))]
    limited = run_read_only_query(sample_warehouse, f"SELECT * FROM ({query}) LIMIT {rows}")
    assert got == [str(v) for v in limited["unified_id"]]
    note = f"fusion sql: only the first {max_rows} rows are shown; the query returned more"
    assert (note in result.stderr) is cut
    assert result.stderr.count("\n") == int(cut)


def test_query_warehouse_fetches_at_most_one_row_past_the_cap(sample_warehouse: Path) -> None:
    limits = QueryLimits(max_rows=10)
    result = query_warehouse(sample_warehouse, "FROM golden_customer", limits=limits)
    assert (result.frame.height, result.truncated) == (10, True)
    whole = query_warehouse(sample_warehouse, "FROM golden_customer LIMIT 10", limits=limits)
    assert (whole.frame.height, whole.truncated) == (10, False)
