"""Accounts and contacts: the people who act for a company customer, one row each.

A company customer keeps one golden row; the people behind its records (the CRM's
contact, the ERP's 联系人, ticket requesters, shop buyers) become
``customer_contacts`` rows under it, as Salesforce keeps Contacts under an Account.

Per record of a company customer the contact is read as:

- ``name``: the record's ``name`` when the record itself says ``person`` (a ticket
  or shop order without a company: the requester; its ``contact_name`` is whom a
  parcel went to), else its ``contact_name``;
- ``email``: the record's valid e-mail unless it is a role mailbox (info@, sales@ ...);
- ``phone``: the record's valid phone unless it is a main line (a fixed line, by
  libphonenumber's type) or the company's golden phone.

Records sharing a contact's e-mail, phone or normalised name are one contact
(connected components by label propagation over those keys, within the customer).
``contact_id`` is ``CT-`` + the first 16 hex digits of SHA-256 over the unified ID and
the contact's identity: its smallest e-mail, else phone, else normalised name; so it
is the same on every run while the customer keeps its unified ID and the contact its
identity (a merged customer's surviving ID keeps its contacts' IDs). Each value is the
one most of the contact's records hold (letters and digits, case-folded), ties to the
latest record then the smaller record key (rule ``most_frequent``), and
``lineage`` names the record and source column it came from, like ``field_lineage``
for golden fields (published as ``customer_contact_lineage``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from connectors.canonical import RECORD_KEY_COLUMNS
from lineage.linking import ROLE_MAILBOX, linked_components
from lineage.roles import PARTIAL_PERSON_NAME, phone_number_type
from lineage.trust import normalised_value

CONTACT_COLUMNS: tuple[str, ...] = (
    "unified_id", "contact_id", "name", "email", "phone", "first_seen_at", "last_seen_at",
    "source_count", "record_count", "source_records", "run_id",
)  # fmt: skip
CONTACT_LINEAGE_COLUMNS: tuple[str, ...] = (
    "unified_id", "contact_id", "field", "value", "source_system", "source_record_id",
    "source_column", "source_updated_at", "rule", "run_id",
)  # fmt: skip
CONTACT_FIELDS = ("name", "email", "phone")
# The standardised records' columns read here (a subset of GOLDEN_INPUT_COLUMNS).
CONTACT_INPUT_COLUMNS: tuple[str, ...] = (
    *RECORD_KEY_COLUMNS, "source_updated_at", "source_columns", "customer_type", "name",
    "contact_name", "email", "email_valid", "phone", "phone_valid",
)  # fmt: skip
CONTACT_RULE = "most_frequent"


@dataclass(frozen=True)
class CustomerContacts:
    """``contacts`` (``CONTACT_COLUMNS``) and their ``lineage`` (``CONTACT_LINEAGE_COLUMNS``)."""

    contacts: pl.DataFrame
    lineage: pl.DataFrame


def _column_of(field: str) -> pl.Expr:
    return pl.col("source_columns").str.json_path_match(f"$.{field}")


def _contact_values(records: pl.DataFrame, company_phone: pl.DataFrame) -> pl.DataFrame:
    """One row per record with a contact: its name, e-mail, phone and their source columns."""
    phones = records["phone"].drop_nulls().unique().sort().to_list()
    kinds = phone_number_type(phones)
    requester = pl.col("customer_type") == "person"
    valid_email = pl.col("email_valid").fill_null(True) & ~pl.col("email").str.contains(
        ROLE_MAILBOX
    )
    personal_phone = (
        pl.col("phone_valid").fill_null(True)
        & (pl.col("phone").replace_strict(kinds, default="line") != "main_line")
        & pl.col("phone").ne_missing(pl.col("_company_phone"))
    )
    return (
        records.join(company_phone, on="unified_id", how="left")
        .select(
            "unified_id",
            *RECORD_KEY_COLUMNS,
            "source_updated_at",
            # A person's own record names whom its parcel went to, not a contact.
            pl.when(requester).then("name").otherwise("contact_name").alias("name"),
            pl.when(requester)
            .then(_column_of("name"))
            .otherwise(_column_of("contact_name"))
            .alias("name_column"),
            pl.when(valid_email).then("email").alias("email"),
            _column_of("email").alias("email_column"),
            pl.when(personal_phone).then("phone").alias("phone"),
            _column_of("phone").alias("phone_column"),
        )
        .filter(pl.any_horizontal(pl.col(f).is_not_null() for f in CONTACT_FIELDS))
        .with_columns(pl.int_range(pl.len()).alias("_node"))
    )


def _components(values: pl.DataFrame) -> pl.DataFrame:
    """``_node -> _component``: records linked by a shared e-mail, phone or name key."""
    keys = pl.concat(
        [
            values.select(
                "_node",
                pl.format("{}\x1f{}:{}", "unified_id", pl.lit(prefix), expr).alias("_key"),
            ).drop_nulls("_key")
            for prefix, expr in (
                ("e", pl.col("email").str.to_lowercase()),
                ("p", pl.col("phone")),
                # A title or a lone given name (张先生, 'Jessie') is no one's identity.
                (
                    "n",
                    pl.when(~pl.col("name").str.contains(PARTIAL_PERSON_NAME)).then(
                        normalised_value(pl.col("name"))
                    ),
                ),
            )
        ]
    ).filter(~pl.col("_key").str.ends_with(":"))
    return linked_components(keys, values["_node"])


def _contact_id(unified_id: str, identity: str) -> str:
    digest = hashlib.sha256(f"{unified_id}\x1f{identity}".encode()).hexdigest()
    return f"CT-{digest[:16]}"


def customer_contacts(
    std_records: pl.DataFrame,
    xref: pl.DataFrame,
    golden_customer: pl.DataFrame,
    *,
    run_id: str,
) -> CustomerContacts:
    """The contact persons of every company customer, with where each value came from.

    Args:
        std_records: The standardised records survivorship reads
            (``lineage.golden.GOLDEN_INPUT_COLUMNS``).
        xref: ``source_system, source_record_id, unified_id``.
        golden_customer: ``unified_id, customer_type, phone`` (the golden record):
            which customers are companies, and their main line.
        run_id: Stamped on every row.

    Returns:
        ``CustomerContacts(contacts, lineage)``, sorted by unified_id and contact_id.

    Example::

        golden = build_golden_record(std, xref, sources=..., settings=..., run_id=run)
        contacts = customer_contacts(std, xref, golden.golden_customer, run_id=run)
        contacts.contacts.filter(pl.col("unified_id") == "FU-00000025")
    """
    companies = golden_customer.filter(pl.col("customer_type") == "company").select(
        "unified_id", pl.col("phone").alias("_company_phone")
    )
    records = std_records.join(
        xref.select(*RECORD_KEY_COLUMNS, "unified_id"), on=RECORD_KEY_COLUMNS, how="inner"
    ).join(companies.select("unified_id"), on="unified_id", how="semi")
    values = _contact_values(records, companies)
    values = values.join(_components(values), on="_node", how="left")
    identity = (
        values.group_by("unified_id", "_component")
        .agg(
            pl.coalesce(
                pl.col("email").str.to_lowercase().min(),
                pl.col("phone").min(),
                normalised_value(pl.col("name")).min(),
            ).alias("_identity")
        )
        .with_columns(
            pl.struct("unified_id", "_identity")
            .map_batches(
                lambda s: pl.Series(
                    [_contact_id(u, i) for u, i in zip(*s.struct.unnest(), strict=True)],
                    dtype=pl.String,
                ),
                return_dtype=pl.String,
            )
            .alias("contact_id")
        )
    )
    values = values.join(identity, on=["unified_id", "_component"], how="left")
    lineage = _lineage(values, run_id=run_id)
    chosen = lineage.group_by("contact_id").agg(
        pl.col("value").filter(pl.col("field") == f).first().alias(f) for f in CONTACT_FIELDS
    )
    record = pl.format("{}:{}", "source_system", "source_record_id")
    contacts = (
        values.group_by("unified_id", "contact_id")
        .agg(
            pl.col("source_updated_at").min().alias("first_seen_at"),
            pl.col("source_updated_at").max().alias("last_seen_at"),
            pl.col("source_system").n_unique().cast(pl.Int64).alias("source_count"),
            pl.len().cast(pl.Int64).alias("record_count"),
            record.unique().sort().alias("source_records"),
        )
        .join(chosen, on="contact_id", how="left")
        .with_columns(pl.lit(run_id, pl.String).alias("run_id"))
        .select(CONTACT_COLUMNS)
        .sort("unified_id", "contact_id")
    )
    return CustomerContacts(contacts=contacts, lineage=lineage)


def _lineage(values: pl.DataFrame, *, run_id: str) -> pl.DataFrame:
    """Per contact and field, the winning value's record (most frequent, then latest)."""
    long = pl.concat(
        [
            values.select(
                "unified_id",
                "contact_id",
                pl.lit(field).alias("field"),
                pl.col(field).alias("value"),
                *RECORD_KEY_COLUMNS,
                pl.col(f"{field}_column").alias("source_column"),
                "source_updated_at",
            ).drop_nulls("value")
            for field in CONTACT_FIELDS
        ]
    )
    group = ("contact_id", "field")
    frequency = pl.len().over(*group, normalised_value(pl.col("value")))
    return (
        long.with_columns(frequency.alias("_frequency"))
        .sort(
            [*group, "_frequency", "source_updated_at", *RECORD_KEY_COLUMNS],
            descending=[False, False, True, True, False, False],
            nulls_last=True,
        )
        .unique(subset=list(group), keep="first", maintain_order=True)
        .with_columns(pl.lit(CONTACT_RULE).alias("rule"), pl.lit(run_id, pl.String).alias("run_id"))
        .select(CONTACT_LINEAGE_COLUMNS)
        .sort("unified_id", "contact_id", "field")
    )
