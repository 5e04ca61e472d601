"""The published warehouse: atomic releases of a DuckDB file and Parquet mirrors.

Layout of a warehouse folder ``DIR``::

    DIR/releases/<release>/golden.duckdb      one complete, immutable release
    DIR/releases/<release>/parquet/<t>.parquet
    DIR/current -> releases/<release>          swapped atomically on publish
    DIR/golden.duckdb -> current/golden.duckdb (stable paths for analysts)
    DIR/parquet -> current/parquet
    DIR/run_log.jsonl                          every run, failed ones included
    DIR/unified_id_ledger.json                 the highest unified ID ever issued here
    DIR/.scratch/<run_id>/                     a running run's large tables (``spill``)
    DIR/.scratch/<run_id>.step_outputs/        a CLI run's step outputs (orchestration)

A release is written completely in a staging folder, then made current by
one ``rename`` of a symlink, which POSIX makes atomic: a reader sees the old
release or the new one, never half of each, and a run that dies before the
swap leaves the previous release untouched. What a killed run leaves behind
(a staging folder, a release that never became current) is cleared by the
next publish; the lock file names its holder, so the next run also logs the
killed one as ``abandoned``. RELIABILITY.md has the kill tests.

An incremental run publishes on top of the release it read (``base``): the
staging folder starts from a copy of that release's DuckDB file, tables the
run did not change stay as they are (their Parquet files hard-linked), and a
table given as a :class:`TableDelta` is updated in place (rows of removed
keys deleted, new rows inserted, changed columns of kept rows updated) in one
transaction, so only the batch's rows go through Python; a derived table
given as a :class:`DerivedDelta` is recomputed for the changed keys only.
The swap, and what a killed run leaves behind, are the same as for a
complete release.

The warehouse knows its own history without ``current``: a missing or broken
``current`` (no link, a link to nothing, a release whose ``golden.duckdb``
does not open) is pointed at the newest intact release when the run lock is
taken, with a one-line warning, or the run fails saying that no release is
intact (:meth:`Warehouse.recover_current`). Unified IDs are reserved in a
ledger beside the releases, written atomically before each publish, so no ID
is issued twice even when every release is gone.
is issued twice even when every release is gone.

The package: ``store`` (the folder: releases, run log, lock, publish,
recovery), ``ledger`` (the unified ID ledger), ``tables`` (what a release table
can be), ``writer`` (writing one release folder), ``files`` (atomic file
operations), ``spill`` (a run's large tables on disk), ``retirement`` (what a
release may retire), ``sql`` (the read-only SQL door for analysts).
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
