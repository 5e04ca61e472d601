"""Excel reader: first or named sheet, cells as text, no type inference."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from connectors.errors import SourceReadError
from connectors.readers.excel_reader import read_excel

CUSTOMERS = pl.DataFrame(
    {
        "客户编号": ["E1", "E2"],
        "客户名称": ["甲公司", None],
        "邮编": ["01234", "200000"],
        "电话": [13800138000, 5],
    }
)


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "customers.xlsx"
    with xlsxwriter.Workbook(path) as book:
        CUSTOMERS.write_excel(book, worksheet="客户")
        pl.DataFrame({"id": ["X"]}).write_excel(book, worksheet="Other")
        pl.DataFrame(
            {"id": [], "name": []}, schema={"id": pl.String, "name": pl.String}
        ).write_excel(book, worksheet="Empty")
    return path


@pytest.mark.parametrize(
    ("sheet", "rows"),
    [
        (None, [("E1", "甲公司", "01234", "13800138000"), ("E2", None, "200000", "5")]),
        ("客户", [("E1", "甲公司", "01234", "13800138000"), ("E2", None, "200000", "5")]),
        ("Other", [("X",)]),
        ("Empty", []),
    ],
)
def test_excel_sheets_read_as_text(workbook: Path, sheet: str | None, rows: list[tuple]) -> None:
    frame = read_excel(workbook, sheet=sheet)
    assert set(frame.data.dtypes) <= {pl.String()}
    assert frame.data.rows() == rows
    assert frame.row_number.to_list() == list(range(1, len(rows) + 1))
    assert [json.loads(r) for r in frame.raw] == [
        dict(zip(frame.data.columns, row, strict=True)) for row in rows
    ]
    assert frame.rows_in == len(rows)


def test_missing_sheet_is_a_read_error(workbook: Path) -> None:
    with pytest.raises(SourceReadError, match="Nope"):
        read_excel(workbook, sheet="Nope")
