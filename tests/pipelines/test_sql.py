"""The analyst door: read-only queries, nothing written, spreadsheet-safe exports."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.sql import QueryError, escape_spreadsheet_formulas, run_read_only_query


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
