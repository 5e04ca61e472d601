"""Frames whose columns share one chunk layout, so a ``select`` does not copy them all.

Polars copies every column of a frame into one chunk before a ``select`` or
``filter`` when its columns are chunked differently. The scored pairs are
built in chunks of 2M pairs (``score_pairs``), and a column added to them in
one piece (the pair's decision, its blocking rules, a steward decision, or
the pairs a thin-cluster completion appends) left them misaligned: each
clustering pass then copied every pair, +0.4 GiB at 1M records. Cutting the
one-piece columns at the same boundaries costs nothing (slices share memory).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def chunked_like(column: pl.Series, lengths: list[int]) -> pl.Series:
    """``column`` in chunks of ``lengths`` rows (slices of it when it is in one chunk).

    Example:
        >>> chunked_like(pl.Series("b", [7, 8, 9]), [2, 1]).chunk_lengths()
        [2, 1]
    """
    if column.chunk_lengths() == lengths:
        return column
    whole = column if column.n_chunks() == 1 else column.rechunk()
    offsets = np.cumsum([0, *lengths[:-1]])
    return pl.concat(
        [whole.slice(int(offset), length) for offset, length in zip(offsets, lengths, strict=True)],
        rechunk=False,
    )


def aligned_chunks(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column in the chunks of its most-chunked column.

    Example:
        >>> pairs = pl.concat([pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [3]})],
        ...                   rechunk=False).with_columns(pl.Series("b", [7, 8, 9]))
        >>> aligned_chunks(pairs).n_chunks("all")
        [2, 2]
    """
    if frame.width < 2:
        return frame
    counts = frame.n_chunks("all")
    lengths = frame.to_series(int(np.argmax(counts))).chunk_lengths()
    if all(frame.to_series(i).chunk_lengths() == lengths for i in range(frame.width)):
        return frame
    return pl.DataFrame([chunked_like(frame.to_series(i), lengths) for i in range(frame.width)])
