"""``split_by``: one export file, one source per distinct value of a column.

Some exports concatenate several lists and name each row's list in a column
(``Source``); each list deserves its own source name and trust. The split is
expanded when the config is read (:func:`split_sources`, called by
``parse_sources``), so every later step (the per-source Dagster assets and
quality suites, ``customer_xref.source_system``, trust in survivorship,
``fusion check-config``) sees ordinary sources. That needs the column's values
before any load: the file is read with the source's own reader, the one a load
uses, so the values a run routes rows by are exactly the ones the config saw
(a cheaper reader could split quoted line breaks or a stray quote differently).

A value becomes ``{source}_{slug}`` (:func:`slug`) with the entry's trust, or
takes the name and trust ``split_by.sources`` gives it. The entry's own name
is the remainder: rows whose value is empty, and reader-rejected rows whose
value cannot be read with certainty. A value that appears after the config was
read has no source; its rows go to the remainder, quarantined with a reason,
so every row of a file is in exactly one source's records or quarantine.

Example:
    >>> slug("Family Child Care (2012).csv")
    'family_child_care_2012_csv'
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from connectors.config import (
    DEFAULT_TRUST,
    TRUST_DEFAULT_KEY,
    SourceConfig,
    SplitPart,
    SplitTarget,
    parse_sources,
)
from connectors.config_yaml import excerpt
from connectors.errors import ConfigError, FusionError, SourceReadError
from connectors.files import entry_files, read_entry_file
from connectors.mapping import REASON_SEPARATOR, readable_failure_cells
from connectors.readers import RawFrame
from connectors.record_ids import normalise_record_id, normalised_record_id

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# Values shown in a message about a column's values.
_VALUES_SHOWN = 5


def slug(value: str) -> str:
    """A value as a source-name suffix: lower-case ASCII letters, digits and underscores.

    Accents are dropped (``Café`` -> ``cafe``); a value with no ASCII letter
    or digit (Chinese text) has an empty slug and needs a name in the config.

    Example:
        >>> slug("ECE Chicago Find a School"), slug("Crèche Müller"), slug("家庭托儿所")
        ('ece_chicago_find_a_school', 'creche_muller', '')
    """
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("_", ascii_text.lower()).strip("_")


def parse_split_sources(
    raw: Sequence[Any], *, base_dir: Path, data_roots: Sequence[Path] = ()
) -> tuple[SourceConfig, ...]:
    """``connectors.config.parse_sources`` with ``split_by`` entries split into their sources."""
    return parse_sources(raw, base_dir=base_dir, data_roots=data_roots, split=split_sources)


def split_sources(source: SourceConfig) -> tuple[SourceConfig, ...]:
    """The sources a ``split_by`` entry stands for, one per value, then the remainder.

    Values named in ``split_by.sources`` come first, in that order, then the
    others sorted ignoring case (the order rows appear in does not reorder the sources); the
    remainder, named as the entry, comes last and may be empty.

    Raises:
        ConfigError: the files cannot be read, lack the column, a value of
            ``split_by.sources`` is not in them (unless ``allow_empty``), a value
            has an empty slug and no name, or two values have one slug.
    """
    spec = source.split_by
    assert spec is not None
    where = f"source {source.name!r}"
    found = _values_in_files(source, where=where)
    missing = [v for v in spec.sources if v not in found]
    if missing and not source.allow_empty:
        shown = ", ".join(excerpt(v) for v in sorted(found)[:_VALUES_SHOWN])
        msg = (
            f"{where}: key 'split_by.sources': value {excerpt(missing[0])} is not in column "
            f"{spec.column!r} (found: {shown}{', ...' if len(found) > _VALUES_SHOWN else ''}); "
            "set 'allow_empty: true' if the list may be absent"
        )
        raise ConfigError(msg)
    values = (*spec.sources, *sorted(found - set(spec.sources), key=lambda v: (v.casefold(), v)))
    made_by: dict[str, str | None] = {source.name: None}  # source name -> value (None: remainder)
    parts: list[tuple[str, dict[str, float], str | None]] = []
    for value in values:
        target = spec.sources.get(value, SplitTarget())
        name = target.name or f"{source.name}_{_value_slug(value, where=where, column=spec.column)}"
        if name in made_by:
            other = made_by[name]
            taken = (
                f"as does value {excerpt(other)}"
                if other is not None
                else "the name of the source of rows without a value"
            )
            msg = (
                f"{where}: key 'split_by': value {excerpt(value)} of column {spec.column!r} "
                f"makes source {name!r}, {taken}; name one in 'split_by.sources'"
            )
            raise ConfigError(msg)
        made_by[name] = value
        trust = source.trust if target.trust is None else target.trust
        parts.append((name, {TRUST_DEFAULT_KEY: DEFAULT_TRUST, **trust}, value))
    parts.append((source.name, source.trust, None))
    return tuple(
        source.model_copy(
            update={
                "name": name,
                "trust": trust,
                "split_by": None,
                "split": SplitPart(column=spec.column, value=value, values=values),
            }
        )
        for name, trust, value in parts
    )


def _value_slug(value: str, *, where: str, column: str) -> str:
    suffix = slug(value)
    if not suffix:
        msg = (
            f"{where}: key 'split_by': value {excerpt(value)} of column {column!r} has no "
            "letters or digits for a source name; name it in 'split_by.sources'"
        )
        raise ConfigError(msg)
    return suffix


def _values_in_files(source: SourceConfig, *, where: str) -> set[str]:
    """The distinct non-empty values of the split column in the entry's files."""
    column = source.split_column
    assert column is not None
    found: set[str] = set()
    try:
        for path, source_file in entry_files(source, kind="source"):
            raw = read_entry_file(path, entry=source, kind="source", source_file=source_file)
            if column not in raw.data.columns and raw.rows_in:
                file = (source.base_dir / source_file).as_posix()
                msg = f"{where}: key 'split_by': column {column!r} not found in {file}"
                raise ConfigError(msg)
            if column in raw.data.columns:
                cells = raw.data.select(normalised_record_id(pl.col(column)).unique().drop_nulls())
                found.update(cells.to_series().to_list())
    except ConfigError:
        raise
    except FusionError as error:
        cause = str(error).removeprefix(f"source {source.name!r}: ")
        msg = (
            f"{where}: key 'split_by': the sources are the values of column {column!r}, and {cause}"
        )
        raise ConfigError(msg) from None
    return found


@dataclass(frozen=True)
class SplitRows:
    """One file's rows that a split source takes.

    Attributes:
        raw: The rows, as the reader gave them (``row_number`` as in the file).
        unknown: ``row_number`` -> reason, for rows the remainder quarantines
            because their value has no source (it appeared after the config
            was read).
    """

    raw: RawFrame
    unknown: pl.DataFrame


def rows_of_split(raw: RawFrame, *, source: SourceConfig) -> SplitRows:
    """The rows of one file that ``source`` (made by ``split_by``) takes.

    A read row goes by its value; a row the reader rejected goes by its value
    where the row shows it for certain (``readable_failure_cells``), else to the
    remainder, as does a row whose value is empty.
    """
    part = source.split
    assert part is not None
    value = normalised_record_id(pl.col(part.column))
    failed_values = readable_failure_cells(raw, column=part.column, source=source)
    failed = pl.Series([normalise_record_id(v) for v in failed_values.to_list()], dtype=pl.String)
    if part.value is not None:
        keep = value == part.value
        keep_failed = failed == part.value
    else:
        keep = ~value.is_in(part.values).fill_null(False)
        keep_failed = ~failed.is_in(part.values).fill_null(False)
    positions = raw.data.with_row_index("_position").filter(keep).get_column("_position")
    data = raw.data[positions]
    split = RawFrame(
        data=data,
        row_number=raw.row_number.gather(positions),
        raw=raw.raw.gather(positions),
        failures=raw.failures.filter(keep_failed),
    )
    # Rows with a value the remainder takes have a value without a source.
    with_value = pl.DataFrame(
        {"row_number": split.row_number, "_value": data.select(value).to_series()}
    )
    unknown = with_value.filter(pl.col("_value").is_not_null() & (part.value is None))
    reasons = unknown.select(
        "row_number",
        pl.concat_str(
            pl.lit(f"column {part.column!r}: value '"),
            pl.col("_value"),
            pl.lit(
                "' has no source of its own (split_by: it was not in the file when the config "
                "was read; read the config again to make it one)"
            ),
        ).alias("_unknown_value"),
    )
    return SplitRows(split, reasons)


def with_unknown_values_quarantined(mapped: pl.DataFrame, unknown: pl.DataFrame) -> pl.DataFrame:
    """A mapped frame whose rows in ``unknown`` carry its reason (see :func:`rows_of_split`)."""
    if unknown.height == 0:
        return mapped
    reason = pl.concat_str(
        [pl.col("reason"), pl.col("_unknown_value")], separator=REASON_SEPARATOR, ignore_nulls=True
    )
    return (
        mapped.join(unknown, on="row_number", how="left", maintain_order="left")
        .with_columns(
            reason=pl.when(pl.col("_unknown_value").is_not_null())
            .then(reason)
            .otherwise(pl.col("reason"))
        )
        .drop("_unknown_value")
    )


class _ReadOnce:
    """A split file read once for all its sources in one process.

    Every source made from one file reads the whole file; without this, an
    export split nine ways would be decoded and parsed ten times. The read is
    kept, keyed by the file's size and modification time, until each of the
    file's other sources has taken it, then dropped (memory).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[object, ...], tuple[RawFrame, int]] = {}

    def read(self, path: Path, *, source: SourceConfig, source_file: str) -> RawFrame:
        assert source.split is not None
        stat = path.stat()
        key = (
            str(path.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            source.format,
            source.encoding,
            source.delimiter,
            source.sheet,
        )
        with self._lock:
            if key in self._kept:
                raw, left = self._kept.pop(key)
                if left > 1:
                    self._kept[key] = (raw, left - 1)
                return raw
        raw = read_entry_file(path, entry=source, kind="source", source_file=source_file)
        # The file's sources: one per value and the remainder; this one has read it.
        others = len(source.split.values)
        if others:
            with self._lock:
                self._kept[key] = (raw, others)
        return raw


_read_once = _ReadOnce()


def read_split_file(path: Path, *, source: SourceConfig, source_file: str) -> RawFrame:
    """Read one file of a source made by ``split_by`` (once for all of the file's sources)."""
    return _read_once.read(path, source=source, source_file=source_file)


def check_split_not_empty(source: SourceConfig, *, rows_in: int, files: tuple[str, ...]) -> None:
    """Refuse a value's source that got no row (its list left the export) unless allowed.

    The remainder may be empty: most files have a value in every row.

    Raises:
        SourceReadError: e.g. ``source 'chicago_naeyc': no row of export.csv has
            'NAEYC' in column 'Source'; ...``.
    """
    part = source.split
    if part is None or part.value is None or rows_in > 0 or source.allow_empty:
        return
    where = ", ".join((source.base_dir / f).as_posix() for f in files)
    msg = (
        f"source {source.name!r}: no row of {where} has {excerpt(part.value)} in column "
        f"{part.column!r} (the list left the export?); set 'allow_empty: true' on the "
        "source if it may, or read the config again to drop the source"
    )
    raise SourceReadError(msg)
