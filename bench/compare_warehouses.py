"""Compare two published warehouses table by table (e.g. the duckdb and spark engines' runs).

Run bookkeeping (run ids, clock readings) and the tables that record the
settings themselves are left out; every other table must hold the same rows
with the same values, in any order. Both databases are attached to one DuckDB
session and each table is compared there (``EXCEPT ALL`` both ways), so two
releases of 1M records compare in a few minutes without being read into
memory. Prints one JSON object:

    .venv/bin/python -m bench.compare_warehouses WAREHOUSE_A WAREHOUSE_B
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import duckdb

RUN_COLUMNS = frozenset({"run_id", "at", "started_at", "finished_at", "result_json"})
SETTINGS_TABLES = frozenset({"run_settings", "pipeline_runs", "run_provenance"})


def _columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, dict[str, str]]:
    """Each table of an attached database: its columns and their types, in order."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? ORDER BY table_name, ordinal_position",
        [catalog],
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, {})[column] = data_type
    return tables


def _compare_table(
    con: duckdb.DuckDBPyConnection, name: str, first: dict[str, str], second: dict[str, str]
) -> dict[str, object]:
    counted = [
        con.execute(f'SELECT count(*) FROM {db}."{name}"').fetchone()[0]  # type: ignore[index]
        for db in ("a", "b")
    ]
    compared = {c: t for c, t in first.items() if c not in RUN_COLUMNS}
    if compared != {c: t for c, t in second.items() if c not in RUN_COLUMNS}:
        return {"rows": counted, "equal": False, "columns": [list(first), list(second)]}
    select = ", ".join(f'"{c}"' for c in compared) or "1"
    only = [
        con.execute(
            f'SELECT count(*) FROM (SELECT {select} FROM {x}."{name}" '
            f'EXCEPT ALL SELECT {select} FROM {y}."{name}")'
        ).fetchone()[0]  # type: ignore[index]
        for x, y in (("a", "b"), ("b", "a"))
    ]
    return {
        "rows": counted,
        "equal": only == [0, 0],
        "only_in_first": only[0],
        "only_in_second": only[1],
    }


def compare(first: Path, second: Path) -> dict[str, object]:
    """Per table: rows in each, and whether they hold the same rows (and how many do not)."""
    with contextlib.closing(duckdb.connect()) as con:
        # Rows compared as multisets: no order to keep, and less memory without one.
        con.execute("SET preserve_insertion_order = false")
        for alias, warehouse in (("a", first), ("b", second)):
            con.execute(f"ATTACH '{warehouse / 'golden.duckdb'}' AS {alias} (READ_ONLY)")
        a, b = _columns(con, "a"), _columns(con, "b")
        tables: dict[str, dict[str, object]] = {}
        for name in sorted(set(a) | set(b)):
            if name not in a or name not in b:
                tables[name] = {"missing_in": "first" if name not in a else "second"}
                continue
            tables[name] = _compare_table(con, name, a[name], b[name])
    differing = [
        n
        for n, t in tables.items()
        if not t.get("equal", False) and n not in SETTINGS_TABLES  # type: ignore[union-attr]
    ]
    return {"tables": tables, "differing_outside_settings": differing}


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(compare(args.first, args.second)))


if __name__ == "__main__":
    main()
