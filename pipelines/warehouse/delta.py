"""The published tables as Delta Lake tables: a release is one version of each.

Every table lives at ``DIR/delta/<table>/``. A complete publish overwrites
the table (a new version holding only the new rows); a publish on a base
release changes only the rows the run changed (delete, update, append: each
its own Delta commit, so only the files holding those rows are rewritten).
Which version belongs to which release is not Delta's business: the release
manifest (:mod:`pipelines.warehouse.catalog`) records it, and a version no
manifest names (a killed run's) is never read. The next publish on that base
first restores the base's version, so its changes apply to the rows readers saw.

Example:
    >>> version = overwrite_table(Path("wh/delta/t"), frame.to_arrow())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema, write_deltalake
from deltalake.transaction import AddAction, create_table_with_add_actions

# deltalake takes Arrow's classic strings; polars' string views are a newer Arrow type.
DELTA_ARROW_LEVEL = pl.CompatLevel.oldest()
# Delta has no unsigned integers. An unsigned column is stored in the signed type
# that holds all its values (a 64-bit one bit for bit, as hashes are), and the
# catalog casts it back to the DuckDB type named here.
UNSIGNED: Mapping[pa.DataType, tuple[pa.DataType, str]] = {
    pa.uint8(): (pa.int16(), "UTINYINT"),
    pa.uint16(): (pa.int32(), "USMALLINT"),
    pa.uint32(): (pa.int64(), "UINTEGER"),
    pa.uint64(): (pa.int64(), "UBIGINT"),
}

# Rows per row group of a table file written here (DuckDB reads a row group per thread).
ROW_GROUP_ROWS = 256_000

Rows: TypeAlias = pa.Table | pa.RecordBatchReader


def unsigned_columns(schema: pa.Schema) -> dict[str, str]:
    """Column -> DuckDB unsigned type (``UINTEGER[]`` for a list), for columns stored signed."""
    return {f.name: kind for f in schema if (kind := _signed(f.type)[1]) is not None}


def _signed(kind: pa.DataType) -> tuple[pa.DataType, str | None]:
    """The type Delta stores ``kind`` as, and the DuckDB type to read it back as (None: as is)."""
    if kind in UNSIGNED:
        return UNSIGNED[kind]
    if pa.types.is_list(kind) and kind.value_type in UNSIGNED:
        signed, name = UNSIGNED[kind.value_type]
        return pa.list_(signed), f"{name}[]"
    if pa.types.is_large_list(kind) and kind.value_type in UNSIGNED:
        signed, name = UNSIGNED[kind.value_type]
        return pa.large_list(signed), f"{name}[]"
    if pa.types.is_timestamp(kind) and (kind.unit != "us" or kind.tz not in (None, "UTC")):
        # Delta keeps microseconds, zoned ones in UTC: the same instants, read back as such.
        return pa.timestamp("us", "UTC" if kind.tz else None), None
    return kind, None


def overwrite_table(path: Path, rows: Rows) -> int:
    """Make ``rows`` (an Arrow table or stream) the table's new version; return it.

    The schema is replaced too, so a column added or retyped by a later
    release needs no migration. The rows are encoded by PyArrow's Parquet
    writer batch by batch and the file is then committed as it is: Delta's own
    writer buffered a whole target file of decoded rows (+1.0-1.3 GiB each for
    the 1M sets' field candidates, standardised records and name vectors).
    """
    stored = as_signed(rows)
    if not all(_stored_as_is(f.type) for f in stored.schema):
        # A type only Delta's writer knows how to convert: let it.
        path.mkdir(parents=True, exist_ok=True)
        write_deltalake(str(path), stored, mode="overwrite", schema_mode="overwrite")
        return DeltaTable(str(path)).version()
    path.mkdir(parents=True, exist_ok=True)
    name = f"part-{uuid.uuid4()}-c000.zstd.parquet"
    with pq.ParquetWriter(path / name, stored.schema, compression="zstd") as writer:
        if isinstance(stored, pa.Table):
            writer.write_table(stored, row_group_size=ROW_GROUP_ROWS)
        else:
            for batch in stored:
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
    return _commit_file(path, name, stored.schema)


def adopt_file(path: Path, file: Path) -> int | None:
    """Make the Parquet ``file`` the table's new version as it is (hard-linked, not rewritten).

    A run's spilled tables are already Parquet files: committing them as they
    are saves decoding and encoding every row of every large table. Returns
    the new version, or None (nothing done) when the file holds a type Delta
    does not store as written (unsigned integers, nanosecond timestamps, ...).
    """
    schema = pq.read_schema(file)
    if not all(_stored_as_is(f.type) for f in schema):
        return None
    path.mkdir(parents=True, exist_ok=True)
    name = f"part-{uuid.uuid4()}-adopted.parquet"
    try:
        os.link(file, path / name)
    except OSError:
        shutil.copyfile(file, path / name)
    return _commit_file(path, name, schema)


def _commit_file(path: Path, name: str, schema: pa.Schema) -> int:
    """Commit the Parquet file ``name`` (already in the table's folder) as the new version."""
    written = (path / name).stat()
    rows = pq.read_metadata(path / name).num_rows
    add = AddAction(
        name,
        written.st_size,
        {},
        int(written.st_mtime * 1000),
        True,
        json.dumps({"numRecords": rows}),
    )
    if (path / "_delta_log").is_dir():
        DeltaTable(str(path)).create_write_transaction([add], mode="overwrite", schema=schema)
    else:
        create_table_with_add_actions(str(path), Schema.from_arrow(schema), [add], mode="error")
    return DeltaTable(str(path)).version()


def _stored_as_is(kind: pa.DataType) -> bool:
    """Whether Delta reads a Parquet column of ``kind`` back as the same type."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _stored_as_is(kind.value_type)
    if pa.types.is_struct(kind):
        return all(_stored_as_is(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_timestamp(kind):
        return kind.unit == "us" and kind.tz in (None, "UTC")
    return any(
        check(kind)
        for check in (
            pa.types.is_signed_integer,
            pa.types.is_floating,
            pa.types.is_boolean,
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
            pa.types.is_date32,
            pa.types.is_decimal128,
        )
    )


def as_signed(rows: Rows) -> Rows:
    """``rows`` with unsigned columns in the signed types Delta can store (see UNSIGNED)."""
    signed = pa.schema([f.with_type(_signed(f.type)[0]) for f in rows.schema])
    if signed == rows.schema:
        return rows
    if isinstance(rows, pa.Table):
        return _cast_batch(rows, signed)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in rows:
            yield _cast_batch(batch, signed)

    return pa.RecordBatchReader.from_batches(signed, batches())


def _cast_batch(rows: pa.Table | pa.RecordBatch, signed: pa.Schema) -> pa.Table | pa.RecordBatch:
    # Unchecked: a 64-bit hash above the signed range wraps round, bit for bit.
    return rows.cast(signed, safe=False)


def change_rows(
    path: Path,
    *,
    base_version: int,
    keys: Sequence[str],
    removed: pl.DataFrame,
    added: pl.DataFrame,
    updated: pl.DataFrame | None = None,
) -> int:
    """Delete the rows of ``removed`` keys, update kept rows, append ``added``; new version.

    ``updated`` holds ``keys`` and the columns to set on the rows it names.
    """
    table = table_at(path, base_version)
    if removed.height:
        table.merge(
            _arrow(removed.select(keys)),
            predicate=_same_keys(keys),
            source_alias="s",
            target_alias="t",
        ).when_matched_delete().execute()
    if updated is not None and updated.height:
        columns = [c for c in updated.columns if c not in keys]
        DeltaTable(str(path)).merge(
            _arrow(updated),
            predicate=_same_keys(keys),
            source_alias="s",
            target_alias="t",
            error_on_type_mismatch=False,
        ).when_matched_update({_quoted(c): f"s.{_quoted(c)}" for c in columns}).execute()
    if added.height:
        write_deltalake(str(path), _conformed(added, DeltaTable(str(path))), mode="append")
    return DeltaTable(str(path)).version()


def replace_key_rows(
    path: Path, *, base_version: int, keys: Sequence[str], changed: pl.DataFrame, rows: pa.Table
) -> int:
    """Delete the rows of the ``changed`` keys, append ``rows`` (theirs, recomputed)."""
    table = table_at(path, base_version)
    if changed.height:
        table.merge(
            _arrow(changed.select(keys).unique()),
            predicate=_same_keys(keys),
            source_alias="s",
            target_alias="t",
        ).when_matched_delete().execute()
    incoming = as_signed(rows)
    assert isinstance(incoming, pa.Table)
    if incoming.num_rows:
        target = pa.schema(DeltaTable(str(path)).schema().to_arrow())
        write_deltalake(str(path), _cast_to(incoming, target), mode="append")
    return DeltaTable(str(path)).version()


def table_at(path: Path, version: int) -> DeltaTable:
    """The table with ``version`` as its latest, restored if a killed run committed past it."""
    table = DeltaTable(str(path))
    if table.version() != version:
        table.restore(version)
        table = DeltaTable(str(path))
    return table


def version_files(path: Path, version: int) -> list[str]:
    """The Parquet files (absolute paths) that make up ``version`` of the table."""
    uris = DeltaTable(str(path), version=version).file_uris()
    return sorted(u.removeprefix("file://") for u in uris)


def version_schema(path: Path, version: int) -> pa.Schema:
    """The Arrow schema of ``version`` of the table."""
    return pa.schema(DeltaTable(str(path), version=version).schema().to_arrow())


def _arrow(frame: pl.DataFrame) -> pa.Table:
    signed = as_signed(frame.to_arrow(compat_level=DELTA_ARROW_LEVEL))
    assert isinstance(signed, pa.Table)
    return signed


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _same_keys(keys: Sequence[str]) -> str:
    return " AND ".join(f"t.{_quoted(k)} = s.{_quoted(k)}" for k in keys)


def _conformed(frame: pl.DataFrame, table: DeltaTable) -> pa.Table:
    """``frame``'s rows in the table's column order and types (absent columns null)."""
    return _cast_to(_arrow(frame), pa.schema(table.schema().to_arrow()))


def _cast_to(rows: pa.Table, target: pa.Schema) -> pa.Table:
    columns = [
        rows.column(f.name).cast(f.type)
        if f.name in rows.column_names
        else pa.nulls(rows.num_rows, f.type)
        for f in target
    ]
    return pa.Table.from_arrays(columns, schema=target)
