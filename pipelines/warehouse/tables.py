"""What a release table can be: a frame, a delta, kept, derived by SQL, or spilled."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from pipelines.warehouse.spill import SpilledTable


class Kept:
    """The table as the base release holds it (see :data:`KEPT`)."""

    def __repr__(self) -> str:
        return "KEPT"


KEPT: Final = Kept()
"""Publish the table unchanged from the base release (the release names the base's version)."""


@dataclass(frozen=True)
class TableDelta:
    """How a table of the base release becomes this release's table, row by row.

    Rows whose ``keys`` are in ``removed`` are deleted, then ``added`` rows are
    inserted (by column name); ``updated`` (``keys`` plus the columns to set)
    changes columns of rows that stay. The result must equal the table a
    complete publish would write (order aside): the caller guarantees it.
    Each step is a Delta commit on the base's version, rewriting only the
    files that hold the rows it touches.

    Example:
        >>> TableDelta(("unified_id",), removed=gone, added=fresh)  # doctest: +SKIP
    """

    keys: tuple[str, ...]
    removed: pl.DataFrame
    added: pl.DataFrame
    updated: pl.DataFrame | None = None


@dataclass(frozen=True)
class DerivedTable:
    """A table of the release computed from its other tables by one SELECT.

    The release's own copy is written by DuckDB from the tables ``query``
    reads, after them, so its rows never pass through Python to be published.
    ``lazy`` is the same rows as a polars query over the run's frames:
    in-process consumers (checks,
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
    """

    query: str
    keys: tuple[str, ...]
    changed: pl.DataFrame


StagedTable = pl.DataFrame | DerivedTable | SpilledTable
ReleaseTable = pl.DataFrame | TableDelta | Kept | DerivedTable | DerivedDelta | SpilledTable


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
