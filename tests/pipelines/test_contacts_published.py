"""customer_contacts and customer_contact_lineage as the samples publish them."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from lineage.contacts import CONTACT_COLUMNS, CONTACT_LINEAGE_COLUMNS
from tests.pipelines.conftest import SAMPLES, run_samples
from tests.pipelines.test_identity_lifecycle import CrmExport

CONTACT_TABLES = ("customer_contacts", "customer_contact_lineage")
# A company of the CRM export whose contact person (杨霞晨) has a mobile of her own.
COMPANY_RECORD = "CRM-000061"
NEW_RECORD = "CRM-900001"
NEW_PERSON = {"contact_person": "周丽娟", "email": "lijuan.zhou@shangpin-cs.com",
              "phone": "139 1234 5678"}  # fmt: skip


def _tables(warehouse: Path, *names: str) -> dict[str, pl.DataFrame]:
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        return {name: con.sql(f'SELECT * FROM "{name}"').pl() for name in names}


def _in_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Zoned times in UTC (DuckDB names it ``Etc/UTC``, the Parquet mirror ``UTC``)."""
    zoned = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))


def test_the_samples_publish_contacts_and_their_lineage(sample_warehouse: Path) -> None:
    tables = _tables(sample_warehouse, *CONTACT_TABLES, "golden_customer", "customer_xref")
    contacts, lineage = tables["customer_contacts"], tables["customer_contact_lineage"]
    assert contacts.columns == list(CONTACT_COLUMNS)
    assert lineage.columns == list(CONTACT_LINEAGE_COLUMNS)
    for name in CONTACT_TABLES:  # mirrored in Parquet like every table
        mirror = pl.read_parquet(sample_warehouse / "parquet" / f"{name}.parquet")
        assert _in_utc(mirror).equals(_in_utc(tables[name])), name
    # Contacts hang under company customers only; most companies have one.
    golden = tables["golden_customer"]
    types = contacts.join(golden, on="unified_id", how="left")["customer_type"]
    assert types.to_list() == ["company"] * contacts.height
    companies = golden.filter(pl.col("customer_type") == "company").height
    assert contacts["unified_id"].n_unique() > 0.95 * companies
    assert contacts["contact_id"].is_unique().all()
    # Every record a contact names belongs to its customer.
    xref = tables["customer_xref"].select(
        pl.format("{}:{}", "source_system", "source_record_id").alias("record"), "unified_id"
    )
    held = contacts.explode("source_records").select(
        pl.col("source_records").alias("record"), "unified_id"
    )
    assert held.join(xref, on=["record", "unified_id"], how="anti").is_empty()
    # Each non-null value has exactly one lineage row naming its record and column.
    values = contacts.unpivot(
        ["name", "email", "phone"], index="contact_id", variable_name="field"
    ).drop_nulls("value")
    named = lineage.drop_nulls(["source_record_id", "source_column"])
    assert values.sort(pl.all()).equals(named.select("contact_id", "field", "value").sort(pl.all()))


def _contacts(warehouse: Path) -> pl.DataFrame:
    return _in_utc(_tables(warehouse, "customer_contacts")["customer_contacts"].drop("run_id"))


def _unified_id(warehouse: Path, record_id: str) -> str:
    xref = _tables(warehouse, "customer_xref")["customer_xref"]
    return str(xref.filter(pl.col("source_record_id") == record_id)["unified_id"].item())


@pytest.mark.slow
def test_contact_ids_stay_across_runs_and_a_new_contact_person_gets_a_row(
    tmp_path: Path,
) -> None:
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    config, warehouse = samples / "fusion.yaml", tmp_path / "wh"
    run_samples(warehouse, config)
    first = _contacts(warehouse)
    run_samples(warehouse, config)  # incremental, the same data
    assert _contacts(warehouse).equals(first)

    # The company's CRM account gains a second contact person (a record of its own).
    crm = CrmExport(samples / "crm_customers.csv")
    company = next(r for r in crm.rows if r[0] == COMPANY_RECORD)
    account = dict(zip(crm.header, company, strict=True))
    crm.rows.append(crm.record(**{**account, "customer_id": NEW_RECORD, **NEW_PERSON}))
    crm.write()
    run_samples(warehouse, config)  # incremental: one record more

    unified_id = _unified_id(warehouse, COMPANY_RECORD)
    assert _unified_id(warehouse, NEW_RECORD) == unified_id  # merged into the company
    after = _contacts(warehouse)
    before_ids = set(first["contact_id"])
    new = after.filter(~pl.col("contact_id").is_in(list(before_ids)))
    assert new.select("unified_id", "name", "email", "phone", "source_records").rows() == [
        (unified_id, "周丽娟", "lijuan.zhou@shangpin-cs.com", "+8613912345678",
         [f"crm:{NEW_RECORD}"]),
    ]  # fmt: skip
    # One row per person under the company, the first contact's ID and values unchanged.
    of_company = after.filter(pl.col("unified_id") == unified_id).sort("name")
    assert of_company["name"].to_list() == ["周丽娟", "杨霞晨"]
    assert after.join(new, on="contact_id", how="anti").equals(first)


def test_contacts_found_in_ranges_of_customers_are_the_whole_populations(
    sample_warehouse: Path,
) -> None:
    from pipelines.stages.contacts import contact_tables

    tables = _tables(sample_warehouse, "standardised_records", "customer_xref", "golden_customer")
    run = {"run_id": "ranges"}
    whole = contact_tables(
        tables["standardised_records"],
        tables["customer_xref"],
        tables["golden_customer"],
        part_records=10**9,
        **run,
    )
    ranged = contact_tables(
        tables["standardised_records"],
        tables["customer_xref"],
        tables["golden_customer"],
        part_records=50,
        **run,
    )
    assert whole["customer_contacts"].height > 1_000
    for name in CONTACT_TABLES:
        assert ranged[name].equals(whole[name]), name
