"""Write one release: each table's new Delta version, then its catalog and mirrors.

Stored tables are written first (a frame or a spilled file as a new version,
a :class:`TableDelta` as row changes on the base's version, a kept table as
the base's version itself); derived tables are then computed by DuckDB from
the catalog of those versions, each written as a version of its own. Only
then are the release's catalog, Parquet mirrors and manifest written into
its (staging) folder: until the manifest names them, the new versions are
invisible to every reader.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import faults
from pipelines.warehouse.catalog import (
    MANIFEST_NAME,
    Manifest,
    TableVersion,
    create_views,
    write_manifest,
    write_mirrors,
)
from pipelines.warehouse.delta import (
    DELTA_ARROW_LEVEL,
    adopt_file,
    change_rows,
    overwrite_table,
    replace_key_rows,
    unsigned_columns,
)
from pipelines.warehouse.spill import SpilledTable, as_stored
from pipelines.warehouse.tables import DerivedDelta, DerivedTable, Kept, ReleaseTable, TableDelta

DATABASE_NAME = "golden.duckdb"
# Arrow with string views: polars hands its strings to DuckDB without copying them.
ARROW_LEVEL = pl.CompatLevel.newest()
# DuckDB's memory for merging carried rows with new ones (9M field candidates at 1M
# customers sort within it); past it, the sort spills to disk.
MERGE_MEMORY = "6GB"
# DuckDB's memory for computing derived tables; its default (80% of RAM) would
# let one query take what the run's frames need.
PUBLISH_MEMORY = "1GB"
# Rows per Arrow batch streamed from a spilled file into its Delta table.
STREAM_BATCH_ROWS = 256_000


def write_release(
    folder: Path,
    tables: Mapping[str, ReleaseTable],
    *,
    lake: Path,
    release: str,
    base: Manifest | None = None,
) -> Manifest:
    """Write every table's version for ``release`` and the release folder naming them.

    ``lake``: the folder of the Delta tables (one per table name). ``base``:
    the manifest of the release the run read, required for kept tables and
    deltas. Returns the manifest written to ``folder``.
    """
    stored = [(n, t) for n, t in tables.items() if not isinstance(t, DerivedTable | DerivedDelta)]
    written: dict[str, TableVersion] = {}
    committed = False
    for position, (name, table) in enumerate(stored):
        if position == len(stored) // 2:
            faults.checkpoint("publish:mid_write")
        was = _base_of(base, name, table)
        written[name] = _write_stored(lake / name, table, base=was)
        if not committed and (was is None or written[name].version != was.version):
            committed = True
            # A Delta commit of this release made, the release not yet: readers must not see it.
            faults.checkpoint("publish:delta_commit")
    database = folder / DATABASE_NAME
    with contextlib.closing(duckdb.connect(str(database))) as con:
        con.execute(f"SET memory_limit = '{PUBLISH_MEMORY}'")
        create_views(con, written)
        derived: dict[str, TableVersion] = {}
        for name, query in tables.items():
            if isinstance(query, DerivedTable):
                rows = con.sql(query.query).to_arrow_reader(batch_size=STREAM_BATCH_ROWS)
                version = overwrite_table(lake / name, rows)
                unsigned = unsigned_columns(rows.schema)
                derived[name] = TableVersion.of(lake / name, version, unsigned=unsigned)
            elif isinstance(query, DerivedDelta):
                derived[name] = _write_derived_delta(
                    con, lake / name, query, base=_base_of(base, name, query)
                )
        create_views(con, derived)
        con.execute("CHECKPOINT")
    with database.open("rb") as handle:
        os.fsync(handle.fileno())
    every = {**written, **derived}
    manifest = Manifest(release, {name: every[name] for name in tables})
    write_mirrors(folder / "parquet", manifest.tables)
    write_manifest(folder / MANIFEST_NAME, manifest)
    return manifest


def _base_of(base: Manifest | None, name: str, table: ReleaseTable) -> TableVersion | None:
    """The base release's version of ``name`` when ``table`` builds on it."""
    if not isinstance(table, Kept | TableDelta | DerivedDelta):
        return None
    if base is None or name not in base.tables:
        msg = f"table {name!r} is kept or a delta, but the base release does not hold it"
        raise ValueError(msg)
    return base.tables[name]


def _write_stored(path: Path, table: ReleaseTable, *, base: TableVersion | None) -> TableVersion:
    """The version of a stored (not derived) table for this release."""
    if isinstance(table, Kept):
        assert base is not None
        # Listed again from this warehouse's table: a copied warehouse's base names the original's.
        return TableVersion.of(path, base.version, unsigned=base.unsigned)
    if isinstance(table, pl.DataFrame):
        # Coded text as plain text, as a spilled table stores it: one type however written.
        rows: pa.Table | pa.RecordBatchReader = _frame_stream(as_stored(table.lazy()).collect())
    elif isinstance(table, SpilledTable):
        adopted = adopt_file(path, table.path)
        if adopted is not None:
            return TableVersion.of(path, adopted, unsigned={})
        rows = _parquet_stream(table.path)
    else:
        assert isinstance(table, TableDelta)
        assert base is not None
        version = change_rows(
            path,
            base_version=base.version,
            keys=table.keys,
            removed=table.removed,
            added=table.added,
            updated=table.updated,
        )
        return TableVersion.of(path, version, unsigned=base.unsigned)
    version = overwrite_table(path, rows)
    return TableVersion.of(path, version, unsigned=unsigned_columns(rows.schema))


def _write_derived_delta(
    con: duckdb.DuckDBPyConnection, path: Path, delta: DerivedDelta, *, base: TableVersion | None
) -> TableVersion:
    """Recompute a derived table's rows for the changed keys only, on the base's version."""
    assert base is not None
    keys = ", ".join(f'"{k}"' for k in delta.keys)
    changed = delta.changed.select(delta.keys).unique()
    con.register("changed_keys", changed.to_arrow(compat_level=ARROW_LEVEL))
    rows = con.sql(
        f"SELECT * FROM ({delta.query}) WHERE ({keys}) IN (SELECT {keys} FROM changed_keys)"
    ).to_arrow_reader()
    version = replace_key_rows(
        path, base_version=base.version, keys=delta.keys, changed=changed, rows=rows.read_all()
    )
    con.unregister("changed_keys")
    return TableVersion.of(path, version, unsigned=base.unsigned)


def _parquet_stream(path: Path) -> pa.RecordBatchReader:
    """A spilled table's rows as Arrow batches, read as they are written."""
    file = pq.ParquetFile(path)

    def batches() -> Iterator[pa.RecordBatch]:
        yield from file.iter_batches(batch_size=STREAM_BATCH_ROWS)

    return pa.RecordBatchReader.from_batches(file.schema_arrow, batches())


def _frame_stream(frame: pl.DataFrame) -> pa.RecordBatchReader:
    """A frame's rows as Arrow batches in Delta's string type, converted one slice at a time.

    Converting the whole frame at once would copy every string of it (polars'
    string views to Arrow's classic strings) before a row is written.
    """
    schema = frame.head(0).to_arrow(compat_level=DELTA_ARROW_LEVEL).schema

    def batches() -> Iterator[pa.RecordBatch]:
        for part in frame.iter_slices(STREAM_BATCH_ROWS):
            yield from part.to_arrow(compat_level=DELTA_ARROW_LEVEL).cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def zoned_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB names UTC 'Etc/UTC'; frames built in this run say 'UTC'."""
    zoned = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))
