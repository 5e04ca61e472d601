"""Compare two published warehouses table by table (e.g. the duckdb and spark engines' runs).

Run bookkeeping (run ids, clock readings) and the tables that record the
settings themselves are left out; every other table must hold the same rows
with the same values. Prints one JSON object:

    .venv/bin/python -m bench.compare_warehouses WAREHOUSE_A WAREHOUSE_B
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import duckdb
import polars as pl

RUN_COLUMNS = frozenset({"run_id", "at", "started_at", "finished_at", "result_json"})
SETTINGS_TABLES = frozenset({"run_settings", "pipeline_runs", "run_provenance"})


def read_tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every table of the warehouse's current release."""
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        return {name: con.sql(f'SELECT * FROM "{name}"').pl() for name in sorted(names)}


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    kept = frame.drop([c for c in frame.columns if c in RUN_COLUMNS])
    return kept.sort(kept.columns, nulls_last=True) if kept.width else kept


def compare(first: Path, second: Path) -> dict[str, object]:
    """Per table: rows in each and whether the rows are equal."""
    a, b = read_tables(first), read_tables(second)
    tables: dict[str, dict[str, object]] = {}
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            tables[name] = {"missing_in": "first" if name not in a else "second"}
            continue
        equal = _comparable(a[name]).equals(_comparable(b[name]))
        tables[name] = {"rows": [a[name].height, b[name].height], "equal": equal}
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
