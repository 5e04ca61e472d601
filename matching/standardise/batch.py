"""Apply a per-value Python function to a column once per distinct value.

opencc, pypinyin and phonenumbers have no vectorised API. Customer columns
repeat heavily (cities, domains, the same phone on many tickets), so mapping the
distinct values and broadcasting back with ``replace_strict`` keeps the
per-value Python work proportional to the vocabulary, not to the rows.

Inside ``worker_pool`` large vocabularies are mapped by worker processes as
well: the Python loop holds the GIL, so it is the one part of standardisation
that would otherwise use one core of the machine (at 1M records phones and
pinyin took ~40 s of one core while polars sat idle).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import polars as pl

# Below this many distinct values the serial loop is faster than shipping them to workers.
PARALLEL_MIN_VALUES = 20_000
# The active pool. A module global, not a ContextVar: polars calls the mapping
# functions from its own threads, which do not see the caller's context.
_pool: list[Executor] = []


@contextmanager
def worker_pool(workers: int) -> Iterator[None]:
    """Map large vocabularies in ``workers`` processes within this block (1: serially).

    The workers start through a fork server, never by forking this process:
    polars' thread pool does not survive ``fork``. Each worker imports the
    mapped function's module once, so the pool pays off only on large inputs.
    """
    if workers < 2:
        yield
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        _pool.append(pool)
        try:
            yield
        finally:
            _pool.remove(pool)


def _call_each(function: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    return [function(*args) for args in arguments]


def _map_values(function: Callable[..., Any], arguments: list[tuple[Any, ...]]) -> list[Any]:
    """``[function(*a) for a in arguments]``, by the active pool's workers when it pays."""
    if not _pool or len(arguments) < PARALLEL_MIN_VALUES:
        return _call_each(function, arguments)
    pool = _pool[-1]
    size = -(-len(arguments) // 8)  # a few chunks per worker evens out uneven values
    chunks = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    return [
        value for part in pool.map(_call_each, [function] * len(chunks), chunks) for value in part
    ]


def map_distinct(
    expr: pl.Expr, function: Callable[[str], str | None], *, return_dtype: pl.DataType | None = None
) -> pl.Expr:
    """Map ``function`` over the distinct non-null values of ``expr``.

    Example:
        >>> df = pl.DataFrame({"a": ["x", "x", None]})
        >>> df.select(map_distinct(pl.col("a"), str.upper))["a"].to_list()
        ['X', 'X', None]
    """
    dtype = return_dtype or pl.String()

    def _apply(series: pl.Series) -> pl.Series:
        distinct = series.drop_nulls().unique().to_list()
        mapping = dict(zip(distinct, _map_values(function, [(v,) for v in distinct]), strict=True))
        return series.replace_strict(mapping, default=None, return_dtype=dtype)

    return expr.map_batches(_apply, return_dtype=dtype)


def map_distinct_pairs(
    left: pl.Expr,
    right: pl.Expr,
    function: Callable[[str, str | None], object],
    *,
    return_dtype: pl.DataType,
) -> pl.Expr:
    """Map ``function(left, right)`` over distinct pairs, e.g. (phone, default region)."""

    def _apply(struct: pl.Series) -> pl.Series:
        frame = struct.struct.unnest()
        a, b = frame.columns
        distinct = frame.unique().filter(pl.col(a).is_not_null())
        mapped = _map_values(function, list(zip(distinct[a], distinct[b], strict=True)))
        lookup = distinct.with_columns(pl.Series("__out", mapped, dtype=return_dtype))
        return frame.join(lookup, on=[a, b], how="left", nulls_equal=True, maintain_order="left")[
            "__out"
        ]

    return pl.struct(left.alias("__left"), right.alias("__right")).map_batches(
        _apply, return_dtype=return_dtype
    )
