"""Address, postcode, country and tax-id standardisation."""

from __future__ import annotations

import polars as pl

from matching.standardise.text import without_placeholder

# Latin street words and their usual abbreviations, so 'Street' meets 'St.'.
STREET_ABBREVIATIONS: dict[str, str] = {
    "street": "st",
    "road": "rd",
    "avenue": "ave",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "suite": "ste",
    "floor": "fl",
    "building": "bldg",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
TAX_ID_PATTERN = r"^[0-9A-Z]{8,20}$"


def _address_key(address: pl.Expr) -> pl.Expr:
    words = (
        address.str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.replace_all(r"(\p{Han}) ", "$1")
        .str.replace_all(r" (\p{Han})", "$1")
        .str.strip_chars()
    )
    for word, abbreviation in STREET_ABBREVIATIONS.items():
        words = words.str.replace_all(rf"\b{word}\b", abbreviation)
    return pl.when(words == "").then(None).otherwise(words)


def normalise_address(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: ``address_key``, cleaned postcode, country code, tax id and its validity."""
    tax_id = without_placeholder(pl.col("tax_id").str.to_uppercase().str.replace_all(r"[\s\-]", ""))
    return frame.with_columns(
        _address_key(pl.col("address")).alias("address_key"),
        # NFKC again once the spaces are out: 'C ̧8' (NFKC of a spacing cedilla) is 'Ç8'.
        without_placeholder(
            pl.col("postcode").str.replace_all(r"\s", "").str.normalize("NFKC").str.to_uppercase()
        ).alias("postcode"),
        pl.col("country").str.to_uppercase().alias("country"),
        pl.col("city").str.to_lowercase().str.replace_all(r"[\s市]", "").alias("city_key"),
        tax_id.alias("tax_id"),
    ).with_columns(pl.col("tax_id").str.contains(TAX_ID_PATTERN).alias("tax_id_valid"))
