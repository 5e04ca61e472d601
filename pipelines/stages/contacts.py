"""The contact tables of a release: ``customer_contacts`` and ``customer_contact_lineage``.

A company customer's contact persons (``lineage.contacts``) are published as one
row each in ``customer_contacts``, and where each of their values came from in
``customer_contact_lineage``, a table of its own rather than ``contact.``-prefixed
rows in ``field_lineage``:

- ``field_lineage`` is one row per golden field value, keyed by
  (``unified_id``, ``field``): its quality suite holds that key unique and the
  ``golden_values_have_lineage`` invariant counts repeated rows. A company has
  several contacts, so contact rows would repeat the key unless a ``contact_id``
  column were added that every golden row left null.
- ``field_lineage`` is derived by DuckDB from ``field_candidates`` (and, in an
  incremental run, re-derived for the changed customers only): rows from
  elsewhere would break that derivation and its delta.
- Its ``trust_score`` and trust components mean nothing for a contact value,
  which is chosen by agreement (rule ``most_frequent``), not by trust.
- Readers that pivot ``field_lineage`` by field (SQL models, the lineage
  report, evaluation, OpenLineage column lineage) would have to learn to skip
  the prefix.

So ``customer_contact_lineage`` repeats ``field_lineage``'s column names where
they apply (``unified_id``, ``field``, ``value``, ``source_system``,
``source_record_id``, ``source_column``, ``source_updated_at``, ``rule``,
``run_id``) and adds ``contact_id``; an analyst joins it like ``field_lineage``.

Contacts are recomputed over every company customer's records on every run,
incremental ones included, and published whole rather than as a delta: at 100k
records (14,190 companies, 46,012 of their records) that takes 1.1-1.8 s of a
77 s run (BENCHMARKS.md, "Contacts under company customers").
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from lineage import CONTACT_INPUT_COLUMNS, customer_contacts
from lineage.golden import PART_RECORDS
from pipelines.warehouse import StagedTable, staged_lazy

CONTACTS_TABLE = "customer_contacts"
CONTACT_LINEAGE_TABLE = "customer_contact_lineage"
XREF_KEYS = ("source_system", "source_record_id")


def contact_tables(
    std: StagedTable,
    xref: pl.DataFrame,
    golden_customer: pl.DataFrame,
    *,
    run_id: str,
    part_records: int = PART_RECORDS,
) -> dict[str, pl.DataFrame]:
    """``customer_contacts`` and ``customer_contact_lineage`` of the release.

    Only the company customers' records are read back from the standardised
    records, and only the columns ``lineage.contacts`` reads; the contacts are
    found in ranges of customers of about ``part_records`` records (same rows).

    Example:
        >>> xref, golden_customer = identity.xref, golden.golden_customer  # doctest: +SKIP
        >>> tables = contact_tables(std, xref, golden_customer, run_id=run)  # doctest: +SKIP
        >>> sorted(tables)  # doctest: +SKIP
        ['customer_contact_lineage', 'customer_contacts']
    """
    companies = golden_customer.filter(pl.col("customer_type") == "company").select(
        "unified_id", "customer_type", "phone"
    )
    company_records = xref.select(*XREF_KEYS, "unified_id").join(
        companies.select("unified_id"), on="unified_id", how="semi"
    )
    records = (
        staged_lazy(std)
        .select(CONTACT_INPUT_COLUMNS)
        .join(company_records.lazy().select(XREF_KEYS), on=list(XREF_KEYS), how="semi")
        .collect()
    )
    parts = [
        customer_contacts(
            records.join(part_xref.select(XREF_KEYS), on=list(XREF_KEYS), how="semi"),
            part_xref,
            companies.join(part_xref.select("unified_id").unique(), on="unified_id", how="semi"),
            run_id=run_id,
        )
        for part_xref in _customer_ranges(company_records, records=part_records)
    ]
    return {
        CONTACTS_TABLE: pl.concat([p.contacts for p in parts]),
        CONTACT_LINEAGE_TABLE: pl.concat([p.lineage for p in parts]),
    }


def _customer_ranges(xref: pl.DataFrame, *, records: int) -> Iterator[pl.DataFrame]:
    """The xref in consecutive ``unified_id`` ranges of about ``records`` records each.

    A company's contacts are found among its own records only, and both tables are
    sorted by ``unified_id`` first, so the ranges' outputs stacked in order are the
    whole population's: only the temporaries (the keys' label propagation, the
    lineage's long frame) shrink to one range's, as survivorship's do
    (``lineage.golden.PART_RECORDS``). At least one range, empty when ``xref`` is.
    """
    sizes = xref.group_by("unified_id").len().sort("unified_id")
    ranges = sizes.select(
        "unified_id", ((pl.col("len").cum_sum() - pl.col("len")) // records).alias("_range")
    )
    numbered = xref.join(ranges, on="unified_id", how="left", maintain_order="left")
    for number in ranges["_range"].unique().sort().to_list() or [0]:
        yield numbered.filter(pl.col("_range") == number).drop("_range")
