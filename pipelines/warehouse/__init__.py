"""The published warehouse: Delta Lake tables, and atomic releases that name their versions.

Layout of a warehouse folder ``DIR``::

    DIR/delta/<table>/                         one Delta Lake table per published table
    DIR/delta/_releases/<release>.json         every published release's manifest (time travel)
    DIR/releases/<release>/manifest.json       the Delta version (and files) of each table
    DIR/releases/<release>/golden.duckdb       catalog: one view per table over those files
    DIR/releases/<release>/parquet/<t>.parquet/  hard links to the same files (the mirror)
    DIR/current -> releases/<release>          swapped atomically on publish
    DIR/golden.duckdb -> current/golden.duckdb (stable paths for analysts)
    DIR/parquet -> current/parquet
    DIR/run_log.jsonl                          every run, failed ones included
    DIR/unified_id_ledger.json                 the highest unified ID ever issued here
    DIR/.scratch/<run_id>/                     a running run's large tables (``spill``)
    DIR/.scratch/<run_id>.step_outputs/        a CLI run's step outputs (orchestration)

A publish first commits each table's new version to its Delta table (a
complete table overwrites it; ``writer``), then writes the release folder
naming those versions in a staging folder, and makes it current by one
``rename`` of a symlink, which POSIX makes atomic: a reader sees the old
release or the new one, never half of each. A Delta version that no release
names (a run killed between its commits and the swap) is never read, and
the next publish that changes that table restores the base's version first
(``delta``). What a killed run leaves behind (a staging folder, a release
that never became current) is cleared by the next publish; the lock file
names its holder, so the next run also logs the killed one as
``abandoned``. RELIABILITY.md has the kill tests.

An incremental run publishes on top of the release it read (``base``):
tables the run did not change keep the base's version (:data:`KEPT`), a
table given as a :class:`TableDelta` gets the rows of removed keys deleted,
changed columns of kept rows updated and new rows appended (Delta rewrites
only the files holding the rows it touches), so neither the database nor
the Parquet mirrors are copied; a derived table given as a
:class:`DerivedDelta` is recomputed for the changed keys only. Old
releases stay answerable (``fusion sql --as-of RELEASE``) from their
manifests, after their folders are pruned, as long as the Delta files are
kept (nothing vacuums them yet).

The warehouse knows its own history without ``current``: a missing or broken
``current`` (no link, a link to nothing, a release whose ``golden.duckdb``
does not open) is pointed at the newest intact release when the run lock is
taken, with a one-line warning, or the run fails saying that no release is
intact (:meth:`Warehouse.recover_current`). Unified IDs are reserved in a
ledger beside the releases, written atomically before each publish, so no ID
is issued twice even when every release is gone.

The package: ``store`` (the folder: releases, run log, lock, publish,
recovery), ``ledger`` (the unified ID ledger), ``tables`` (what a release table
can be), ``delta`` (the Delta tables' versions), ``catalog`` (a release's
manifest, its DuckDB views and Parquet mirrors), ``writer`` (writing one
release), ``files`` (atomic file operations), ``spill`` (a run's large tables
on disk), ``retirement`` (what a release may retire), ``sql`` (the read-only
SQL door for analysts).
"""

from __future__ import annotations

from pipelines.warehouse.errors import WarehouseError
from pipelines.warehouse.ledger import LEDGER_NAME
from pipelines.warehouse.store import (
    INTACT_TABLES,
    RELEASES_KEPT,
    SCRATCH_DIR,
    SCRATCH_MAX_AGE_S,
    STAGING_PREFIX,
    STEP_OUTPUTS_SUFFIX,
    Warehouse,
)
from pipelines.warehouse.tables import (
    KEPT,
    DerivedDelta,
    DerivedTable,
    ReleaseTable,
    StagedTable,
    TableDelta,
    rows_named,
    staged_lazy,
    staged_rows,
    table_height,
    table_rows,
)
from pipelines.warehouse.writer import DATABASE_NAME

__all__ = [
    "DATABASE_NAME",
    "DerivedDelta",
    "DerivedTable",
    "INTACT_TABLES",
    "KEPT",
    "LEDGER_NAME",
    "RELEASES_KEPT",
    "ReleaseTable",
    "SCRATCH_DIR",
    "SCRATCH_MAX_AGE_S",
    "STAGING_PREFIX",
    "STEP_OUTPUTS_SUFFIX",
    "StagedTable",
    "TableDelta",
    "Warehouse",
    "WarehouseError",
    "rows_named",
    "staged_lazy",
    "staged_rows",
    "table_height",
    "table_rows",
]
