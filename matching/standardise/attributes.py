"""Extra attributes' text, cleaned for comparison (see matching.attributes)."""

from __future__ import annotations

import polars as pl

from connectors.config import ATTRIBUTE_PREFIX


def attribute_column(name: str) -> str:
    """The column of an attribute ('birth_place' -> 'attribute_birth_place')."""
    return f"{ATTRIBUTE_PREFIX}{name}"


def clean_attributes(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: every ``attribute_*`` column's text NFKC-folded, lower-cased, spaces collapsed.

    ('  Devon ' -> 'devon'); an empty value becomes null. Kind-specific reading
    (dates, numbers) is the comparison's, so this step needs no settings.
    """
    columns = [c for c in frame.collect_schema().names() if c.startswith(ATTRIBUTE_PREFIX)]
    return frame.with_columns(_cleaned(pl.col(c).cast(pl.String)).alias(c) for c in columns)


def _cleaned(text: pl.Expr) -> pl.Expr:
    folded = (
        text.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    )
    return pl.when(folded != "").then(folded)
