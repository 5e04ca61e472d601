"""A release's manifest (the Delta version of each table) and the catalog built from it.

A release is a small folder: ``manifest.json`` names, for every table, its
Delta table, the version that belongs to the release and that version's
Parquet files; ``golden.duckdb`` is a thin catalog of one view per table over
exactly those files, so analysts' SQL reads the release by the same table
names as ever; ``parquet/<table>.parquet/`` is a folder of hard links to the
same files (the Parquet mirror, readable by ``pl.read_parquet`` or DuckDB's
``read_parquet('.../<table>.parquet/*.parquet')``). Nothing of the data is
copied. A table whose version holds no files (no rows) is a small empty
table in the catalog and one empty Parquet file in its mirror.

The catalog names files by absolute path, so it answers wherever it is
opened from; a copied warehouse's catalog still names the original's files
until its next publish.

Example:
    >>> manifest = read_manifest(Path("wh/current"))  # doctest: +SKIP
    >>> manifest.tables["golden_customer"].version  # doctest: +SKIP
    7
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.warehouse.delta import version_files, version_schema
from pipelines.warehouse.files import fsync_folder

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "fusion.release/1"


@dataclass(frozen=True)
class TableVersion:
    """One table of a release: its Delta table, version and that version's files.

    ``unsigned``: columns Delta stores signed, with the DuckDB type the
    catalog casts them back to (:data:`pipelines.warehouse.delta.UNSIGNED`).
    """

    path: str
    version: int
    files: tuple[str, ...]
    unsigned: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, path: Path, version: int, *, unsigned: Mapping[str, str]) -> TableVersion:
        """The version ``version`` of the Delta table at ``path``, its files listed."""
        return cls(str(path), version, tuple(version_files(path, version)), dict(unsigned))


@dataclass(frozen=True)
class Manifest:
    """Which version of which Delta table makes up a release."""

    release: str
    tables: Mapping[str, TableVersion]

    def versions(self) -> dict[str, int]:
        """Table name -> Delta version (what an auditor needs to time travel)."""
        return {name: table.version for name, table in self.tables.items()}

    def to_json(self) -> str:
        tables = {
            name: {
                "path": t.path,
                "version": t.version,
                "files": list(t.files),
                "unsigned": dict(t.unsigned),
            }
            for name, t in self.tables.items()
        }
        document = {"schema": MANIFEST_SCHEMA, "release": self.release, "tables": tables}
        return json.dumps(document, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        document = json.loads(text)
        tables = {
            name: TableVersion(
                t["path"], int(t["version"]), tuple(t["files"]), t.get("unsigned", {})
            )
            for name, t in document["tables"].items()
        }
        return cls(document["release"], tables)


def read_manifest(path: Path) -> Manifest | None:
    """The manifest in release folder (or file) ``path``; None for a release without one."""
    file = path / MANIFEST_NAME if path.is_dir() else path
    if not file.is_file():
        return None
    return Manifest.from_json(file.read_text(encoding="utf-8"))


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it, both synced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(manifest.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_folder(path.parent)


def create_views(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableVersion]) -> None:
    """One view per table over its version's files (an empty table when it has none).

    Unsigned columns are cast back from the signed type Delta stores them in.
    """
    for name, table in tables.items():
        columns = _unsigned_again(table.unsigned)
        if table.files:
            files = ", ".join(_sql_text(f) for f in table.files)
            con.execute(
                f'CREATE VIEW "{name}" AS SELECT {columns} FROM '
                f"read_parquet([{files}], hive_partitioning = false)"
            )
        else:
            empty = version_schema(Path(table.path), table.version).empty_table()
            con.register("empty_rows", empty)
            con.execute(f'CREATE TABLE "{name}" AS SELECT {columns} FROM empty_rows')
            con.unregister("empty_rows")


def _unsigned_again(unsigned: Mapping[str, str]) -> str:
    """A select list: every column, the unsigned ones cast back (64 bits: bit for bit)."""
    if not unsigned:
        return "*"
    casts = []
    for column, kind in unsigned.items():
        quoted = '"' + column.replace('"', '""') + '"'
        if kind == "UBIGINT":
            value = f"CASE WHEN {quoted} < 0 THEN {quoted}::HUGEINT + {2**64} ELSE {quoted} END"
        elif kind == "UBIGINT[]":
            each = f"CASE WHEN v < 0 THEN v::HUGEINT + {2**64} ELSE v END"
            value = f"list_transform({quoted}, lambda v: {each})"
        else:
            value = quoted
        casts.append(f"CAST({value} AS {kind}) AS {quoted}")
    return f"* REPLACE ({', '.join(casts)})"


def write_mirrors(folder: Path, tables: Mapping[str, TableVersion]) -> None:
    """``folder/<table>.parquet/``: hard links to each version's files (copies across devices)."""
    for name, table in tables.items():
        mirror = folder / f"{name}.parquet"
        mirror.mkdir(parents=True)
        for file in table.files:
            target = mirror / Path(file).name
            try:
                os.link(file, target)
            except OSError:
                shutil.copyfile(file, target)
        if not table.files:
            schema = version_schema(Path(table.path), table.version)
            pq.write_table(schema.empty_table(), mirror / "empty.parquet")


def _sql_text(path: str) -> str:
    """A path as a SQL string literal."""
    return "'" + path.replace("'", "''") + "'"
