"""customer_contacts: contact persons under company customers, stable IDs, lineage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from lineage import SurvivorshipSettings, build_golden_record
from lineage.contacts import CONTACT_COLUMNS, CONTACT_LINEAGE_COLUMNS, customer_contacts

Builder = Callable[..., pl.DataFrame]
SOURCES = {"crm": {"default": 0.8}, "erp": {"default": 0.85}, "tickets": {"default": 0.5}}
RECORDS: list[dict[str, Any]] = [
    # U1, a company: its main line and info@ mailbox are the company's, not a contact's.
    {"system": "erp", "id": "E1", "at": "2024-01-01", "customer_type": "company",
     "name": "上海瑞凯软件有限公司", "contact_name": "郭明", "email": "info@ruikai.cn",
     "phone": "+862172806681"},
    {"system": "crm", "id": "C1", "at": "2024-03-01", "customer_type": "company",
     "name": "上海瑞凯软件有限公司", "contact_name": "郭明", "email": "guo.ming@ruikai.cn",
     "phone": "+8613800138000"},
    # The same person by e-mail (a ticket without a company: the requester is the name).
    {"system": "tickets", "id": "T1", "at": "2024-05-01", "customer_type": "person",
     "name": "Guo Ming", "email": "GUO.MING@ruikai.cn"},
    # Another contact, known only by a mobile, then by that mobile and a name.
    {"system": "tickets", "id": "T2", "at": "2024-06-01", "phone": "+8613900139000"},
    {"system": "crm", "id": "C2", "at": "2023-01-01", "customer_type": "company",
     "name": "上海瑞凯软件有限公司", "contact_name": "王静", "phone": "+8613900139000"},
    # U2, a person: no contacts.
    {"system": "crm", "id": "C3", "at": "2024-01-01", "customer_type": "person",
     "name": "张伟", "email": "zhangwei@qq.com"},
]  # fmt: skip
CLUSTERS = {
    "U1": [("erp", "E1"), ("crm", "C1"), ("tickets", "T1"), ("tickets", "T2"), ("crm", "C2")],
    "U2": [("crm", "C3")],
}


def _contacts(
    make_std: Builder,
    make_xref: Builder,
    records: list[dict[str, Any]],
    clusters: dict[str, list[tuple[str, str]]] = CLUSTERS,
) -> Any:
    std, xref = make_std(records), make_xref(clusters)
    settings = SurvivorshipSettings(decay_by_field={})
    golden = build_golden_record(std, xref, sources=SOURCES, settings=settings, run_id="r")
    return customer_contacts(std, xref, golden.golden_customer, run_id="r")


@pytest.fixture
def contacts(make_std: Builder, make_xref: Builder) -> Any:
    return _contacts(make_std, make_xref, RECORDS)


def test_one_row_per_contact_person(contacts: Any) -> None:
    rows = contacts.contacts.sort("name").select("unified_id", "name", "email", "phone").rows()
    assert rows == [
        ("U1", "王静", None, "+8613900139000"),
        ("U1", "郭明", "GUO.MING@ruikai.cn", "+8613800138000"),  # the latest spelling
    ]
    assert contacts.contacts.columns == list(CONTACT_COLUMNS)
    assert contacts.lineage.columns == list(CONTACT_LINEAGE_COLUMNS)


def test_records_and_dates_of_a_contact(contacts: Any) -> None:
    guo = contacts.contacts.filter(pl.col("name") == "郭明").to_dicts()[0]
    assert guo["source_records"] == ["crm:C1", "erp:E1", "tickets:T1"]
    assert (guo["source_count"], guo["record_count"]) == (3, 3)
    assert (guo["first_seen_at"].date().isoformat(), guo["last_seen_at"].date().isoformat()) == (
        "2024-01-01",
        "2024-05-01",
    )


def test_every_contact_record_belongs_to_its_customer(contacts: Any, make_xref: Builder) -> None:
    xref = make_xref(CLUSTERS).select(
        pl.format("{}:{}", "source_system", "source_record_id").alias("record"), "unified_id"
    )
    held = contacts.contacts.explode("source_records").select(
        pl.col("source_records").alias("record"), "unified_id"
    )
    assert held.join(xref, on=["record", "unified_id"], how="anti").is_empty()


def test_each_non_null_value_has_one_lineage_row(contacts: Any) -> None:
    values = contacts.contacts.unpivot(
        ["name", "email", "phone"], index="contact_id", variable_name="field"
    ).drop_nulls("value")
    lineage = contacts.lineage.select("contact_id", "field", "value")
    assert values.sort(pl.all()).equals(lineage.sort(pl.all()))
    email = contacts.lineage.filter(pl.col("field") == "email").to_dicts()[0]
    # Two records write it, case apart: the later one's spelling and column are named.
    assert (email["source_system"], email["source_record_id"], email["source_column"]) == (
        "tickets",
        "T1",
        "tickets.email",
    )


def test_contact_ids_are_stable_across_runs_and_input_order(
    contacts: Any, make_std: Builder, make_xref: Builder
) -> None:
    again = _contacts(make_std, make_xref, list(reversed(RECORDS)))
    assert again.contacts.equals(contacts.contacts)
    assert again.lineage.equals(contacts.lineage)


def test_a_new_record_keeps_the_existing_contact_ids(
    contacts: Any, make_std: Builder, make_xref: Builder
) -> None:
    later = {"system": "tickets", "id": "T9", "at": "2024-09-01", "customer_type": "person",
             "name": "郭明", "email": "guo.ming@ruikai.cn"}  # fmt: skip
    clusters = {**CLUSTERS, "U1": [*CLUSTERS["U1"], ("tickets", "T9")]}
    grown = _contacts(make_std, make_xref, [*RECORDS, later], clusters)
    assert set(grown.contacts["contact_id"]) == set(contacts.contacts["contact_id"])


@pytest.mark.parametrize(
    ("case", "first", "second", "rows"),
    [
        ("one full name is one person", "郭明", "郭明", 1),
        ("a lone given name is no one's identity", "Jessie", "Jessie", 2),
        ("a title is no one's identity", "郭先生", "郭先生", 2),
        ("a handle is no one's identity", "jessie_2024", "jessie_2024", 2),
    ],
)  # fmt: skip
def test_names_that_link_records_into_one_contact(
    make_std: Builder, make_xref: Builder, case: str, first: str, second: str, rows: int
) -> None:
    """Two records of a company, different e-mails: only a whole name makes them one person."""
    records = [
        {"system": "crm", "id": "C1", "at": "2024-01-01", "customer_type": "company",
         "name": "上海瑞凯软件有限公司", "contact_name": first, "email": "kang@ruikai.cn"},
        {"system": "erp", "id": "E1", "at": "2024-02-01", "customer_type": "company",
         "name": "上海瑞凯软件有限公司", "contact_name": second, "email": "jia@ruikai.cn"},
    ]  # fmt: skip
    clusters = {"U1": [("crm", "C1"), ("erp", "E1")]}
    assert _contacts(make_std, make_xref, records, clusters).contacts.height == rows, case
