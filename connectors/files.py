"""The files a config entry names, and reading one with its format's reader.

Sources (``connectors.load``) and fact sources (``connectors.facts``) name
their files the same way (a path or a glob under the config's folder, never
resolving outside the allowed roots) and read them with the same readers;
both go through here, so a path rule or a read error reads the same for both.
"""

from __future__ import annotations

import errno
import glob
import os
from pathlib import Path
from typing import Protocol

import polars as pl

from connectors.config import FileFormat
from connectors.errors import ConfigError, SourceReadError
from connectors.paths import GLOB_CHARS, outside_roots
from connectors.readers import RawFrame, binary_container
from connectors.readers.csv_reader import read_csv
from connectors.readers.excel_reader import read_excel
from connectors.readers.jsonl_reader import read_jsonl
from connectors.readers.parquet_reader import read_parquet

# Formats read as decoded text: a binary file declared as one of them is named as what it is.
TEXT_FORMATS = ("csv", "jsonl")


class FileEntry(Protocol):
    """What a config entry that reads files declares (``SourceConfig``, ``FactConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def base_dir(self) -> Path: ...
    @property
    def allowed_roots(self) -> tuple[Path, ...]: ...
    @property
    def format(self) -> FileFormat: ...
    @property
    def encoding(self) -> str: ...
    @property
    def delimiter(self) -> str: ...
    @property
    def sheet(self) -> str | None: ...


def entry_files(entry: FileEntry, *, kind: str) -> tuple[tuple[Path, str], ...]:
    """The files an entry names: ``(path to open, name for source_file)``.

    A plain path keeps its text as written; a glob match is named relative to
    the config's folder (or absolute, when the pattern is). ``kind`` ('source',
    'fact') starts every error message.

    Raises:
        SourceReadError: nothing matches.
        ConfigError: a file resolves (symlinks followed) outside the entry's
            data roots; checked here again because links change after validation.

    Example:
        >>> entry_files(source, kind="source")  # doctest: +SKIP
        ((PosixPath('data/samples/crm_customers.csv'), 'crm_customers.csv'),)
    """
    label = f"{kind} {entry.name!r}"
    if not GLOB_CHARS.search(entry.path):
        path = entry.base_dir / entry.path
        _check_inside_roots(path, entry=entry, label=label, shown=entry.path)
        if not path.is_file():
            msg = f"{label}: file not found: {path.as_posix()}"
            raise SourceReadError(msg)
        return ((path, entry.path),)
    absolute = Path(entry.path).is_absolute()
    root = "" if absolute else glob.escape(str(entry.base_dir))
    pattern = os.path.join(root, entry.path)
    matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not matches:
        msg = f"{label}: no file matches {(entry.base_dir / entry.path).as_posix()!r}"
        raise SourceReadError(msg)
    files = tuple(
        (Path(m), Path(m if absolute else os.path.relpath(m, entry.base_dir)).as_posix())
        for m in matches
    )
    for path, shown in files:
        _check_inside_roots(path, entry=entry, label=label, shown=shown)
    return files


def _check_inside_roots(path: Path, *, entry: FileEntry, label: str, shown: str) -> None:
    problem = outside_roots(path, roots=entry.allowed_roots)
    if problem is not None:
        msg = f"{label}: key 'path': {shown!r} {problem}"
        raise ConfigError(msg)


def read_entry_file(path: Path, *, entry: FileEntry, kind: str, source_file: str) -> RawFrame:
    """Run the entry's format reader on one file; a file-level failure names entry and file.

    A compressed file, an archive or a workbook declared as a text format is
    named as what it is (``source 'crm': .../crm.csv is gzip-compressed, not
    csv text (key 'format'): decompress it first (gunzip)``) rather than
    failing later as bytes invalid in the declared encoding.
    """
    where = (entry.base_dir / source_file).as_posix()
    label = f"{kind} {entry.name!r}"
    try:
        container = binary_container(path) if entry.format in TEXT_FORMATS else None
    except OSError as exc:
        raise SourceReadError(f"{label}: cannot read {where}: {_os_reason(exc)}") from None
    if container is not None:
        what, advice = container
        msg = f"{label}: {where} is {what}, not {entry.format} text (key 'format'): {advice}"
        raise SourceReadError(msg)
    try:
        match entry.format:
            case "csv":
                return read_csv(path, encoding=entry.encoding, delimiter=entry.delimiter)
            case "jsonl":
                return read_jsonl(path, encoding=entry.encoding)
            case "parquet":
                return read_parquet(path)
            case "excel":
                return read_excel(path, sheet=entry.sheet)
    except LookupError:
        # Validation refuses unknown codecs; a codec can still vanish (a plugin uninstalled).
        msg = f"{label}: key 'encoding': unknown encoding {entry.encoding[:40]!r} reading {where}"
        raise SourceReadError(msg) from None
    except OSError as exc:
        raise SourceReadError(f"{label}: cannot read {where}: {_os_reason(exc)}") from None
    except (SourceReadError, pl.exceptions.PolarsError) as exc:
        # Library messages may carry a multi-line context: the CLI shows one line.
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"{label}: cannot read {where}: {cause}"
        # The cause is in the message; chaining it would make it the reason shown.
        raise SourceReadError(msg) from None


def _os_reason(exc: OSError) -> str:
    """An OS error as one line, with what to do where the cause is the machine, not the file."""
    reason = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if exc.errno == errno.ENOSPC:
        reason += " (the disk is full: free space and run again)"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason += " (check the file's permissions)"
    return reason
