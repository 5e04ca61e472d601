"""Read-only SQL over the published warehouse: the analyst's door.

The connection is opened read-only with DuckDB's external access disabled and
its configuration locked, so a query can neither write to the warehouse nor
read or write any other file (no COPY TO, ATTACH or read_csv('/etc/passwd')).
Exports to CSV or Parquet are written by fusion itself, from the result.

A query is also bounded: exactly one statement, a DuckDB memory limit with
spilling to disk turned off (a spill would write next to the release, and a
runaway sort could fill the disk), a row cap (only ``max_rows + 1`` rows are
ever fetched, so the cap also bounds Python's copy of the result) and a
timeout that interrupts the connection from a timer thread. Every failure is
a :class:`QueryError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from duckdb.sqltypes import DuckDBPyType

from connectors.errors import FusionError
from pipelines.warehouse.catalog import Manifest, create_views, read_manifest
from pipelines.warehouse.store import Warehouse

# Set after the release's files are allowed (DuckDB refuses allowed_directories once
# external access is off); the configuration is then locked.
SAFE_SETTINGS = (
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)
FORMULA_PREFIXES = ("=", "+", "-", "@")
# Statements that only read: a plain query, EXPLAIN, PRAGMA show_tables, CALL pragma_version().
READING_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})
NESTED_TYPES = frozenset({"list", "array", "struct", "map", "union"})
# Types polars cannot take from Arrow (interval, union) or takes wrongly (BIT arrives as raw
# bytes, TIMETZ loses its offset): DuckDB renders them as text.
TEXT_ONLY_TYPES = frozenset({"interval", "union", "bit", "time with time zone"})
# CSV holds no bytes: blobs are rendered by DuckDB as text ('\xAB').
CSV_TEXT_TYPES = TEXT_ONLY_TYPES | {"blob"}


class QueryError(FusionError):
    """The query failed or tried to do something the analyst door forbids."""


@dataclass(frozen=True)
class QueryLimits:
    """What one query may use.

    Attributes:
        memory_limit: DuckDB's ``memory_limit`` ("1GB", "512MB", "50%").
        max_rows: rows returned at most (None: all of them).
        timeout_seconds: wall-clock time after which the query is interrupted.
    """

    memory_limit: str = "1GB"
    max_rows: int | None = 1000
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class QueryResult:
    """A query's first rows and whether there were more than the row cap."""

    frame: pl.DataFrame
    truncated: bool


DEFAULT_LIMITS = QueryLimits()
ALL_ROWS = QueryLimits(max_rows=None)


def query_warehouse(
    warehouse_dir: Path,
    query: str,
    *,
    limits: QueryLimits = DEFAULT_LIMITS,
    nested_as_json: bool = False,
    as_of: str | None = None,
) -> QueryResult:
    """Run one read-only statement against the current release, within ``limits``.

    ``nested_as_json`` renders list, struct and map columns as JSON text (for
    CSV, which has no nested values). ``as_of`` names an older release to
    answer from instead (time travel: its Delta versions, see
    :meth:`Warehouse.manifest`).

    Raises:
        QueryError: not exactly one reading statement, a DuckDB error (its
            message and hints on one line), the memory limit or the timeout
            reached, or an unreadable database.

    Example:
        >>> query_warehouse(Path("warehouse"), "FROM golden_customer",
        ...                 limits=QueryLimits(max_rows=10)).truncated  # doctest: +SKIP
        True
    """
    _check_memory_limit(limits.memory_limit)
    con = _open_release(Path(warehouse_dir), as_of, memory_limit=limits.memory_limit)
    with contextlib.closing(con):
        _check_one_reading_statement(con, query)
        with _deadline(con, limits.timeout_seconds) as timed_out:
            try:
                frame = _fetch(con, query, limits=limits, nested_as_json=nested_as_json)
            except duckdb.InterruptException:
                if not timed_out.is_set():
                    raise QueryError("the query was interrupted") from None
                msg = (
                    f"the query was stopped at the {limits.timeout_seconds:g} s time limit "
                    "(add a LIMIT or a filter, or raise --timeout)"
                )
                raise QueryError(msg) from None
            except duckdb.OutOfMemoryException as error:
                msg = (
                    f"the query needs more than the {limits.memory_limit} memory limit "
                    f"(raise --memory-limit): {str(error).splitlines()[0]}"
                )
                raise QueryError(msg) from None
            except duckdb.Error as error:
                raise QueryError(one_line(error)) from None
            except (pl.exceptions.PolarsError, pl.exceptions.PanicException, MemoryError) as error:
                msg = f"cannot convert the result: {one_line(error)}"
                raise QueryError(msg) from None
    if limits.max_rows is not None and frame.height > limits.max_rows:
        return QueryResult(frame.head(limits.max_rows), truncated=True)
    return QueryResult(frame, truncated=False)


def _open_release(
    warehouse_dir: Path, as_of: str | None, *, memory_limit: str
) -> duckdb.DuckDBPyConnection:
    """A locked-down connection to the current release's catalog, or to release ``as_of``'s.

    A kept release is opened from its folder; an older one gets a catalog
    built in memory from its manifest. Only the Parquet files of the
    release's Delta versions may be read.
    """
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit,
        "temp_directory": "",
    }
    warehouse = Warehouse(warehouse_dir)
    if as_of is None:
        database = warehouse.database
        if not database.exists():
            msg = f"no published warehouse at {warehouse_dir} (expected {database})"
            raise QueryError(msg)
        manifest = read_manifest(database.resolve().parent)
    else:
        manifest = warehouse.manifest(as_of)
        database = warehouse_dir / "releases" / as_of / "golden.duckdb"
        if manifest is None and not database.is_file():
            known = warehouse.known_releases()
            listed = ", ".join(known[-5:]) if known else "none"
            msg = f"no release {as_of!r} in {warehouse_dir} (the latest known: {listed})"
            raise QueryError(msg)
    try:
        if database.is_file():
            con = duckdb.connect(str(database), read_only=True, config=config)
        else:
            assert manifest is not None
            con = duckdb.connect(":memory:", config=config)
            create_views(con, manifest.tables)
        folders = _release_folders(manifest)
        if folders:
            con.execute("SET allowed_directories = $folders", {"folders": folders})
        for setting in SAFE_SETTINGS:
            con.execute(setting)
    except duckdb.Error as error:
        msg = f"cannot open the warehouse database {database}: {one_line(error)}"
        raise QueryError(msg) from None
    return con


def _release_folders(manifest: Manifest | None) -> list[str]:
    """The folders of a release's data files (a release from before Delta has none)."""
    if manifest is None:
        return []
    return sorted({str(Path(t.path)) + "/" for t in manifest.tables.values()})


def run_read_only_query(
    warehouse_dir: Path, query: str, *, limits: QueryLimits = ALL_ROWS
) -> pl.DataFrame:
    """All rows of one read-only query (memory limit and timeout still apply).

    Example:
        >>> run_read_only_query(Path("warehouse"), "SELECT 1 AS one")  # doctest: +SKIP
    """
    return query_warehouse(warehouse_dir, query, limits=limits).frame


def one_line(error: BaseException) -> str:
    """An error message on one line: its text and hints, without the echo of the query.

    DuckDB puts hints on the following lines (``Did you mean "golden_customer"?``,
    candidate functions), then a blank line or ``LINE 1: ...`` with a caret.

    Example:
        >>> one_line(ValueError('Catalog Error: no t!\\nDid you mean "x"?\\n\\nLINE 1: ...'))
        'Catalog Error: no t! Did you mean "x"?'
    """
    kept: list[str] = []
    for line in str(error).splitlines():
        if not line.strip() or line.startswith("LINE "):
            break
        kept.append(line.strip())
    return " ".join(kept) or type(error).__name__


def _check_memory_limit(memory_limit: str) -> None:
    """Refuse a memory limit DuckDB cannot parse before it is mistaken for a broken database."""
    try:
        duckdb.connect(":memory:", config={"memory_limit": memory_limit}).close()
    except duckdb.Error as error:
        msg = f"memory limit {memory_limit!r}: {one_line(error)}"
        raise QueryError(msg) from None


def _check_one_reading_statement(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """DuckDB's own parser counts the statements, so it cannot disagree with what would run."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as error:
        raise QueryError(one_line(error)) from None
    if len(statements) != 1:
        msg = f"give exactly one SQL statement (found {len(statements)})"
        raise QueryError(msg)
    kind = statements[0].type.name
    if kind not in READING_STATEMENTS:
        msg = f"only queries are allowed here, not a {kind} statement"
        raise QueryError(msg)


@contextlib.contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[threading.Event]:
    """Interrupt ``con``'s running query after ``seconds``; the event says whether it fired."""
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _fetch(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    limits: QueryLimits,
    nested_as_json: bool,
) -> pl.DataFrame:
    """At most ``max_rows + 1`` rows, with columns polars cannot hold rendered as text."""
    relation = con.sql(query)
    if relation is None:
        msg = "the statement returned no rows; only queries are allowed here"
        raise QueryError(msg)
    if limits.max_rows is not None:
        # A LIMIT over the query: DuckDB pushes it down (a sort becomes a top-N).
        relation = relation.limit(limits.max_rows + 1)
    return _as_polars_types(relation, nested_as_json=nested_as_json).pl()


def _as_polars_types(
    relation: duckdb.DuckDBPyRelation, *, nested_as_json: bool
) -> duckdb.DuckDBPyRelation:
    """``relation`` with columns rendered as text (or JSON) where polars or CSV needs it.

    Columns are addressed by position (``#3``) because result names may repeat.
    """
    text_types = CSV_TEXT_TYPES if nested_as_json else TEXT_ONLY_TYPES
    columns: list[duckdb.Expression] = []
    changed = False
    for position, (name, kind) in enumerate(zip(relation.columns, relation.types, strict=True), 1):
        if nested_as_json and kind.id in NESTED_TYPES:
            columns.append(duckdb.SQLExpression(f"to_json(#{position})").alias(name))
        elif _contains_type(kind, text_types):
            columns.append(duckdb.SQLExpression(f"CAST(#{position} AS VARCHAR)").alias(name))
        else:
            columns.append(duckdb.SQLExpression(f"#{position}"))
            continue
        changed = True
    return relation.project(*columns) if changed else relation


def _contains_type(kind: DuckDBPyType, ids: frozenset[str]) -> bool:
    """Whether ``kind`` is, or nests, a type whose id is in ``ids``."""
    if kind.id in ids:
        return True
    if kind.id not in NESTED_TYPES:
        return False
    children = (child for _, child in kind.children)
    return any(_contains_type(c, ids) for c in children if isinstance(c, DuckDBPyType))


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
