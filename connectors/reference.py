"""Reference data for fields whose spellings no export agrees on: countries and head counts.

A config should not have to list ``China``, ``PRC``, ``CN``, ``中国`` and ``中國``
by hand: ISO 3166 names, codes and their Chinese translations come from
pycountry (Debian's iso-codes data, kept up to date upstream), so every
country is known in English and in simplified and traditional Chinese. Only
two spellings that are not ISO names are added here (``UK``, ``PRC``).

Head counts become the canonical employee bands (``connectors.canonical.SIZE_BANDS``
or a source's own ``bands``): ``85`` is ``50-249``; another system's band
(``10-49人``, ``5000人以上``) becomes the band it lies in, and is kept as the
source wrote it when it straddles two (``200-999人``), so a customer never
loses its size, or its row, to a vocabulary it was not exported in.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Sequence
from functools import cache

import polars as pl

# Spellings in everyday use that ISO 3166 does not list as a name or code.
# "UK" is only "exceptionally reserved" for GB; PRC is the usual English abbreviation.
COUNTRY_ALIASES: dict[str, str] = {"UK": "GB", "PRC": "CN"}
# Translations of ISO 3166 names read from pycountry: mainland, Taiwan and Hong Kong Chinese.
COUNTRY_LOCALES = ("zh_CN", "zh_TW", "zh_HK")
_ISO3166_DOMAIN = "iso3166-1"

# A band label: "10-49", "10 - 49人", "10~49", "1000+", "1000人以上", "5,000 or more".
_NUMBER = r"(\d[\d,]*)"
_UNIT = r"\s*(?:人|名|employees|staff|people)?\s*"
_RANGE = re.compile(rf"^{_NUMBER}{_UNIT}(?:-|–|~|～|至|到|to){_UNIT}{_NUMBER}{_UNIT}$")
_OPEN = re.compile(rf"^{_NUMBER}{_UNIT}(?:\+|以上|及以上|or more|and above)\s*$")
_COUNT = re.compile(rf"^{_NUMBER}{_UNIT}$")
# The same shapes as Polars patterns (Rust regex) over the folded label.
_RANGE_EXPR = _RANGE.pattern
_OPEN_EXPR = _OPEN.pattern
_COUNT_EXPR = _COUNT.pattern


def fold_country(text: str) -> str:
    """The form country spellings are compared in: NFKC, lower case, no dots, single spaces.

    Example:
        >>> fold_country(" U.S.A. "), fold_country("Ｃｈｉｎａ")
        ('usa', 'china')
    """
    folded = unicodedata.normalize("NFKC", text).lower().replace(".", "")
    return " ".join(folded.split())


def _fold_country_expr(text: pl.Expr) -> pl.Expr:
    """:func:`fold_country` as a Polars expression."""
    folded = text.str.normalize("NFKC").str.to_lowercase().str.replace_all(".", "", literal=True)
    return folded.str.replace_all(r"\s+", " ").str.strip_chars()


@cache
def country_table() -> dict[str, str]:
    """Folded spelling -> ISO alpha-2, for every ISO 3166 country.

    Codes (alpha-2, alpha-3), English names (short, official, common) and their
    Chinese translations; a spelling that two countries share is left out
    rather than guessed.

    Example:
        >>> table = country_table()
        >>> [table[fold_country(s)] for s in ("China", "中国", "USA", "美國", "UK", "澳大利亚")]
        ['CN', 'CN', 'US', 'US', 'GB', 'AU']
    """
    import pycountry  # noqa: PLC0415 - its tables load on first use only

    translations = [
        gettext.translation(_ISO3166_DOMAIN, pycountry.LOCALES_DIR, languages=[locale])
        for locale in COUNTRY_LOCALES
    ]
    codes: dict[str, set[str]] = {}

    def add(spelling: str | None, code: str) -> None:
        if spelling:
            codes.setdefault(fold_country(spelling), set()).add(code)

    for country in pycountry.countries:
        code = country.alpha_2
        names = [getattr(country, k, None) for k in ("name", "official_name", "common_name")]
        for spelling in (code, country.alpha_3, *names):
            add(spelling, code)
        for translation in translations:
            for name in names:
                if name:
                    add(translation.gettext(name), code)
    table = {key: next(iter(found)) for key, found in codes.items() if len(found) == 1}
    table.update({fold_country(k): v for k, v in COUNTRY_ALIASES.items()})
    return table


def normalise_country(text: pl.Expr) -> pl.Expr:
    """ISO alpha-2 code of a country spelling, or null when the spelling is unknown.

    Example:
        >>> cells = pl.Series(["China", "中国", "PRC", "us", "United States", "英国", "Atlantis"])
        >>> pl.select(normalise_country(pl.lit(cells))).to_series().to_list()
        ['CN', 'CN', 'CN', 'US', 'US', 'GB', None]
    """
    table = country_table()
    keys = list(table)
    return _fold_country_expr(text).replace_strict(
        keys, [table[k] for k in keys], default=None, return_dtype=pl.String
    )


def parse_band(label: str) -> tuple[int, int | None] | None:
    """``(lowest, highest)`` head count a label covers (``None``: no upper end), or None.

    Example:
        >>> parse_band("50-249"), parse_band("1000+"), parse_band("5000人以上"), parse_band("85")
        ((50, 249), (1000, None), (5000, None), (85, 85))
        >>> parse_band("many") is None
        True
    """
    folded = " ".join(unicodedata.normalize("NFKC", label).lower().split())
    for pattern in (_RANGE, _OPEN, _COUNT):
        found = pattern.fullmatch(folded)
        if found is None:
            continue
        numbers = [int(n.replace(",", "")) for n in found.groups()]
        if pattern is _OPEN:
            return numbers[0], None
        return numbers[0], numbers[-1]
    return None


def bands_problem(bands: Sequence[str]) -> str | None:
    """Why labels cannot serve as head-count bands, or None when they can.

    Bands are ``low-high`` labels in ascending order, each starting one above
    the last one's end; only the last may be open (``1000+``).

    Example:
        >>> bands_problem(["1-9", "10-49", "50+"]) is None
        True
        >>> bands_problem(["1-9", "20-49"])
        "band '20-49' must start at 10, right after '1-9'"
    """
    previous: tuple[str, int | None] | None = None
    for label in bands:
        parsed = parse_band(label)
        if parsed is None or label != label.strip():
            return f"{label!r} is not a band like '10-49' or '1000+'"
        low, high = parsed
        if high is not None and high < low:
            return f"band {label!r} ends before it starts"
        if previous is not None:
            before, end = previous
            if end is None:
                return f"band {before!r} is open-ended, so it must be the last"
            if low != end + 1:
                return f"band {label!r} must start at {end + 1}, right after {before!r}"
        previous = (label, high)
    return None


def normalise_head_count(text: pl.Expr, *, bands: Sequence[str]) -> tuple[pl.Expr, pl.Expr]:
    """``(band, invalid)``: a head count or band label as one of ``bands``.

    A label already in ``bands`` stays; a count, or a range lying within one
    band, becomes that band; a range across bands stays as written (the
    source's own label); anything else (text, a count below the first band)
    is invalid and gives null.

    Example:
        >>> cells = pl.Series(["85", "10-49人", "200-999人", "5000人以上", "1,200", "lots", "0"])
        >>> bands = ("1-9", "10-49", "50-249", "250-999", "1000+")
        >>> band, bad = normalise_head_count(pl.lit(cells), bands=bands)
        >>> pl.select(band.alias("b"), bad.alias("x")).rows()  # doctest: +NORMALIZE_WHITESPACE
        [('50-249', False), ('10-49', False), ('200-999人', False), ('1000+', False),
         ('1000+', False), (None, True), (None, True)]
    """
    ranges = [(label, parse_band(label)) for label in bands]
    folded = text.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ")
    folded = folded.str.strip_chars()

    def number(pattern: str, group: int) -> pl.Expr:
        digits = folded.str.extract(pattern, group).str.replace_all(",", "", literal=True)
        return digits.cast(pl.Int64, strict=False)

    low = pl.coalesce(number(_RANGE_EXPR, 1), number(_OPEN_EXPR, 1), number(_COUNT_EXPR, 1))
    high = pl.coalesce(number(_RANGE_EXPR, 2), number(_COUNT_EXPR, 1))
    is_open = folded.str.contains(_OPEN_EXPR)
    band: pl.Expr = pl.lit(None, pl.String)
    for label, parsed in reversed(ranges):
        assert parsed is not None  # checked by bands_problem when the config loaded
        first, last = parsed
        fits = low >= first
        if last is not None:
            fits = fits & ~is_open & (high <= last)
        band = pl.when(fits).then(pl.lit(label)).otherwise(band)
    readable = low.is_not_null() & (is_open | (high >= low))
    below = low < min(p[0] for _, p in ranges if p is not None)
    banded = pl.coalesce(band, text)  # a range across bands: the source's own label
    value = pl.when(text.is_in(list(bands))).then(text).when(readable & ~below).then(banded)
    invalid = text.is_not_null() & value.is_null()
    return value, invalid
