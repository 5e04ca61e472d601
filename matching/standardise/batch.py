"""Apply a per-value Python function to a column once per distinct value.

opencc, pypinyin and phonenumbers have no vectorised API. Customer columns
repeat heavily (cities, domains, the same phone on many tickets), so mapping the
distinct values and broadcasting back with ``replace_strict`` keeps the
per-value Python work proportional to the vocabulary, not to the rows.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl


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
        mapping = {value: function(value) for value in distinct}
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
        mapped = [function(x, y) for x, y in zip(distinct[a], distinct[b], strict=True)]
        lookup = distinct.with_columns(pl.Series("__out", mapped, dtype=return_dtype))
        return frame.join(lookup, on=[a, b], how="left", nulls_equal=True, maintain_order="left")[
            "__out"
        ]

    return pl.struct(left.alias("__left"), right.alias("__right")).map_batches(
        _apply, return_dtype=return_dtype
    )
