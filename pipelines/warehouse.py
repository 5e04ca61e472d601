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
swap leaves the previous release untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from connectors.errors import FusionError

DATABASE_NAME = "golden.duckdb"
RELEASES_KEPT = 3


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
        """Record one finished run (success or failure)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.run_log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(entry), ensure_ascii=False, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the warehouse's run lock; a second concurrent run is refused."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / ".lock").open("a+")
        except OSError as error:
            msg = f"warehouse {self.root}: cannot create or open it: {error.strerror}"
            raise WarehouseError(msg) from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                msg = f"warehouse {self.root} is locked by another fusion run; try again later"
                raise WarehouseError(msg) from None
            yield
        finally:
            handle.close()

    def publish(self, tables: Mapping[str, pl.DataFrame], *, release: str) -> Path:
        """Write every table to a new release and make it current atomically.

        Returns:
            The release folder.
        """
        releases = self.root / "releases"
        staging = releases / f".staging-{release}"
        final = releases / release
        try:
            if staging.exists():
                shutil.rmtree(staging)
            (staging / "parquet").mkdir(parents=True)
            _write_release(staging, tables)
            staging.rename(final)
            _swap_symlink(self.root / "current", Path("releases") / release)
            _ensure_symlink(self.database, Path("current") / DATABASE_NAME)
            _ensure_symlink(self.parquet_dir, Path("current") / "parquet")
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            msg = f"warehouse {self.root}: publishing failed: {error.strerror or error}"
            raise WarehouseError(msg) from None
        self._prune(keep=final)
        return final

    def _prune(self, *, keep: Path) -> None:
        releases = sorted(
            p
            for p in (self.root / "releases").iterdir()
            if p.is_dir() and not p.name.startswith(".")
        )
        for old in releases[:-RELEASES_KEPT]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)


def _write_release(folder: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    database = folder / DATABASE_NAME
    with contextlib.closing(duckdb.connect(str(database))) as con:
        for name, frame in tables.items():
            con.register("incoming", frame.to_arrow())
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
            con.unregister("incoming")
            target = folder / "parquet" / f"{name}.parquet"
            con.execute(f"COPY \"{name}\" TO '{target}' (FORMAT parquet)")
        con.execute("CHECKPOINT")
    with database.open("rb") as handle:
        os.fsync(handle.fileno())


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
