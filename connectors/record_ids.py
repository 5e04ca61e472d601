"""Record IDs as keys: invisible characters and surrounding space are not part of an ID.

A source's record ID keys its records across runs (``customer_xref``, the
retirement of records that left the source). Text that looks the same must
give the same key: an export concatenated from two files carries a byte-order
mark at the start of a row (``\\ufeffCRM-000075``), spreadsheets and web forms
leave zero-width spaces and direction marks, and a padded column adds spaces.
Each would otherwise be a new ID for an existing customer. So format characters
(Unicode category Cf: BOM, zero-width space/joiners, direction marks, soft
hyphen) are removed wherever they are, then surrounding whitespace. Nothing
else changes: case, width and inner spaces can be meaningful in an ID.

The expression form serves mapping; the Python form serves code that reads an
ID out of a single rejected row. Both give the same result.
"""

from __future__ import annotations

import unicodedata

import polars as pl

# Unicode general category Cf ("format"): invisible characters that only steer rendering.
FORMAT_CHARACTERS = r"\p{Cf}"
# Unicode White_Space, spelled out so both forms strip the same set (Python's
# str.isspace also counts the ASCII separators \x1c-\x1f; Rust's does not).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def normalised_record_id(text: pl.Expr) -> pl.Expr:
    """An ID column with format characters and surrounding whitespace removed; empty -> null.

    Example:
        >>> ids = pl.Series(["\\ufeffCRM-1", " CRM-2\\u200b ", "\\u200b", None])
        >>> pl.select(normalised_record_id(pl.lit(ids))).to_series().to_list()
        ['CRM-1', 'CRM-2', None, None]
    """
    cleaned = text.str.replace_all(FORMAT_CHARACTERS, "").str.strip_chars(WHITESPACE)
    return pl.when(cleaned != "").then(cleaned)


def normalise_record_id(text: str | None) -> str | None:
    """The Python twin of :func:`normalised_record_id` for one value.

    Example:
        >>> normalise_record_id("\\ufeff CRM-000075\\u2060")
        'CRM-000075'
    """
    if text is None:
        return None
    kept = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return kept.strip(WHITESPACE) or None
