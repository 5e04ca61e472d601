"""The warehouse folder: its releases, run log, lock, unified ID ledger and scratch space."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
from deltalake.exceptions import DeltaError

from pipelines import faults
from pipelines.warehouse.catalog import (
    MANIFEST_NAME,
    Manifest,
    TableVersion,
    read_manifest,
    write_manifest,
)
from pipelines.warehouse.delta import overwrite_table, unsigned_columns
from pipelines.warehouse.errors import WarehouseError
from pipelines.warehouse.files import (
    ensure_symlink,
    error_reason,
    rewrite_file,
    swap_symlink,
    utc_now_text,
)
from pipelines.warehouse.ledger import UnifiedIdLedger
from pipelines.warehouse.spill import SpillFolder
from pipelines.warehouse.tables import DerivedDelta, Kept, ReleaseTable, TableDelta
from pipelines.warehouse.writer import (
    ARROW_LEVEL,
    DATABASE_NAME,
    MERGE_MEMORY,
    PUBLISH_MEMORY,
    write_release,
    zoned_utc,
)

# A release is intact when its database opens and holds these (the identity a run carries on).
INTACT_TABLES = frozenset({"golden_customer", "customer_xref", "unified_id_history"})
RELEASES_KEPT = 3
STAGING_PREFIX = ".staging-"
SCRATCH_DIR = ".scratch"
# A scratch folder this old belongs to a run that was killed (a run's scratch
# goes when it ends, published or failed); younger ones may be another run's, still going.
SCRATCH_MAX_AGE_S = 24 * 3600
STEP_OUTPUTS_SUFFIX = ".step_outputs"
DELTA_DIR = "delta"
# Beside the Delta tables: every published release's manifest, kept when its folder is pruned.
HISTORY_DIR = "_releases"


@dataclass(frozen=True)
class Warehouse(UnifiedIdLedger):
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
        """Where run ``run_id`` spills its large tables until it ends (``warehouse.spill``)."""
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
        return zoned_utc(frame)

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
        return zoned_utc(frame)

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
        parts = self.rows_plus_parts(
            table, release=release, keep=keep, new=new, order_by=order_by, memory=MERGE_MEMORY
        )
        merged = pl.concat(list(parts), rechunk=False)
        assert isinstance(merged, pl.DataFrame)
        return merged

    def rows_plus_parts(
        self,
        table: str,
        *,
        release: str,
        keep: pl.DataFrame,
        new: pl.DataFrame,
        order_by: Sequence[str],
        memory: str = MERGE_MEMORY,
    ) -> Iterator[pl.DataFrame]:
        """``rows_plus``'s rows, part by part as DuckDB's batches come (at least one part).

        A caller writing each part away (``SpillFolder.write_parts``) never
        holds the whole table; DuckDB sorts within ``memory`` and spills past it.
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
            con.execute(f"SET memory_limit = '{memory}'")
            con.execute(f"SET temp_directory = '{spill}'")
            con.register("kept_keys", keep.to_arrow(compat_level=ARROW_LEVEL))
            con.register("new_rows", new.to_arrow(compat_level=ARROW_LEVEL))
            reader = con.sql(query).to_arrow_reader()
            empty = True
            for batch in reader:
                part = pl.from_arrow(pa.Table.from_batches([batch]))
                assert isinstance(part, pl.DataFrame)
                empty = False
                yield zoned_utc(part).cast(new.schema)  # type: ignore[arg-type]
            if empty:
                yield new.clear()

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
        return zoned_utc(result)

    def query_through_file(
        self,
        sql: str,
        *,
        frames: Mapping[str, pl.DataFrame],
        read: Callable[[pl.LazyFrame], pl.DataFrame],
        memory: str = PUBLISH_MEMORY,
    ) -> pl.DataFrame | None:
        """``query``'s result, written to a scratch Parquet file by DuckDB and ``read`` from it.

        For a large result read in a smaller form (text made categorical, say):
        DuckDB writes it within ``memory``, and polars reads it into its own
        buffers. Fetched as Arrow batches instead, 6.5M stored pairs at 1M
        records left the process 1.9 GiB larger for a 0.65 GiB frame. None as
        for ``query``.
        """
        if not self.exists():
            return None
        with (
            tempfile.TemporaryDirectory(prefix=".query-", dir=self.root) as folder,
            contextlib.closing(duckdb.connect(str(self.database), read_only=True)) as con,
        ):
            con.execute(f"SET memory_limit = '{memory}'")
            con.execute(f"SET temp_directory = '{folder}'")
            for name, frame in frames.items():
                con.register(name, frame.to_arrow(compat_level=ARROW_LEVEL))
            path = Path(folder) / "result.parquet"
            try:
                con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
            except duckdb.CatalogException:
                return None
            result = read(pl.scan_parquet(path))
        return zoned_utc(result)

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
                ensure_symlink(self.database, Path("current") / DATABASE_NAME)
                ensure_symlink(self.parquet_dir, Path("current") / "parquet")
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
            swap_symlink(current, Path("releases") / intact.name)
            ensure_symlink(self.database, Path("current") / DATABASE_NAME)
            ensure_symlink(self.parquet_dir, Path("current") / "parquet")
        except OSError as error:
            msg = f"warehouse {self.root}: {problem}; cannot repair it: {error_reason(error)}"
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
            reason = error_reason(error)
            msg = f"warehouse {self.root}: cannot append to {self.run_log.name}: {reason}"
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
            msg = f"warehouse {self.root}: cannot create or open it: {error_reason(error)}"
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
                    "started_at": utc_now_text(),
                    "release": self.current_release(),
                }
                rewrite_file(handle, json.dumps(holder) + "\n")
            except OSError as error:
                msg = f"warehouse {self.root}: cannot write its lock file: {error_reason(error)}"
                raise WarehouseError(msg) from None
            yield recovered
            with contextlib.suppress(OSError):
                rewrite_file(handle, "")
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
        """Write every table's Delta version and a release naming them; make it current atomically.

        Call it holding :meth:`lock`: staging folders of earlier runs are
        removed as leftovers of killed runs. With ``base`` (the name of the
        current release the run read), tables may be :data:`KEPT` (the base's
        version is reused) or a :class:`TableDelta` / :class:`DerivedDelta`
        (only the changed rows are written); tables of the base that ``tables``
        does not name are dropped from the release.

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
            staging.mkdir(parents=True)
            base_manifest = None if base_folder is None else self._base_manifest(base_folder)
            manifest = write_release(
                staging, tables, lake=self.lake, release=release, base=base_manifest
            )
            faults.checkpoint("publish:written")
            staging.rename(final)
            # The stable paths point through `current` (dangling until the first swap).
            ensure_symlink(self.database, Path("current") / DATABASE_NAME)
            ensure_symlink(self.parquet_dir, Path("current") / "parquet")
            faults.checkpoint("publish:renamed")
            # The commit point: nothing after it can fail the publish.
            swap_symlink(self.root / "current", Path("releases") / release)
        except (OSError, duckdb.Error, DeltaError, pa.ArrowException) as error:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            msg = f"warehouse {self.root}: publishing failed: {error_reason(error)}"
            raise WarehouseError(msg) from None
        faults.checkpoint("publish:swapped")
        with contextlib.suppress(OSError):
            self._remember(manifest)
        self._prune(keep=final)
        return final

    @property
    def lake(self) -> Path:
        """The Delta tables, one folder per published table (absolute: catalogs name its files)."""
        return self.root.absolute() / DELTA_DIR

    def manifest(self, release: str) -> Manifest | None:
        """Which Delta version of each table makes up ``release``; None if it is not known.

        A kept release answers from its folder; an older one from the copy of
        its manifest kept beside the Delta tables (``delta/_releases/``).
        """
        kept = read_manifest(self.root / "releases" / release)
        if kept is not None:
            return kept
        return read_manifest(self.lake / HISTORY_DIR / f"{release}.json")

    def known_releases(self) -> list[str]:
        """Every release whose manifest is kept, oldest first (what ``--as-of`` can name)."""
        history = self.lake / HISTORY_DIR
        remembered = {p.stem for p in history.glob("*.json")} if history.is_dir() else set()
        kept = {p.name for p in self._release_folders() if (p / MANIFEST_NAME).is_file()}
        return sorted(remembered | kept)

    def _remember(self, manifest: Manifest) -> None:
        """Keep a published release's manifest after its folder is pruned (time travel)."""
        write_manifest(self.lake / HISTORY_DIR / f"{manifest.release}.json", manifest)

    def _base_manifest(self, folder: Path) -> Manifest:
        """The base release's manifest; a release from before Delta is converted first.

        Such a release holds its tables in its DuckDB file: each becomes a
        version of its Delta table (once; the next release names them).
        """
        manifest = read_manifest(folder)
        if manifest is not None:
            # A run killed between its swap and remembering its release left it out.
            if not (self.lake / HISTORY_DIR / f"{manifest.release}.json").is_file():
                with contextlib.suppress(OSError):
                    self._remember(manifest)
            return manifest
        tables: dict[str, TableVersion] = {}
        database = folder / DATABASE_NAME
        with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
            for (name,) in con.execute("SHOW TABLES").fetchall():
                rows = con.sql(f'SELECT * FROM "{name}"').to_arrow_reader()
                path = self.lake / name
                version = overwrite_table(path, rows)
                unsigned = unsigned_columns(rows.schema)
                tables[name] = TableVersion.of(path, version, unsigned=unsigned)
        return Manifest(folder.name, tables)

    def _base_folder(self, base: str | None, tables: Mapping[str, ReleaseTable]) -> Path | None:
        """The base release's folder; it must be the current release."""
        partial = [n for n, t in tables.items() if isinstance(t, TableDelta | Kept | DerivedDelta)]
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


def _release_problem(folder: Path, *, required: frozenset[str] = INTACT_TABLES) -> str | None:
    """What makes a release folder unusable as the base of a run, or None if it is intact."""
    database = folder / DATABASE_NAME
    if not database.is_file():
        return "which does not exist" if not folder.exists() else f"which lacks {DATABASE_NAME}"
    try:
        with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
            held = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    except duckdb.Error as error:
        return f"whose {DATABASE_NAME} does not open ({error_reason(error)})"
    missing = sorted(required - held)
    return f"whose {DATABASE_NAME} lacks {', '.join(missing)}" if missing else None
