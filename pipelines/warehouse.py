"""The published warehouse: atomic releases of a DuckDB file and Parquet mirrors.

Layout of a warehouse folder ``DIR``::

    DIR/releases/<release>/golden.duckdb      one complete, immutable release
    DIR/releases/<release>/parquet/<t>.parquet
    DIR/current -> releases/<release>          swapped atomically on publish
    DIR/golden.duckdb -> current/golden.duckdb (stable paths for analysts)
    DIR/parquet -> current/parquet
    DIR/run_log.jsonl                          every run, failed ones included
    DIR/unified_id_ledger.json                 the highest unified ID ever issued here
    DIR/.scratch/<run_id>/                     a running run's large tables (pipelines.spill)
    DIR/.scratch/<run_id>.step_outputs/        a CLI run's step outputs (pipelines.step_outputs)

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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final

import duckdb
import polars as pl
import pyarrow as pa

from connectors.errors import FusionError
from matching.identity import format_unified_id
from pipelines import faults
from pipelines.spill import SpilledTable, SpillFolder, write_parquet_mirror

DATABASE_NAME = "golden.duckdb"
LEDGER_NAME = "unified_id_ledger.json"
# A release is intact when its database opens and holds these (the identity a run carries on).
INTACT_TABLES = frozenset({"golden_customer", "customer_xref", "unified_id_history"})
RELEASES_KEPT = 3
STAGING_PREFIX = ".staging-"
SCRATCH_DIR = ".scratch"
# A scratch folder this old belongs to a run that was killed (a run's scratch
# goes when it ends, published or failed); younger ones may be another run's, still going.
SCRATCH_MAX_AGE_S = 24 * 3600
STEP_OUTPUTS_SUFFIX = ".step_outputs"
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


class WarehouseError(FusionError):
    """The warehouse folder cannot be read, locked or written."""


class _Kept:
    """The table as the base release holds it (see :data:`KEPT`)."""

    def __repr__(self) -> str:
        return "KEPT"


KEPT: Final = _Kept()
"""Publish the table unchanged from the base release (its Parquet file hard-linked)."""


@dataclass(frozen=True)
class TableDelta:
    """How a table of the base release becomes this release's table, row by row.

    Rows whose ``keys`` are in ``removed`` are deleted, then ``added`` rows are
    inserted (by column name); ``updated`` (``keys`` plus the columns to set)
    changes columns of rows that stay. The result must equal the table a
    complete publish would write (order aside): the caller guarantees it.

    ``mirror``: the whole table's rows (any order) when the run holds them;
    its Parquet mirror is then streamed from them (:func:`write_parquet_mirror`)
    instead of copied out of DuckDB.

    Example:
        >>> TableDelta(("unified_id",), removed=gone, added=fresh)  # doctest: +SKIP
    """

    keys: tuple[str, ...]
    removed: pl.DataFrame
    added: pl.DataFrame
    updated: pl.DataFrame | None = None
    mirror: Callable[[], pl.LazyFrame] | None = None


@dataclass(frozen=True)
class DerivedTable:
    """A table of the release computed from its other tables by one SELECT.

    The release's own copy is written by DuckDB from the tables ``query``
    reads, after them, so its rows never pass through Python to be published.
    ``lazy`` is the same rows as a polars query over the run's frames: its
    Parquet mirror is streamed from it, and in-process consumers (checks,
    quality suites, SQL models) call :meth:`rows` for the columns they read,
    and drop the frame when done.
    """

    query: str
    lazy: Callable[[], pl.LazyFrame]
    columns: tuple[str, ...]

    def rows(self, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The table's rows (only ``columns`` if given), computed now."""
        rows = self.lazy()
        return (rows if columns is None else rows.select(columns)).collect()


@dataclass(frozen=True)
class DerivedDelta:
    """A derived table of the base release, recomputed for some keys only.

    Its rows whose ``keys`` are in ``changed`` are deleted, and the rows of
    ``query`` with those keys inserted, after the tables it reads have been
    updated; the result must equal the whole ``query`` (order aside): the
    caller guarantees that no other key's rows can differ.

    ``mirror``: the whole table's rows (any order) when the run holds them;
    its Parquet mirror is then streamed from them (:func:`write_parquet_mirror`)
    instead of copied out of DuckDB.
    """

    query: str
    keys: tuple[str, ...]
    changed: pl.DataFrame
    mirror: Callable[[], pl.LazyFrame] | None = None


StagedTable = pl.DataFrame | DerivedTable | SpilledTable
ReleaseTable = pl.DataFrame | TableDelta | _Kept | DerivedTable | DerivedDelta | SpilledTable


def staged_rows(table: StagedTable, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """A staged table's rows as a frame (only ``columns`` if given)."""
    if isinstance(table, DerivedTable | SpilledTable):
        return table.rows(columns)
    return table if columns is None else table.select(columns)


def staged_lazy(table: StagedTable) -> pl.LazyFrame:
    """A staged table's rows as a polars query (a spilled one scans its file)."""
    return table.lazy()


def rows_named(table: StagedTable, names: Collection[str]) -> pl.DataFrame:
    """The table's columns that ``names`` holds, in its order; its first one if none is.

    For readers that know the names they use (a quality suite, SQL models):
    a derived table then computes only those columns, and a one-column frame
    still counts the rows.
    """
    columns = (
        table.columns if isinstance(table, DerivedTable | SpilledTable) else tuple(table.columns)
    )
    return staged_rows(table, [c for c in columns if c in names] or list(columns[:1]))


def table_rows(
    tables: Mapping[str, StagedTable], name: str, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """The rows of the staged table ``name`` as a frame (only ``columns`` if given)."""
    return staged_rows(tables[name], columns)


def table_height(table: StagedTable) -> int:
    """Rows of a staged table (a spilled one's from its file's metadata, a derived one counted)."""
    height: int = staged_lazy(table).select(pl.len()).collect().item()
    return height


@dataclass(frozen=True)
class Warehouse:
    """Paths and operations of one warehouse folder."""

    root: Path

    @property
    def database(self) -> Path:
        """Stable path of the current DuckDB file (a symlink into the current release)."""
        return self.root / DATABASE_NAME

    @property
    def parquet_dir(self) -> Path:
        """Stable path of the current Parquet folder."""
        return self.root / "parquet"

    @property
    def run_log(self) -> Path:
        """JSON-lines log of every run, successful or not."""
        return self.root / "run_log.jsonl"

    def scratch(self, run_id: str) -> SpillFolder:
        """Where run ``run_id`` spills its large tables until it ends (``pipelines.spill``)."""
        return SpillFolder(self.root / SCRATCH_DIR / run_id)

    def step_outputs(self, run_id: str) -> Path:
        """Where run ``run_id``'s step outputs wait for the steps that read them."""
        return self.root / SCRATCH_DIR / f"{run_id}{STEP_OUTPUTS_SUFFIX}"

    def drop_scratch(self, run_id: str) -> None:
        """Remove run ``run_id``'s spilled tables and step outputs, once the run has ended.

        Not at publish: checks that do not gate publishing run after the
        publish step and still read the release's spilled tables.
        """
        self.scratch(run_id).remove()
        shutil.rmtree(self.step_outputs(run_id), ignore_errors=True)

    def clear_old_scratch(self, *, now: float) -> None:
        """Remove the scratch folders killed runs left (older than ``SCRATCH_MAX_AGE_S``)."""
        folder = self.root / SCRATCH_DIR
        if not folder.is_dir():
            return
        for leftover in folder.iterdir():
            if now - leftover.stat().st_mtime > SCRATCH_MAX_AGE_S:
                shutil.rmtree(leftover, ignore_errors=True)

    def current_release(self) -> str | None:
        """Name of the current release, or None before the first publish."""
        current = self.root / "current"
        if not current.is_symlink():
            return None
        return Path(os.readlink(current)).name

    def exists(self) -> bool:
        """Whether a release has been published here."""
        return self.database.exists()

    def read_table(self, table: str, *, columns: list[str] | None = None) -> pl.DataFrame | None:
        """A table of the current release (or some of its columns), or None when there is none."""
        if not self.exists():
            return None
        selected = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
        with contextlib.closing(duckdb.connect(str(self.database), read_only=True)) as con:
            names = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            if table not in names:
                return None
            frame = con.sql(f'SELECT {selected} FROM "{table}"').pl()
        return _zoned_utc(frame)

    def read_rows(self, table: str, *, release: str, keys: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``table`` in ``release`` whose key columns match a row of ``keys``.

        DuckDB does the semi-join, so only those rows reach Python.
        """
        database = self.root / "releases" / release / DATABASE_NAME
        columns = ", ".join(f'"{c}"' for c in keys.columns)
        with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
            con.register("wanted_keys", keys.to_arrow(compat_level=ARROW_LEVEL))
            frame = con.sql(
                f'SELECT * FROM "{table}" WHERE ({columns}) IN (SELECT {columns} FROM wanted_keys)'
            ).pl()
        return _zoned_utc(frame)

    def rows_plus(
        self,
        table: str,
        *,
        release: str,
        keep: pl.DataFrame,
        new: pl.DataFrame,
        order_by: Sequence[str],
    ) -> pl.DataFrame:
        """``table``'s rows in ``release`` whose keys are in ``keep``, plus ``new``, sorted.

        ``order_by``: SQL expressions over the columns, a total order. The
        result has ``new``'s columns and types. DuckDB selects, appends and
        sorts (faster than polars here, and its memory is given back when it
        is done; past :data:`MERGE_MEMORY` it spills to disk), so the release's
        rows reach Python once, in place, as Arrow record batches.
        """
        database = self.root / "releases" / release / DATABASE_NAME
        keys = ", ".join(f'"{c}"' for c in keep.columns)
        columns = ", ".join(f'"{c}"' for c in new.columns)
        query = (
            f'SELECT {columns} FROM "{table}" WHERE ({keys}) IN (SELECT {keys} FROM kept_keys) '
            f"UNION ALL SELECT {columns} FROM new_rows "
            # Polars puts nulls first in either direction; so does this order.
            f"ORDER BY {', '.join(f'{o} NULLS FIRST' for o in order_by)}"
        )
        with (
            tempfile.TemporaryDirectory(prefix=".merge-", dir=self.root) as spill,
            contextlib.closing(duckdb.connect(str(database), read_only=True)) as con,
        ):
            con.execute(f"SET memory_limit = '{MERGE_MEMORY}'")
            con.execute(f"SET temp_directory = '{spill}'")
            con.register("kept_keys", keep.to_arrow(compat_level=ARROW_LEVEL))
            con.register("new_rows", new.to_arrow(compat_level=ARROW_LEVEL))
            merged = pl.from_arrow(pa.Table.from_batches(con.sql(query).to_arrow_reader()))
        assert isinstance(merged, pl.DataFrame)
        return _zoned_utc(merged).cast(new.schema)  # type: ignore[arg-type]

    def query(self, sql: str, *, frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame | None:
        """The result of one SELECT over the current release and ``frames`` (by name).

        None before the first publish, or when a table it reads is missing.
        """
        if not self.exists():
            return None
        with contextlib.closing(duckdb.connect(str(self.database), read_only=True)) as con:
            for name, frame in frames.items():
                con.register(name, frame.to_arrow(compat_level=ARROW_LEVEL))
            try:
                reader = con.sql(sql).to_arrow_reader()
            except duckdb.CatalogException:
                return None
            result = pl.from_arrow(pa.Table.from_batches(reader))
        assert isinstance(result, pl.DataFrame)
        return _zoned_utc(result)

    def table_columns(self, *, release: str) -> dict[str, list[str]]:
        """Column names of every table of ``release``."""
        database = self.root / "releases" / release / DATABASE_NAME
        with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
            rows = con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "ORDER BY table_name, ordinal_position"
            ).fetchall()
        columns: dict[str, list[str]] = {}
        for table, column in rows:
            columns.setdefault(table, []).append(column)
        return columns

    @property
    def id_ledger(self) -> Path:
        """The ledger of unified IDs: the highest ever issued, outside every release."""
        return self.root / LEDGER_NAME

    def reserved_unified_ids(self) -> int:
        """The highest unified ID sequence number the ledger reserves (0: no ledger yet).

        Raises:
            WarehouseError: the ledger exists but cannot be read; guessing could
                issue an ID twice, so the run stops.
        """
        try:
            document = json.loads(self.id_ledger.read_text(encoding="utf-8"))
            highest = int(document["highest_sequence"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as error:
            msg = (
                f"warehouse {self.root}: {LEDGER_NAME} is unreadable ({_reason(error)}); "
                "restore it (it holds the highest unified ID ever issued)"
            )
            raise WarehouseError(msg) from None
        return highest

    def reserve_unified_ids(self, highest: int, *, run_id: str) -> None:
        """Raise the ledger to ``highest`` (never lower it), atomically, before a publish.

        Written to a temporary file, flushed to disk and renamed over the
        ledger: a crash leaves the old ledger or the new one, never half.

        Raises:
            WarehouseError: the ledger cannot be written (full disk, permissions).
        """
        if highest <= self.reserved_unified_ids():
            return
        document = {
            "highest_sequence": highest,
            "highest_unified_id": format_unified_id(highest),
            "run_id": run_id,
            "written_at": _utc_now_text(),
        }
        temporary = self.id_ledger.with_name(f".{LEDGER_NAME}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(document) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.id_ledger)
            _fsync_folder(self.root)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            msg = f"warehouse {self.root}: cannot write {LEDGER_NAME}: {_reason(error)}"
            raise WarehouseError(msg) from None

    def recover_current(self) -> str | None:
        """Point a missing or broken ``current`` at the newest intact release.

        Call it holding :meth:`lock` (which does). A new warehouse (no
        ``current``, no release) is left alone.

        Returns:
            The one-line warning to show when ``current`` was repaired, else None.

        Raises:
            WarehouseError: ``current`` is broken and no release is intact, or
                ``current`` is not a symlink (a folder someone put there).
        """
        current = self.root / "current"
        if current.is_symlink():
            target = Path(os.readlink(current))
            # The current release need only open: a fallback must hold the identity
            # tables, but a release published without them (a first publish of
            # tables alone) is not broken.
            problem = _release_problem(self.root / target, required=frozenset())
            if problem is None:
                _ensure_symlink(self.database, Path("current") / DATABASE_NAME)
                _ensure_symlink(self.parquet_dir, Path("current") / "parquet")
                return None
            problem = f"'current' points to {target}, {problem}"
        elif current.exists():
            msg = f"warehouse {self.root}: 'current' is not a symlink; move it aside"
            raise WarehouseError(msg)
        else:
            target = None
            problem = "'current' is missing"
        candidates = [r for r in self._release_folders() if Path("releases") / r.name != target]
        if target is None and not candidates:
            return None  # a new warehouse
        intact = next((r for r in reversed(candidates) if _release_problem(r) is None), None)
        if intact is None:
            msg = (
                f"warehouse {self.root}: {problem} and none of the {len(candidates)} other "
                "release(s) under releases/ is intact"
            )
            raise WarehouseError(msg)
        try:
            _swap_symlink(current, Path("releases") / intact.name)
            _ensure_symlink(self.database, Path("current") / DATABASE_NAME)
            _ensure_symlink(self.parquet_dir, Path("current") / "parquet")
        except OSError as error:
            msg = f"warehouse {self.root}: {problem}; cannot repair it: {_reason(error)}"
            raise WarehouseError(msg) from None
        newest = f"continuing from {intact.name}, the newest intact release"
        return f"warehouse {self.root}: {problem}; {newest}"

    def _release_folders(self) -> list[Path]:
        """Every release folder, oldest first (staging folders aside)."""
        folder = self.root / "releases"
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def read_run_log(self) -> list[dict[str, object]]:
        """Every logged run, oldest first."""
        if not self.run_log.exists():
            return []
        lines = self.run_log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def append_run_log(self, entry: Mapping[str, object]) -> None:
        """Record one finished run (success or failure).

        Raises:
            WarehouseError: the log cannot be written (full disk, permissions).
        """
        line = json.dumps(dict(entry), ensure_ascii=False, default=str) + "\n"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            faults.checkpoint("run_log:append")
            with self.run_log.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            msg = f"warehouse {self.root}: cannot append to {self.run_log.name}: {_reason(error)}"
            raise WarehouseError(msg) from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[str | None]:
        """Hold the warehouse's run lock; a second concurrent run is refused.

        The kernel drops a ``flock`` when its holder dies, however it dies, so
        a killed run never blocks the next one. The lock file names the
        holder while it runs and is emptied on a clean exit: a name found there
        on acquiring means the previous holder was killed, and it is logged.
        A missing or broken ``current`` is then repaired (:meth:`recover_current`);
        the context's value is its warning line, or None.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / ".lock").open("a+", encoding="utf-8")
        except OSError as error:
            msg = f"warehouse {self.root}: cannot create or open it: {_reason(error)}"
            raise WarehouseError(msg) from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                msg = f"warehouse {self.root} is locked by another fusion run; try again later"
                raise WarehouseError(msg) from None
            handle.seek(0)
            previous = handle.read().strip()
            try:
                if previous:
                    self._log_abandoned(previous)
                recovered = self.recover_current()
                holder = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started_at": _utc_now_text(),
                    "release": self.current_release(),
                }
                _rewrite(handle, json.dumps(holder) + "\n")
            except OSError as error:
                msg = f"warehouse {self.root}: cannot write its lock file: {_reason(error)}"
                raise WarehouseError(msg) from None
            yield recovered
            with contextlib.suppress(OSError):
                _rewrite(handle, "")
        finally:
            handle.close()

    def _log_abandoned(self, holder_text: str) -> None:
        """Log the run that died holding the lock (its lock file still names it)."""
        try:
            holder = json.loads(holder_text)
        except json.JSONDecodeError:
            holder = {}
        release = self.current_release()
        published = release is not None and release != holder.get("release")
        outcome = (
            f"its release {release} had been published but the run was not logged"
            if published
            else "the published release was not changed"
        )
        pid, host = holder.get("pid", "?"), holder.get("host", "?")
        self.append_run_log(
            {
                # A published release names its run; an unpublished run left no trace of its ID.
                "run_id": self._release_run_id(release) if published and release else None,
                "started_at": holder.get("started_at"),
                "finished_at": None,
                "status": "abandoned",
                "rows_in": None,
                "rows_quarantined": None,
                "golden_rows": None,
                "config_hash": None,
                "reason": f"process {pid} on {host} died holding the warehouse lock; {outcome}",
            }
        )

    def _release_run_id(self, release: str) -> str | None:
        """The run that published ``release`` (its ``run_settings``), or None if unreadable."""
        database = self.root / "releases" / release / DATABASE_NAME
        try:
            with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
                row = con.execute("SELECT run_id FROM run_settings LIMIT 1").fetchone()
        except duckdb.Error:
            return None
        return None if row is None else str(row[0])

    def publish(
        self, tables: Mapping[str, ReleaseTable], *, release: str, base: str | None = None
    ) -> Path:
        """Write every table to a new release and make it current atomically.

        Call it holding :meth:`lock`: staging folders of earlier runs are
        removed as leftovers of killed runs. With ``base`` (the name of the
        current release the run read), the new release starts from a copy of
        it, and tables may be :data:`KEPT` or a :class:`TableDelta`; tables of
        the base that ``tables`` does not name are dropped.

        Returns:
            The release folder.

        Raises:
            WarehouseError: the release cannot be written (full disk,
                permissions); the current release is then untouched.
        """
        base_folder = self._base_folder(base, tables)
        releases = self.root / "releases"
        staging = releases / f"{STAGING_PREFIX}{release}"
        final = releases / release
        try:
            faults.checkpoint("publish:start")
            releases.mkdir(parents=True, exist_ok=True)
            for leftover in releases.glob(f"{STAGING_PREFIX}*"):
                shutil.rmtree(leftover)
            (staging / "parquet").mkdir(parents=True)
            _write_release(staging, tables, base=base_folder)
            faults.checkpoint("publish:written")
            staging.rename(final)
            # The stable paths point through `current` (dangling until the first swap).
            _ensure_symlink(self.database, Path("current") / DATABASE_NAME)
            _ensure_symlink(self.parquet_dir, Path("current") / "parquet")
            faults.checkpoint("publish:renamed")
            # The commit point: nothing after it can fail the publish.
            _swap_symlink(self.root / "current", Path("releases") / release)
        except (OSError, duckdb.Error) as error:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            msg = f"warehouse {self.root}: publishing failed: {_reason(error)}"
            raise WarehouseError(msg) from None
        faults.checkpoint("publish:swapped")
        self._prune(keep=final)
        return final

    def _base_folder(self, base: str | None, tables: Mapping[str, ReleaseTable]) -> Path | None:
        """The base release's folder; it must be the current release."""
        partial = [n for n, t in tables.items() if isinstance(t, TableDelta | _Kept | DerivedDelta)]
        if base is None:
            if partial:
                msg = f"tables {partial} are kept or deltas, but no base release was given"
                raise ValueError(msg)
            return None
        if self.current_release() != base:
            msg = (
                f"warehouse {self.root}: release {base} is no longer current "
                f"(now {self.current_release()}); rerun to build on the new release"
            )
            raise WarehouseError(msg)
        folder = self.root / "releases" / base
        with contextlib.closing(duckdb.connect(str(folder / DATABASE_NAME), read_only=True)) as con:
            held = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        missing = sorted(set(partial) - held)
        if missing:
            msg = f"warehouse {self.root}: release {base} lacks tables {missing} to keep or update"
            raise WarehouseError(msg)
        return folder

    def _prune(self, *, keep: Path) -> None:
        """Keep the newest releases and the current one; drop the rest.

        A release a killed run renamed into place but never made current is
        older than the next one and goes with the others.
        """
        current = self.current_release()
        releases = sorted(
            p
            for p in (self.root / "releases").iterdir()
            if p.is_dir() and not p.name.startswith(".")
        )
        for old in releases[:-RELEASES_KEPT]:
            if old != keep and old.name != current:
                shutil.rmtree(old, ignore_errors=True)


def _write_release(
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
            if isinstance(table, _Kept) and kept is not None and kept.is_file():
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


def _zoned_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB names UTC 'Etc/UTC'; frames built in this run say 'UTC'."""
    zoned = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))


def _reason(error: BaseException) -> str:
    """The short cause of an I/O error, e.g. 'No space left on device'."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _rewrite(handle: IO[str], text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()
    os.fsync(handle.fileno())


def _utc_now_text() -> str:
    return str(datetime.now(UTC))


def _release_problem(folder: Path, *, required: frozenset[str] = INTACT_TABLES) -> str | None:
    """What makes a release folder unusable as the base of a run, or None if it is intact."""
    database = folder / DATABASE_NAME
    if not database.is_file():
        return "which does not exist" if not folder.exists() else f"which lacks {DATABASE_NAME}"
    try:
        with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
            held = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    except duckdb.Error as error:
        return f"whose {DATABASE_NAME} does not open ({_reason(error)})"
    missing = sorted(required - held)
    return f"whose {DATABASE_NAME} lacks {', '.join(missing)}" if missing else None


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _swap_symlink(link: Path, target: Path) -> None:
    temporary = link.with_name(f".{link.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


def _ensure_symlink(link: Path, target: Path) -> None:
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    _swap_symlink(link, target)
