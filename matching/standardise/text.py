"""Text clean-up shared by every field: Unicode, whitespace, placeholders.

Full-width letters and digits (ＡＢＣ１２３), ideographic spaces and
compatibility forms are folded by NFKC, so that 'Ｓｈａｎｇｈａｉ' and
'Shanghai' compare equal before any fuzzy comparison sees them.
"""

from __future__ import annotations

import polars as pl

from connectors.canonical import FIELD_NAMES

# Values that sources use to mean "unknown"; compared after case-folding.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "", "-", "--", "n/a", "na", "none", "null", "nil", "unknown", "tbd", "?",
        "0", "000000", "0000000000", "test", "test@test.com", "noemail@example.com",
        "none@none.com", "x", "xx", "xxx", "无", "未知", "暂无", "不详",
    }
)  # fmt: skip

TEXT_COLUMNS: tuple[str, ...] = tuple(c for c in FIELD_NAMES if c != "customer_type")


def without_placeholder(value: pl.Expr) -> pl.Expr:
    """``value``, or null where it is a placeholder (case-folded).

    Also for a value a later step compacts: '0-0-0-0-0-0' becomes the placeholder
    '000000' only once its separators go, and must be nulled then, not on a
    second standardisation.
    """
    return pl.when(value.str.to_lowercase().is_in(list(PLACEHOLDERS))).then(None).otherwise(value)


def clean_text_expr(column: str) -> pl.Expr:
    """NFKC-normalise, collapse whitespace, trim, and null out placeholders."""
    cleaned = pl.col(column).str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars()
    return without_placeholder(cleaned).alias(column)


def clean_text(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: clean every canonical text column."""
    return frame.with_columns(clean_text_expr(c) for c in TEXT_COLUMNS)
