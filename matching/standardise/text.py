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


def clean_text_expr(column: str) -> pl.Expr:
    """NFKC-normalise, collapse whitespace, trim, and null out placeholders."""
    cleaned = pl.col(column).str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars()
    is_placeholder = cleaned.str.to_lowercase().is_in(list(PLACEHOLDERS))
    return pl.when(is_placeholder).then(None).otherwise(cleaned).alias(column)


def clean_text(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: clean every canonical text column."""
    return frame.with_columns(clean_text_expr(c) for c in TEXT_COLUMNS)
