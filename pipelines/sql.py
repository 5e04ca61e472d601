"""Read-only SQL over the published warehouse: the analyst's door.

The connection is opened read-only with DuckDB's external access disabled and
its configuration locked, so a query can neither write to the warehouse nor
read or write any other file (no COPY TO, ATTACH or read_csv('/etc/passwd')).
Exports to CSV or Parquet are written by fusion itself, from the result.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import polars as pl

from connectors.errors import FusionError

SAFE_CONFIG = {"enable_external_access": False, "lock_configuration": True}
FORMULA_PREFIXES = ("=", "+", "-", "@")


class QueryError(FusionError):
    """The query failed or tried to do something the analyst door forbids."""


def run_read_only_query(warehouse_dir: Path, query: str) -> pl.DataFrame:
    """Run one query against the current release, read-only.

    Example:
        >>> run_read_only_query(Path("warehouse"), "SELECT 1 AS one")  # doctest: +SKIP
    """
    database = Path(warehouse_dir) / "golden.duckdb"
    if not database.exists():
        msg = f"no published warehouse at {warehouse_dir} (expected {database})"
        raise QueryError(msg)
    with contextlib.closing(
        duckdb.connect(str(database), read_only=True, config=dict(SAFE_CONFIG))
    ) as con:
        try:
            relation = con.sql(query)
        except duckdb.Error as error:
            raise QueryError(str(error).splitlines()[0]) from None
        if relation is None:
            msg = "the statement returned no rows; only queries are allowed here"
            raise QueryError(msg)
        return relation.pl()


def escape_spreadsheet_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells starting with = + - @ with a quote, so spreadsheets show text.

    A customer named '=HYPERLINK(...)' must not become a live formula when an
    analyst opens an export in Excel (CSV injection).
    """
    text_columns = [c for c, t in frame.schema.items() if t == pl.String]

    def escaped(column: str) -> pl.Expr:
        cell = pl.col(column)
        formula = pl.any_horizontal(cell.str.starts_with(p) for p in FORMULA_PREFIXES)
        return pl.when(formula).then(pl.lit("'") + cell).otherwise(cell).alias(column)

    return frame.with_columns(escaped(c) for c in text_columns)
