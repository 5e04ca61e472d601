"""A company customer's contact persons as the auditor's report shows them.

One row per contact (``customer_contacts``) with, beside each value, where it
came from (``customer_contact_lineage``): ``<value>_source`` reads
``system:record_id · column``. Shared by the terminal report (``lineage.report``)
and its HTML page (``lineage.html``).

Example::

    with contextlib.closing(open_warehouse(warehouse_dir)) as con:
        contacts = load_contacts(con, "FU-00000398", tables=table_names(con))
    contacts.select("name", "name_source")
    # ("Jennifer Anderson", "tickets:T-0005609 · requester_name")
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb
import polars as pl

from lineage.contacts import CONTACT_FIELDS
from lineage.masking import mask_field_columns

CONTACTS_TABLE = "customer_contacts"
CONTACT_LINEAGE_TABLE = "customer_contact_lineage"
# What the reports show of a contact, in this order; headers for the HTML table.
CONTACT_REPORT_COLUMNS: dict[str, str] = {
    "contact_id": "contact", "name": "name", "name_source": "name from", "email": "e-mail",
    "email_source": "e-mail from", "phone": "phone", "phone_source": "phone from",
    "first_seen_at": "first seen", "last_seen_at": "last seen",
    "source_records": "source records",
}  # fmt: skip
# A contact's name is a person's name: masked like the golden contact_name.
_MASKED_AS = {"name": "contact_name"}


def load_contacts(
    con: duckdb.DuckDBPyConnection,
    unified_id: str,
    *,
    tables: Collection[str],
    limit: int | None = None,
) -> pl.DataFrame:
    """The customer's contacts with the source of each value (empty: none, or an older release).

    ``limit``: the first contacts only (by name), and only their values' sources.
    """
    if CONTACTS_TABLE not in tables:
        return pl.DataFrame()
    contacts = con.sql(
        f"SELECT * FROM {CONTACTS_TABLE} WHERE unified_id = ? ORDER BY name, contact_id LIMIT ?",
        params=[unified_id, limit],
    ).pl()
    if CONTACT_LINEAGE_TABLE not in tables or contacts.is_empty():
        return contacts
    lineage = con.sql(
        "SELECT contact_id, field, source_system || ':' || source_record_id || "
        f"coalesce(' · ' || source_column, '') AS source FROM {CONTACT_LINEAGE_TABLE} "
        "WHERE unified_id = ? AND list_contains(?, contact_id)",
        params=[unified_id, contacts["contact_id"].to_list()],
    ).pl()
    sources = [
        lineage.filter(pl.col("field") == field).select(
            "contact_id", pl.col("source").alias(f"{field}_source")
        )
        for field in CONTACT_FIELDS
    ]
    for source in sources:
        contacts = contacts.join(source, on="contact_id", how="left", maintain_order="left")
    return contacts


def contacts_by_value(contacts: pl.DataFrame) -> pl.DataFrame:
    """The contacts one value a row (``contact_id, field, value, source``), for narrow screens.

    Per contact, in order: its name, e-mail and phone with their sources, then
    ``seen`` (first to last) and ``records`` (its source records).
    """
    if contacts.is_empty():
        return pl.DataFrame(
            schema=dict.fromkeys(("contact_id", "field", "value", "source"), pl.String)
        )
    numbered = contacts.with_row_index("_contact")
    seen = pl.concat_str(
        pl.col("first_seen_at").dt.strftime("%Y-%m-%d"),
        pl.col("last_seen_at").dt.strftime("%Y-%m-%d"),
        separator=" to ",
    )
    parts = [
        numbered.select(
            "_contact", "contact_id", pl.lit(field).alias("field"), pl.col(field).alias("value"),
            (pl.col(f"{field}_source") if f"{field}_source" in contacts.columns
             else pl.lit(None, pl.String)).alias("source"),
        )
        for field in CONTACT_FIELDS
    ]  # fmt: skip
    parts.append(
        numbered.select("_contact", "contact_id", pl.lit("seen").alias("field"),
                        seen.alias("value"), pl.lit(None, pl.String).alias("source"))
    )  # fmt: skip
    parts.append(
        numbered.select("_contact", "contact_id", pl.lit("records").alias("field"),
                        pl.col("source_records").list.join(", ").alias("value"),
                        pl.lit(None, pl.String).alias("source"))
    )  # fmt: skip
    order = {field: i for i, field in enumerate((*CONTACT_FIELDS, "seen", "records"))}
    return (
        pl.concat(parts)
        .drop_nulls("value")
        .sort("_contact", pl.col("field").replace_strict(order, return_dtype=pl.UInt8))
        .drop("_contact")
    )


def mask_contacts(contacts: pl.DataFrame) -> pl.DataFrame:
    """Names, e-mails and phones of the contacts masked (``lineage.masking``)."""
    if contacts.is_empty():
        return contacts
    renamed = contacts.rename({k: v for k, v in _MASKED_AS.items() if k in contacts.columns})
    masked = mask_field_columns(renamed, ["contact_name", "email", "phone"])
    return masked.rename({v: k for k, v in _MASKED_AS.items() if v in masked.columns})
