"""Two warehouses compared table by table, run bookkeeping left out, in any row order."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench.compare_warehouses import compare


def _warehouse(root: Path, customers: list[tuple[str, str, str]], extra: str | None) -> Path:
    root.mkdir()
    with duckdb.connect(str(root / "golden.duckdb")) as con:
        con.execute(
            "CREATE TABLE golden_customer (unified_id VARCHAR, name VARCHAR, run_id VARCHAR)"
        )
        con.executemany("INSERT INTO golden_customer VALUES (?, ?, ?)", customers)
        con.execute("CREATE TABLE pipeline_runs AS SELECT now() AS started_at, 'x' AS status")
        if extra is not None:
            con.execute(f"CREATE TABLE {extra} (n INTEGER)")
    return root


def test_same_rows_in_another_order_and_run_compare_equal(tmp_path: Path) -> None:
    rows = [("FU-1", "Acme", "run-a"), ("FU-2", "Beta", "run-a"), ("FU-2", "Beta", "run-a")]
    first = _warehouse(tmp_path / "a", rows, None)
    second = _warehouse(tmp_path / "b", [(u, n, "run-b") for u, n, _ in reversed(rows)], None)

    result = compare(first, second)

    assert result["differing_outside_settings"] == []
    assert result["tables"]["golden_customer"] == {  # type: ignore[index]
        "rows": [3, 3],
        "equal": True,
        "only_in_first": 0,
        "only_in_second": 0,
    }


def test_a_changed_or_missing_row_and_a_missing_table_are_reported(tmp_path: Path) -> None:
    first = _warehouse(
        tmp_path / "a", [("FU-1", "Acme", "r"), ("FU-2", "Beta", "r"), ("FU-2", "Beta", "r")], None
    )
    second = _warehouse(tmp_path / "b", [("FU-1", "Acme Ltd", "r"), ("FU-2", "Beta", "r")], "extra")

    result = compare(first, second)

    golden = result["tables"]["golden_customer"]  # type: ignore[index]
    assert (golden["equal"], golden["only_in_first"], golden["only_in_second"]) == (False, 2, 1)
    assert result["tables"]["extra"] == {"missing_in": "first"}  # type: ignore[index]
    assert result["differing_outside_settings"] == ["extra", "golden_customer"]
