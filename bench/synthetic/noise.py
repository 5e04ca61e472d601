"""How people mistype and re-spell values: typos, IME homophones, traditional script, phones."""

from __future__ import annotations

import numpy as np
import opencc
import polars as pl

from bench import vocab
from bench.synthetic.draw import Draw


def _map_distinct(series: pl.Series, mapping: dict[str, str]) -> pl.Series:
    return series.replace_strict(mapping, default=series, return_dtype=pl.String)


def typo(text: pl.Expr, draw: Draw, n: int, *, latin: bool = True) -> pl.Expr:
    """One slip: delete, substitute or transpose a character (never the first).

    Chinese text (``latin=False``) is never given a Latin letter: its slip is a
    dropped or swapped character.
    """
    length = text.str.len_chars()
    position = (pl.lit(draw.uniform(n)) * (length - 1)).floor().cast(pl.Int64) + 1
    op = pl.lit(pl.Series(draw.rng.integers(0, 3, n) if latin else 2 * draw.rng.integers(0, 2, n)))
    letter = pl.lit(draw.letters(n, alphabet="abcdefghijklmnopqrstuvwxyz", length=1))
    head = text.str.slice(0, position)
    transposed = (
        text.str.slice(0, position - 1)
        + text.str.slice(position, 1)
        + text.str.slice(position - 1, 1)
        + text.str.slice(position + 1)
    )
    return (
        pl.when(length < 3)
        .then(text)
        .when(op == 0)
        .then(head + text.str.slice(position + 1))
        .when(op == 1)
        .then(head + letter + text.str.slice(position + 1))
        .otherwise(transposed)
    )


def ime_homophone(series: pl.Series) -> pl.Series:
    """Swap one character that has a same-pinyin twin (鑫 -> 新): the IME's wrong pick.

    The last such character is swapped (a brand or given-name character rather
    than the city or surname at the front); values without one are unchanged.
    Runs per distinct value, so the Python loop is over distinct names, not rows.
    """
    table = vocab.ime_homophones()
    mapping = {}
    for value in series.drop_nulls().unique().to_list():
        for i in range(len(value) - 1, -1, -1):
            if value[i] in table:
                mapping[value] = value[:i] + table[value[i]] + value[i + 1 :]
                break
    return _map_distinct(series, mapping)


def traditional(series: pl.Series) -> pl.Series:
    """Simplified -> traditional script with one OpenCC call over the distinct values."""
    converter = opencc.OpenCC("s2t")
    distinct = series.drop_nulls().unique().sort()
    converted = str(converter.convert("\n".join(distinct.to_list()))).split("\n")
    if len(converted) != len(distinct):
        converted = [str(converter.convert(v)) for v in distinct.to_list()]
    return _map_distinct(series, dict(zip(distinct.to_list(), converted, strict=True)))


def format_phone(draw: Draw, phone: pl.Expr, n: int) -> pl.Expr:
    """A true E.164 number as people type it (national, spaced, dashed, 86-, E.164)."""
    style = pl.lit(pl.Series(draw.rng.integers(0, 5, n)))
    national = phone.str.slice(3)
    # A landline written nationally carries the trunk prefix: 021-..., 0755-...
    mobile = national.str.starts_with("1") & (national.str.len_chars() == 11)
    national = pl.when(mobile).then(national).otherwise("0" + national)
    cn = (
        pl.when(style == 0)
        .then(national)
        .when(style == 1)
        .then("+86 " + national.str.slice(0, 3) + " " + national.str.slice(3, 4) + " "
              + national.str.slice(7))
        .when(style == 2)
        .then(national.str.slice(0, 3) + "-" + national.str.slice(3, 4) + "-"
              + national.str.slice(7))
        .when(style == 3)
        .then("86-" + national)
        .otherwise(phone)
    )  # fmt: skip
    us_national = phone.str.slice(2)
    area, mid, last = (
        us_national.str.slice(0, 3),
        us_national.str.slice(3, 3),
        us_national.str.slice(6),
    )
    us = (
        pl.when(style == 0)
        .then("(" + area + ") " + mid + "-" + last)
        .when(style == 1)
        .then(area + "-" + mid + "-" + last)
        .when(style == 2)
        .then("+1 " + area + " " + mid + " " + last)
        .when(style == 3)
        .then(area + "." + mid + "." + last)
        .otherwise(phone)
    )
    return pl.when(phone.str.starts_with("+86")).then(cn).otherwise(us)


def email_case(draw: Draw, email: pl.Expr, n: int) -> pl.Expr:
    """Some exports upper-case an e-mail or capitalise its first letter."""
    r = pl.lit(draw.uniform(n))
    return (
        pl.when(r < 0.08)
        .then(email.str.to_uppercase())
        .when(r < 0.15)
        .then(email.str.slice(0, 1).str.to_uppercase() + email.str.slice(1))
        .otherwise(email)
    )


def blank(draw: Draw, value: pl.Expr, n: int, keep: float | np.ndarray) -> pl.Expr:
    """``value`` kept with probability ``keep``, else null (the export left it empty)."""
    return pl.when(pl.lit(pl.Series(draw.chance(n, keep)))).then(value)
