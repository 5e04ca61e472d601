"""Load one configured source: find its files, read, map, de-duplicate.

This is the connectors' one entry point for the pipeline (one asset per
source calls it). Every input row ends up exactly once in ``records`` or in
``quarantine``; the batch checks that before anyone else sees it.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.config import SourceConfig
from connectors.errors import ConfigError, SourceReadError
from connectors.mapping import map_to_canonical, quarantine_duplicates, split_mapped
from connectors.paths import outside_roots
from connectors.readers import RawFrame
from connectors.readers.csv_reader import read_csv
from connectors.readers.excel_reader import read_excel
from connectors.readers.jsonl_reader import read_jsonl
from connectors.readers.parquet_reader import read_parquet


@dataclass(frozen=True)
class SourceBatch:
    """One source's rows after mapping.

    Attributes:
        records: Good rows, ``connectors.canonical.CANONICAL_SCHEMA``.
        quarantine: Rejected rows with their reasons, ``QUARANTINE_SCHEMA``,
            ordered by file then row.
        rows_in: Data rows read from all files (headers and blank lines excluded).
        files: The files read, as named in ``source_file``, in read order.
    """

    records: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    files: tuple[str, ...]


def load_source(source: SourceConfig) -> SourceBatch:
    """Read every file of a source and map it to canonical records.

    Files of a glob are read in sorted order; a record id repeated across
    them is de-duplicated like one repeated within a file.

    Raises:
        SourceReadError: no file matches, or a file cannot be read at all.
        SchemaDriftError: a file lacks a column the config maps.

    Example:
        >>> batch = load_source(source)  # doctest: +SKIP
        >>> batch.rows_in == batch.records.height + batch.quarantine.height  # doctest: +SKIP
        True
    """
    files = source_files(source)
    frames: list[pl.DataFrame] = []
    rows_in = 0
    for path, source_file in files:
        raw = _read(path, source=source, source_file=source_file)
        rows_in += raw.rows_in
        frames.append(map_to_canonical(raw, source=source, source_file=source_file))
    records, quarantine = split_mapped(quarantine_duplicates(pl.concat(frames)))
    assert rows_in == records.height + quarantine.height, (
        f"source {source.name!r}: {rows_in} rows in, {records.height} records "
        f"+ {quarantine.height} quarantined"
    )
    return SourceBatch(
        records=records,
        quarantine=quarantine,
        rows_in=rows_in,
        files=tuple(source_file for _, source_file in files),
    )


def source_files(source: SourceConfig) -> tuple[tuple[Path, str], ...]:
    """The files a source names: ``(path to open, name for source_file)``.

    A plain path keeps its text as written; a glob match is named relative to
    the config's folder (or absolute, when the pattern is).

    Raises:
        SourceReadError: nothing matches.
        ConfigError: a file resolves (symlinks followed) outside the source's
            data roots; checked here again because links change after validation.
    """
    if not source.is_glob:
        _check_inside_roots(source.resolved_path, source=source, shown=source.path)
        if not source.resolved_path.is_file():
            msg = f"source {source.name!r}: file not found: {source.resolved_path.as_posix()}"
            raise SourceReadError(msg)
        return ((source.resolved_path, source.path),)
    absolute = Path(source.path).is_absolute()
    root = "" if absolute else glob.escape(str(source.base_dir))
    pattern = os.path.join(root, source.path)
    matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not matches:
        msg = f"source {source.name!r}: no file matches {source.resolved_path.as_posix()!r}"
        raise SourceReadError(msg)
    files = tuple(
        (Path(m), Path(m if absolute else os.path.relpath(m, source.base_dir)).as_posix())
        for m in matches
    )
    for path, shown in files:
        _check_inside_roots(path, source=source, shown=shown)
    return files


def _check_inside_roots(path: Path, *, source: SourceConfig, shown: str) -> None:
    problem = outside_roots(path, roots=source.allowed_roots)
    if problem is not None:
        msg = f"source {source.name!r}: key 'path': {shown!r} {problem}"
        raise ConfigError(msg)


def _read(path: Path, *, source: SourceConfig, source_file: str) -> RawFrame:
    """Run the format's reader; file-level failures name source and file."""
    try:
        match source.format:
            case "csv":
                return read_csv(path, encoding=source.encoding, delimiter=source.delimiter)
            case "jsonl":
                return read_jsonl(path, encoding=source.encoding)
            case "parquet":
                return read_parquet(path)
            case "excel":
                return read_excel(path, sheet=source.sheet)
    except (OSError, SourceReadError, pl.exceptions.PolarsError) as exc:
        where = (source.base_dir / source_file).as_posix()
        # Library messages may carry a multi-line context: the CLI shows one line.
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"source {source.name!r}: cannot read {where}: {cause}"
        # The cause is in the message; chaining it would make it the reason shown.
        raise SourceReadError(msg) from None
