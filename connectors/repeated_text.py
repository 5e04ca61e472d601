"""Store each distinct text of a repetitive string column once.

Polars keeps a string longer than 12 bytes out of line, once per row: a run
ID stamped on 9M lineage rows, or a source's column-map JSON on each of its
records, costs its full length per row even though the column holds a handful
of values. Gathering the distinct values by code gives the same strings (same
dtype, same bytes to DuckDB and Parquet) whose rows all point into one small
buffer: 16 bytes a row. Filters, sorts, joins and concatenation keep pointing
into it, so the saving lasts until the frame is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

# More distinct values than this and the column is left as it is: the trick pays
# only when values repeat, and the Enum it goes through is built from them.
MAX_DISTINCT = 65_536


def shared_text(column: pl.Series) -> pl.Series:
    """``column`` with each distinct value stored once (equal values, equal dtype).

    Example:
        >>> shared_text(pl.Series("run_id", ["run-1"] * 3 + [None])).to_list()
        ['run-1', 'run-1', 'run-1', None]
    """
    distinct = column.drop_nulls().unique().sort()
    if distinct.len() > MAX_DISTINCT:
        return column
    codes = column.cast(pl.Enum(distinct)).to_physical()
    return distinct.gather(codes).alias(column.name)


def with_shared_text(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """``frame`` with :func:`shared_text` applied to the named string columns it has."""
    present = [c for c in columns if frame.schema.get(c) == pl.String()]
    if not present or frame.is_empty():
        return frame
    return frame.with_columns(shared_text(frame.get_column(c)) for c in present)
