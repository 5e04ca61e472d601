"""The canonical customer schema: declared once, used everywhere.

Every reader maps its export onto these fields; quarantine rules, the
standardisation steps, survivorship and the Great Expectations suites all
derive from this one declaration instead of restating it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CanonicalField:
    """One field of the canonical customer record.

    Attributes:
        name: Column name in canonical frames and in ``golden_customer``.
        description: What the field holds, in words an analyst understands.
        allowed: Closed vocabulary, when the field has one (after value maps).
        golden: Whether survivorship builds a golden value for this field. A
            field that is not golden is read, standardised and compared (a
            matching key), but stays out of ``golden_customer``, ``field_lineage``
            and survivorship, whose columns are a published contract.
    """

    name: str
    description: str
    allowed: tuple[str, ...] | None = None
    golden: bool = True


CUSTOMER_TYPES = ("company", "person")
TIERS = ("S", "A", "B", "C")
SIZE_BANDS = ("1-9", "10-49", "50-249", "250-999", "1000+")

CANONICAL_FIELDS: tuple[CanonicalField, ...] = (
    CanonicalField("customer_type", "company or person", allowed=CUSTOMER_TYPES),
    CanonicalField("name", "company name, or the person's full name"),
    CanonicalField("contact_name", "the contact person at a company customer"),
    CanonicalField("email", "e-mail address"),
    CanonicalField("phone", "telephone number, E.164 once standardised"),
    CanonicalField("address", "street address"),
    CanonicalField("postcode", "postal code"),
    CanonicalField("city", "city"),
    CanonicalField("region", "province or state"),
    CanonicalField("country", "ISO 3166 alpha-2 country code"),
    CanonicalField("industry", "industry, canonical English label"),
    CanonicalField("size_band", "employee count band", allowed=SIZE_BANDS),
    CanonicalField("tax_id", "tax identifier, e.g. unified social credit code"),
    CanonicalField("tier", "canonical customer tier", allowed=TIERS),
    # Last, so the golden fields keep their order; see the golden attribute.
    CanonicalField("birth_date", "date of birth of a person customer", golden=False),
)

# Closed vocabularies a source's own labels may extend: another system's band that
# straddles two canonical ones is kept as written (connectors.reference), so a value
# outside the vocabulary is worth a look (WARN), not a failed release.
LABEL_KEEPING_FIELDS: tuple[str, ...] = ("size_band",)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in CANONICAL_FIELDS)
GOLDEN_FIELDS: tuple[str, ...] = tuple(f.name for f in CANONICAL_FIELDS if f.golden)
FIELDS_BY_NAME: dict[str, CanonicalField] = {f.name: f for f in CANONICAL_FIELDS}

# Longest cell (in characters) a mapped column may hold. Real names and
# addresses are far shorter; a longer value is a broken export (a runaway quote,
# a pasted document) and would only slow matching down, so it is quarantined.
MAX_VALUE_CHARS = 4096

# A record must carry at least one of these, or nobody could ever match it. A tax or
# social security ID identifies alone: FEBRL records with no name but an ID, birth date
# and address are customers (79 of FEBRL3, 150 of FEBRL4 with surname as the name).
IDENTIFYING_FIELDS: tuple[str, ...] = ("name", "email", "phone", "tax_id")

# Columns every canonical frame carries besides the fields.
RECORD_KEY_COLUMNS: tuple[str, ...] = ("source_system", "source_record_id")
PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "source_system": pl.String(),
    "source_record_id": pl.String(),
    "source_file": pl.String(),
    "row_number": pl.Int64(),
    "source_updated_at": pl.Datetime("us", "UTC"),
    # JSON object: canonical field -> source column (or JSON path) the value came from.
    "source_columns": pl.String(),
}

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    **PROVENANCE_SCHEMA,
    **{name: pl.String() for name in FIELD_NAMES},
}

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_system": pl.String(),
    "source_file": pl.String(),
    "row_number": pl.Int64(),
    # Where readable: a quarantined row of a published record keeps its customer.
    "source_record_id": pl.String(),
    "raw": pl.String(),
    "reason": pl.String(),
}


def empty_canonical_frame() -> pl.DataFrame:
    """An empty frame with the canonical schema, for sources with no valid rows."""
    return pl.DataFrame(schema=CANONICAL_SCHEMA)


def empty_quarantine_frame() -> pl.DataFrame:
    """An empty quarantine frame (``run_id`` is added at publish time)."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
