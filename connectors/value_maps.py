"""Value maps: a source's codes to canonical values, forgiving case and surrounding space.

Exports spell one code many ways (``VIP``, ``Vip``, `` vip ``); listing every
variant in the config is busywork, and the next export's variant would
quarantine rows. So a cell that is no key of the map is looked up again with
case and surrounding whitespace ignored. An exact key always wins, so a map
that tells ``a`` from ``A`` keeps doing so for those two spellings; a variant
that matches keys with different values (``Vip`` against ``VIP: S`` and
``vip: A``) stays unmapped rather than picking one.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from connectors.record_ids import WHITESPACE


def fold_code(code: str) -> str:
    """The case- and space-insensitive form of a code, as the fallback compares them.

    Example:
        >>> fold_code("  Vip ")
        'vip'
    """
    return code.strip(WHITESPACE).lower()


def folded_map(value_map: Mapping[str, str | None]) -> dict[str, str | None]:
    """Folded code -> value, for the folded codes that all keys agree on.

    Example:
        >>> folded_map({"VIP": "S", "vip": "S", "Std": "B", "std": "C"})
        {'vip': 'S'}
    """
    values: dict[str, set[str | None]] = {}
    for code, value in value_map.items():
        values.setdefault(fold_code(code), set()).add(value)
    return {code: next(iter(found)) for code, found in values.items() if len(found) == 1}


def apply_value_map(text: pl.Expr, value_map: Mapping[str, str | None]) -> tuple[pl.Expr, pl.Expr]:
    """``(value, unmapped)``: the mapped value of trimmed cells, and whether a cell has none.

    ``unmapped`` is true for a non-null cell that neither an exact key nor the
    case- and space-insensitive fallback knows. A key mapped to null drops the
    value on purpose: its cells are mapped, to null.

    Example:
        >>> cells = pl.Series(["VIP", "vip", " Std ", "GOLD", None])
        >>> value, unmapped = apply_value_map(pl.lit(cells), {"VIP": "S", "STD": "B"})
        >>> pl.select(value.alias("v"), unmapped.alias("u")).rows()
        [('S', False), ('S', False), ('B', False), (None, True), (None, False)]
    """
    codes = list(value_map)
    exact = text.is_in(codes)
    exact_value = text.replace_strict(
        codes, [value_map[c] for c in codes], default=None, return_dtype=pl.String
    )
    folded = folded_map(value_map)
    folded_codes = list(folded)
    key = text.str.strip_chars(WHITESPACE).str.to_lowercase()
    folded_value = key.replace_strict(
        folded_codes, [folded[c] for c in folded_codes], default=None, return_dtype=pl.String
    )
    value = pl.when(exact).then(exact_value).otherwise(folded_value)
    unmapped = text.is_not_null() & ~exact & ~key.is_in(folded_codes)
    return value, unmapped
