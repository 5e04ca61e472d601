"""The published warehouse: atomic releases of a DuckDB file and Parquet mirrors.

Layout of a warehouse folder ``DIR``::

    DIR/releases/<release>/golden.duckdb      one complete, immutable release
    DIR/releases/<release>/parquet/<t>.parquet
    DIR/current -> releases/<release>          swapped atomically on publish
    DIR/golden.duckdb -> current/golden.duckdb (stable paths for analysts)
    DIR/parquet -> current/parquet
    DIR/run_log.jsonl                          every run, failed ones included

A release is written completely in a staging folder, then made current by
one ``rename`` of a symlink, which POSIX makes atomic: a reader sees the old
release or the new one, never half of each, and a run that dies before the
swap leaves the previous release untouched. What a killed run leaves behind
(a staging folder, a release that never became current) is cleared by the
next publish; the lock file names its holder, so the next run also logs the
killed one as ``abandoned``. RELIABILITY.md has the kill tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import duckdb
import polars as pl

from connectors.errors import FusionError
from pipelines import faults

DATABASE_NAME = "golden.duckdb"
RELEASES_KEPT = 3
STAGING_PREFIX = ".staging-"


class WarehouseError(FusionError):
    """The warehouse folder cannot be read, locked or written."""


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

    def current_release(self) -> str | None:
        """Name of the current release, or None before the first publish."""
        current = self.root / "current"
        if not current.is_symlink():
            return None
        return Path(os.readlink(current)).name

    def exists(self) -> bool:
        """Whether a release has been published here."""
        return self.database.exists()

    def read_table(self, table: str) -> pl.DataFrame | None:
        """A table of the current release, or None when there is none."""
        if not self.exists():
            return None
        with contextlib.closing(duckdb.connect(str(self.database), read_only=True)) as con:
            names = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            if table not in names:
                return None
            frame = con.sql(f'SELECT * FROM "{table}"').pl()
        # DuckDB names UTC 'Etc/UTC'; frames built in this run say 'UTC'.
        zoned = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
        return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))

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
    def lock(self) -> Iterator[None]:
        """Hold the warehouse's run lock; a second concurrent run is refused.

        The kernel drops a ``flock`` when its holder dies, however it dies, so
        a killed run never blocks the next one. The lock file names the
        holder while it runs and is emptied on a clean exit: a name found there
        on acquiring means the previous holder was killed, and it is logged.
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
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": _utc_now_text(),
                "release": self.current_release(),
            }
            try:
                if previous:
                    self._log_abandoned(previous)
                _rewrite(handle, json.dumps(holder) + "\n")
            except OSError as error:
                msg = f"warehouse {self.root}: cannot write its lock file: {_reason(error)}"
                raise WarehouseError(msg) from None
            yield
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
        outcome = (
            "the published release was not changed"
            if release == holder.get("release")
            else f"its release {release} had been published but the run was not logged"
        )
        pid, host = holder.get("pid", "?"), holder.get("host", "?")
        self.append_run_log(
            {
                "run_id": None,
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

    def publish(self, tables: Mapping[str, pl.DataFrame], *, release: str) -> Path:
        """Write every table to a new release and make it current atomically.

        Call it holding :meth:`lock`: staging folders of earlier runs are
        removed as leftovers of killed runs.

        Returns:
            The release folder.

        Raises:
            WarehouseError: the release cannot be written (full disk,
                permissions); the current release is then untouched.
        """
        releases = self.root / "releases"
        staging = releases / f"{STAGING_PREFIX}{release}"
        final = releases / release
        try:
            faults.checkpoint("publish:start")
            releases.mkdir(parents=True, exist_ok=True)
            for leftover in releases.glob(f"{STAGING_PREFIX}*"):
                shutil.rmtree(leftover)
            (staging / "parquet").mkdir(parents=True)
            _write_release(staging, tables)
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


def _write_release(folder: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    database = folder / DATABASE_NAME
    with contextlib.closing(duckdb.connect(str(database))) as con:
        for position, (name, frame) in enumerate(tables.items()):
            if position == len(tables) // 2:
                faults.checkpoint("publish:mid_write")
            con.register("incoming", frame.to_arrow())
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
            con.unregister("incoming")
            target = folder / "parquet" / f"{name}.parquet"
            con.execute(f"COPY \"{name}\" TO '{target}' (FORMAT parquet)")
        con.execute("CHECKPOINT")
    with database.open("rb") as handle:
        os.fsync(handle.fileno())


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
