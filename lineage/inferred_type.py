"""A customer no record types is a company when its records name a contact person.

Tickets (and other sources without a type column) leave ``customer_type`` empty, so a
company seen only in tickets gets no golden type: no company roles for its name and
phone, and no ``customer_contacts`` rows for the people who wrote in for it. Yet a
ticket that names a contact person besides the customer's name says what the
customer is: the canonical ``contact_name`` is "the contact person at a company
customer" (``connectors.canonical``), and standardisation drops it from a person's
own records. ``with_inferred_type`` adds one ``customer_type`` candidate ``company``
per such record of a customer that has no typed record at all; its ``source_column``
is the record's contact-name column, so ``field_lineage`` shows the evidence. A
contact name equal to the record's own name (a person filling in both) is no
evidence. A customer with any typed record keeps what its records say.
"""

from __future__ import annotations

import polars as pl

from connectors.canonical import RECORD_KEY_COLUMNS
from lineage.trust import normalised_value

INFERRED_TYPE = "company"


def with_inferred_type(candidates: pl.DataFrame) -> pl.DataFrame:
    """The candidates plus an inferred ``customer_type`` for untyped customers with contacts.

    Args:
        candidates: ``lineage.golden.extract_candidates`` output (``CANDIDATE_COLUMNS``).

    Returns:
        The same rows, then one ``customer_type`` = ``company`` candidate per record of
        an untyped customer whose ``contact_name`` differs from its ``name``.

    Example::

        with_inferred_type(extract_candidates(std, xref)).filter(
            pl.col("field") == "customer_type"
        )
    """
    typed = candidates.filter(pl.col("field") == "customer_type").select("unified_id").unique()
    untyped = candidates.join(typed, on="unified_id", how="anti")
    names = untyped.filter(pl.col("field") == "name").select(
        *RECORD_KEY_COLUMNS, normalised_value(pl.col("value")).alias("_name")
    )
    inferred = (
        untyped.filter(pl.col("field") == "contact_name")
        .join(names, on=list(RECORD_KEY_COLUMNS), how="left")
        .filter(normalised_value(pl.col("value")).ne_missing(pl.col("_name")))
        .with_columns(
            pl.lit("customer_type").alias("field"),
            pl.lit(INFERRED_TYPE).alias("value"),
            pl.lit(None, pl.Boolean).alias("valid"),
        )
        .select(candidates.columns)
    )
    return pl.concat([candidates, inferred], how="vertical")
