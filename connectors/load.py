"""Load one configured source: find its files, read, map, de-duplicate.

This is the connectors' one entry point for the pipeline (one asset per
source calls it). Every input row ends up exactly once in ``records`` or in
``quarantine``; the batch checks that before anyone else sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from connectors.config import SourceConfig
from connectors.errors import SourceReadError
from connectors.files import entry_files, read_entry_file
from connectors.mapping import (
    REJECTIONS,
    map_to_canonical,
    quarantine_duplicates,
    split_mapped,
)
from connectors.readers import RawFrame
from connectors.repeated_text import with_shared_text
from connectors.split import (
    check_split_not_empty,
    read_split_file,
    rows_of_split,
    with_unknown_values_quarantined,
)
from connectors.time_window import (
    TimestampWindow,
    empty_value_rejections,
    kept_rejections,
    reject_implausible_timestamps,
)

# One column map per combination of filled columns, the same file name per file:
# at 1M records the map's JSON text alone held ~170 MiB, once per record.
REPEATED_RECORD_TEXT = ("source_columns", "source_file")


@dataclass(frozen=True)
class SourceBatch:
    """One source's rows after mapping.

    Attributes:
        records: Good rows, ``connectors.canonical.CANONICAL_SCHEMA``.
        quarantine: Rejected rows with their reasons, ``QUARANTINE_SCHEMA``,
            ordered by file then row.
        rows_in: Data rows read from all files (headers and blank lines excluded).
        files: The files read, as named in ``source_file``, in read order.
        value_rejections: Values dropped from kept records (a timestamp outside
            the run's window), ``connectors.time_window.VALUE_REJECTIONS_SCHEMA``.
    """

    records: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    files: tuple[str, ...]
    value_rejections: pl.DataFrame = field(default_factory=empty_value_rejections)


def load_source(source: SourceConfig, *, window: TimestampWindow | None = None) -> SourceBatch:
    """Read every file of a source and map it to canonical records.

    Files of a glob are read in sorted order; a record id repeated across
    them is de-duplicated like one repeated within a file. With ``window``
    (the run's clock), an ``updated_at`` outside it is dropped from its record
    before duplicates are resolved, so a year-9999 row never wins as the
    latest, and is listed in ``value_rejections``. A source made by
    ``split_by`` takes its value's rows of each file (``connectors.split``).

    Raises:
        SourceReadError: no file matches, a file cannot be read at all, or a
            file has no data rows while the source does not ``allow_empty``.
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
        if source.split is None:
            raw = read_entry_file(path, entry=source, kind="source", source_file=source_file)
            rows, unknown = raw, None
        else:
            raw = read_split_file(path, source=source, source_file=source_file)
            split = rows_of_split(raw, source=source)
            rows, unknown = split.raw, split.unknown
        rows_in += rows.rows_in
        # Mapped first: a header that lost a mapped column is drift, whether rows follow or not.
        mapped_file = map_to_canonical(rows, source=source, source_file=source_file)
        if unknown is not None:
            mapped_file = with_unknown_values_quarantined(mapped_file, unknown)
        frames.append(mapped_file)
        check_not_empty(raw, source=source, source_file=source_file)
    check_split_not_empty(source, rows_in=rows_in, files=tuple(f for _, f in files))
    mapped = pl.concat(frames)
    rejected = [field_rejections(mapped)]
    if window is not None:
        mapped, in_future = reject_implausible_timestamps(mapped, source=source, window=window)
        rejected.append(in_future)
    records, quarantine = split_mapped(quarantine_duplicates(mapped))
    records = with_shared_text(records, REPEATED_RECORD_TEXT)
    assert rows_in == records.height + quarantine.height, (
        f"source {source.name!r}: {rows_in} rows in, {records.height} records "
        f"+ {quarantine.height} quarantined"
    )
    return SourceBatch(
        records=records,
        quarantine=quarantine,
        rows_in=rows_in,
        files=tuple(source_file for _, source_file in files),
        value_rejections=kept_rejections(pl.concat(rejected, how="diagonal_relaxed"), records),
    )


def field_rejections(mapped: pl.DataFrame) -> pl.DataFrame:
    """The values dropped from each mapped row, one row each (as ``reject_implausible_timestamps``).

    Rows that are quarantined are dropped later by ``kept_rejections``: only a
    kept record has values to lose.
    """
    entries = mapped.select(
        "source_system", "source_file", "source_record_id", "row_number", REJECTIONS
    ).filter(pl.col(REJECTIONS).is_not_null())
    return entries.explode(REJECTIONS).unnest(REJECTIONS)


def check_not_empty(raw: RawFrame, *, source: SourceConfig, source_file: str) -> None:
    """Refuse a file without data rows (empty, header only, blank lines) unless allowed.

    An empty export is far more often a failed or truncated extract than a
    source that lost every customer, and loading it would retire them all.
    Each file of a glob is checked on its own: an empty monthly file is as
    suspicious as an empty single export.

    Raises:
        SourceReadError: e.g. ``source 'crm': data/crm.csv has no data rows
            (empty or header only); set 'allow_empty: true' if it may be empty``.
    """
    if raw.rows_in > 0 or source.allow_empty:
        return
    where = (source.base_dir / source_file).as_posix()
    msg = (
        f"source {source.name!r}: {where} has no data rows (empty or header only); "
        "set 'allow_empty: true' on the source if it may be empty"
    )
    raise SourceReadError(msg)


def source_files(source: SourceConfig) -> tuple[tuple[Path, str], ...]:
    """The files a source names: ``(path to open, name for source_file)``.

    See ``connectors.files.entry_files`` (shared with fact sources).
    """
    return entry_files(source, kind="source")
