"""Standardisation: an ordered tuple of named steps, ``LazyFrame -> LazyFrame``.

Each step is a small function in its own module; ``standardise`` runs them in
one loop (the shape of sqlglot's optimizer rules). Steps add derived columns
(keys for blocking and comparison) and clean the canonical columns in place, so
survivorship later sees the same cleaned values the matcher compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from matching.standardise.address import normalise_address
from matching.standardise.chinese import flag_romanised_names, romanise_names, simplify_chinese
from matching.standardise.contact import normalise_email, normalise_phone_e164
from matching.standardise.dates import normalise_birth_date
from matching.standardise.legal_form import split_legal_form
from matching.standardise.regions import normalise_regions
from matching.standardise.text import clean_text

Step = Callable[[pl.LazyFrame], pl.LazyFrame]

STEPS: tuple[Step, ...] = (
    clean_text,
    simplify_chinese,
    split_legal_form,
    normalise_email,
    normalise_phone_e164,
    normalise_regions,
    normalise_address,
    normalise_birth_date,
    flag_romanised_names,
    romanise_names,
)


def _with_phone_region(frame: pl.LazyFrame, default_regions: Mapping[str, str]) -> pl.LazyFrame:
    source_default = pl.col("source_system").replace_strict(
        dict(default_regions), default=None, return_dtype=pl.String
    )
    valid_country = pl.col("country").str.strip_chars().str.to_uppercase()
    valid_country = pl.when(valid_country.str.contains(r"^[A-Z]{2}$")).then(valid_country)
    return frame.with_columns(pl.coalesce(valid_country, source_default).alias("phone_region"))


def standardise(
    records: pl.DataFrame, *, default_regions: Mapping[str, str], steps: tuple[Step, ...] = STEPS
) -> pl.DataFrame:
    """Clean canonical records and add matching keys; one row per input row.

    Args:
        records: Canonical frame (connectors.canonical.CANONICAL_SCHEMA).
        default_regions: Source name -> ISO country used to read national phone numbers.
        steps: The standardisation steps, in order.

    Returns:
        The cleaned frame with ``record_index`` (0..n-1 in (source_system,
        source_record_id) order), validity flags and matching keys.

    Example:
        >>> from connectors.canonical import empty_canonical_frame
        >>> standardise(empty_canonical_frame(), default_regions={}).height
        0
    """
    frame = _with_phone_region(records.lazy(), default_regions)
    for step in steps:
        frame = step(frame)
    return (
        frame.sort("source_system", "source_record_id")
        .with_row_index("record_index")
        .drop("phone_region")
        .collect()
    )
