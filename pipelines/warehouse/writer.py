"""Write one complete release folder: its DuckDB database and Parquet mirrors."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from pipelines import faults
from pipelines.warehouse.spill import SpilledTable, write_parquet_mirror
from pipelines.warehouse.tables import DerivedDelta, DerivedTable, Kept, ReleaseTable, TableDelta

DATABASE_NAME = "golden.duckdb"
# Arrow with string views: polars hands its strings to DuckDB without copying them.
ARROW_LEVEL = pl.CompatLevel.newest()
# DuckDB's memory for merging carried rows with new ones (9M field candidates at 1M
# customers sort within it); past it, the sort spills to disk.
MERGE_MEMORY = "6GB"
# DuckDB's memory for writing a release. Its default (80% of RAM) let the write add
# 2.4 GiB at 1M records on top of the frames being written; at 1 GB it adds 1.2 GiB
# and takes 6-8 s (15%) longer, writing its excess to the database file as it goes.
PUBLISH_MEMORY = "1GB"
# Tables DuckDB may load in any row order: every reader filters, groups, joins or
# sorts them. Loaded in order, a table is compressed again at the final checkpoint;
# out of order, each thread writes its rows to the file as it goes (publishing 1M
# records: 55 -> 40 s). Their Parquet mirrors keep the run's order.
UNORDERED_TABLES = frozenset(
    {"match_evidence", "field_candidates", "field_lineage", "name_vectors"}
)


def write_release(
    folder: Path, tables: Mapping[str, ReleaseTable], *, base: Path | None = None
) -> None:
    database = folder / DATABASE_NAME
    if base is not None:
        shutil.copyfile(base / DATABASE_NAME, database)
    with contextlib.closing(duckdb.connect(str(database))) as con:
        con.execute(f"SET memory_limit = '{PUBLISH_MEMORY}'")
        existing = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        con.execute("BEGIN TRANSACTION")
        for name in sorted(existing - set(tables)):
            con.execute(f'DROP TABLE "{name}"')
        for position, (name, table) in enumerate(tables.items()):
            if position == len(tables) // 2:
                faults.checkpoint("publish:mid_write")
            if isinstance(table, pl.DataFrame):
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.register("incoming", table.to_arrow(compat_level=ARROW_LEVEL))
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
                con.unregister("incoming")
            elif isinstance(table, SpilledTable):
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(f"SET preserve_insertion_order = {name not in UNORDERED_TABLES}")
                con.execute(
                    f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet({_sql_text(table.path)})'
                )
                con.execute("RESET preserve_insertion_order")
            elif isinstance(table, TableDelta):
                _apply_delta(con, name, table)
        # After every table they may read, in the same transaction.
        for name, table in tables.items():
            if isinstance(table, DerivedTable):
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(f'CREATE TABLE "{name}" AS {table.query}')
            elif isinstance(table, DerivedDelta):
                _apply_derived_delta(con, name, table)
        con.execute("COMMIT")
        for name, table in tables.items():
            target = folder / "parquet" / f"{name}.parquet"
            kept = base / "parquet" / f"{name}.parquet" if base is not None else None
            if isinstance(table, Kept) and kept is not None and kept.is_file():
                os.link(kept, target)
            elif isinstance(table, SpilledTable):
                _link_or_copy(table.path, target)
            elif (rows := _mirror_rows(table)) is not None:
                write_parquet_mirror(rows, target)
            else:
                con.execute(f"COPY \"{name}\" TO '{target}' (FORMAT parquet)")
        con.execute("CHECKPOINT")
    with database.open("rb") as handle:
        os.fsync(handle.fileno())


def _mirror_rows(table: ReleaseTable) -> pl.LazyFrame | None:
    """The rows a table's Parquet mirror can be written from in Python (None: ask DuckDB)."""
    if isinstance(table, pl.DataFrame):
        return table.lazy()
    if isinstance(table, DerivedTable):
        return table.lazy()
    if isinstance(table, TableDelta | DerivedDelta) and table.mirror is not None:
        return table.mirror()
    return None


def _link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy across file systems)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _sql_text(path: Path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def _apply_delta(con: duckdb.DuckDBPyConnection, name: str, delta: TableDelta) -> None:
    """Delete the rows of removed keys, update kept rows, insert the new rows."""

    def matching(alias: str) -> str:
        return " AND ".join(f'"{name}"."{k}" = {alias}."{k}"' for k in delta.keys)

    if delta.removed.height:
        con.register(
            "removed_keys", delta.removed.select(delta.keys).to_arrow(compat_level=ARROW_LEVEL)
        )
        con.execute(f'DELETE FROM "{name}" USING removed_keys r WHERE {matching("r")}')
        con.unregister("removed_keys")
    if delta.updated is not None and delta.updated.height:
        columns = [c for c in delta.updated.columns if c not in delta.keys]
        assignments = ", ".join(f'"{c}" = u."{c}"' for c in columns)
        con.register("updated_rows", delta.updated.to_arrow(compat_level=ARROW_LEVEL))
        con.execute(f'UPDATE "{name}" SET {assignments} FROM updated_rows u WHERE {matching("u")}')
        con.unregister("updated_rows")
    if delta.added.height:
        con.register("added_rows", delta.added.to_arrow(compat_level=ARROW_LEVEL))
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM added_rows')
        con.unregister("added_rows")


def _apply_derived_delta(con: duckdb.DuckDBPyConnection, name: str, delta: DerivedDelta) -> None:
    """Delete the rows of the changed keys, insert the query's rows of those keys."""
    keys = ", ".join(f'"{k}"' for k in delta.keys)
    con.register(
        "changed_keys", delta.changed.select(delta.keys).to_arrow(compat_level=ARROW_LEVEL)
    )
    con.execute(f'DELETE FROM "{name}" WHERE ({keys}) IN (SELECT {keys} FROM changed_keys)')
    con.execute(
        f'INSERT INTO "{name}" BY NAME SELECT * FROM ({delta.query}) '
        f"WHERE ({keys}) IN (SELECT {keys} FROM changed_keys)"
    )
    con.unregister("changed_keys")


def zoned_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB names UTC 'Etc/UTC'; frames built in this run say 'UTC'."""
    zoned = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))
