"""An untyped customer is a company when a record names its contact (lineage.inferred_type)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from lineage import SurvivorshipSettings, build_golden_record, customer_contacts

Builder = Callable[..., pl.DataFrame]
SOURCES = {"crm": {"default": 0.9}, "tickets": {"default": 0.6}}
SETTINGS = SurvivorshipSettings(decay_by_field={})


def _ticket(n: int, name: str | None, contact: str | None, **fields: Any) -> dict[str, Any]:
    return {"system": "tickets", "id": f"T{n}", "at": "2024-01-01", "name": name,
            "contact_name": contact, **fields}  # fmt: skip


def _build(
    make_std: Builder,
    make_xref: Builder,
    records: list[dict[str, Any]],
    settings: SurvivorshipSettings = SETTINGS,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    std = make_std(records)
    xref = make_xref({"U1": [(r["system"], r["id"]) for r in records]})
    golden = build_golden_record(std, xref, sources=SOURCES, settings=settings, run_id="r")
    return std, xref, golden


@pytest.mark.parametrize(
    ("case", "records", "expected", "column"),
    [
        (
            "tickets only, a contact besides the company's name: a company",
            [_ticket(1, "Novasight", "Bruce Elsworth"), _ticket(2, "Novasight", None)],
            "company",
            "tickets.contact_name",
        ),
        (
            "tickets only, no contact named: no type",
            [_ticket(1, "王成成", None), _ticket(2, "成成", None)],
            None,
            None,
        ),
        (
            "a contact name equal to the record's own name is no evidence",
            [_ticket(1, "Anna Lee", "ANNA LEE")],
            None,
            None,
        ),
        (
            "a typed record decides: a person's ticket naming someone stays a person",
            [
                {"system": "crm", "id": "C1", "at": "2023-01-01", "customer_type": "person",
                 "name": "Anna Lee"},
                _ticket(1, "Anna Lee", "Ben Wu"),
            ],
            "person",
            "crm.customer_type",
        ),
    ],
)  # fmt: skip
def test_inferred_type(
    make_std: Builder,
    make_xref: Builder,
    case: str,
    records: list[dict[str, Any]],
    expected: str | None,
    column: str | None,
) -> None:
    _, _, golden = _build(make_std, make_xref, records)
    assert golden.golden_customer["customer_type"].to_list() == [expected], case
    lineage = golden.field_lineage.filter(pl.col("field") == "customer_type")
    assert lineage["source_column"].to_list() == ([column] if column else []), case


def test_off_leaves_the_type_empty(make_std: Builder, make_xref: Builder) -> None:
    off = SurvivorshipSettings(decay_by_field={}, infer_company_type=False)
    _, _, golden = _build(make_std, make_xref, [_ticket(1, "Novasight", "Bruce")], off)
    assert golden.golden_customer["customer_type"].to_list() == [None]


def test_a_ticket_only_company_gets_its_contacts(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _ticket(1, "Novasight", "Bruce Elsworth", email="belsworth@novasight.com"),
        _ticket(2, "Novasight", "Ann Wu", email="ann.wu@novasight.com"),
    ]
    std, xref, golden = _build(make_std, make_xref, records)
    contacts = customer_contacts(std, xref, golden.golden_customer, run_id="r").contacts
    assert sorted(contacts["name"].to_list()) == ["Ann Wu", "Bruce Elsworth"]
    # the company's own name: not a contact's
    assert golden.golden_customer["name"].to_list() == ["Novasight"]
