"""Field expressions of the source config as Polars expressions: templates, parts, area codes.

A field is read from its columns (``connectors.mapping``), then shaped here:
a template fills its placeholders with the cells, a pattern keeps one group of
the value, and a phone without its area code gets the source's default one.
"""

from __future__ import annotations

import string
from functools import partial

import phonenumbers
import polars as pl

# Runs of spaces a template leaves where a part was empty ("Ann  Lee").
_SPACE_RUN = r" {2,}"
# A number written with its country code: the area code is already there.
_INTERNATIONAL = r"^\s*(?:\+|00)"


def fill_template(template: str, cells: dict[str, pl.Expr]) -> pl.Expr:
    """A template filled with the cells of its columns; null when every part is empty.

    The text between two placeholders appears only between two filled parts
    (the one before the later part is used), the text before the first and
    after the last only when some part is filled, and runs of spaces collapse,
    so a missing middle name leaves no double space and a missing given name
    no dangling separator.

    Example:
        >>> frame = pl.DataFrame({"g": ["Ann", None, None], "s": ["Lee", "Lee", None]})
        >>> cells = {"g": pl.col("g"), "s": pl.col("s")}
        >>> frame.select(fill_template("{s}, {g}", cells)).to_series().to_list()
        ['Lee, Ann', 'Lee', None]
    """
    prefix = ""
    parts: list[tuple[str, pl.Expr]] = []  # (text before the part, the part)
    trailing = ""
    for literal, name, _, _ in string.Formatter().parse(template):
        if name is None:
            trailing = literal
            continue
        if parts:
            parts.append((trailing + literal, cells[name]))
        else:
            prefix += trailing + literal
            parts.append(("", cells[name]))
        trailing = ""
    pieces: list[pl.Expr] = []
    filled_before: pl.Expr = pl.lit(False)
    for separator, part in parts:
        with_separator = pl.concat_str(pl.lit(separator), part) if separator else part
        pieces.append(pl.when(filled_before).then(with_separator).otherwise(part))
        filled_before = filled_before | part.is_not_null()
    body = pl.concat_str(pieces, ignore_nulls=True)
    text = pl.concat_str(pl.lit(prefix), body, pl.lit(trailing))
    collapsed = text.str.replace_all(_SPACE_RUN, " ").str.strip_chars(" ")
    return pl.when(filled_before & (collapsed != "")).then(collapsed)


def extract_part(value: pl.Expr, pattern: str) -> pl.Expr:
    """The first group of ``pattern`` in ``value``; null where it does not match.

    Example:
        >>> pl.select(extract_part(pl.lit("Room 5, 100020 Beijing"), r"(\\d{6})")).item()
        '100020'
    """
    return value.str.extract(pattern, 1)


def complete_local_phone(phone: pl.Expr, *, area_code: str, region: str) -> pl.Expr:
    """A local number with ``area_code`` in front, when that makes it a valid number.

    A number is local when it is not valid in ``region`` as written but is
    valid with the area code before it; an international number (``+``, ``00``),
    a valid national one or one that is invalid either way stays as written
    (the standardiser judges it). Distinct values are checked once each.

    Example:
        >>> phones = pl.Series(["555-0134", "312-555-0134", "+44 20 7946 0958", "12"])
        >>> completed = complete_local_phone(pl.lit(phones), area_code="312", region="US")
        >>> pl.select(completed).to_series().to_list()
        ['312 555-0134', '312-555-0134', '+44 20 7946 0958', '12']
    """
    completed = phone.map_batches(
        partial(_complete_series, area_code=area_code, region=region), return_dtype=pl.String
    )
    return pl.when(phone.str.contains(_INTERNATIONAL)).then(phone).otherwise(completed)


def _complete_series(phones: pl.Series, *, area_code: str, region: str) -> pl.Series:
    distinct = phones.drop_nulls().unique().to_list()
    completed = {
        text: f"{area_code} {text}"
        for text in distinct
        if not _valid(text, region) and _valid(f"{area_code}{text}", region)
    }
    if not completed:
        return phones
    keys = list(completed)
    return phones.replace(keys, [completed[k] for k in keys])


def _valid(text: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False
