"""Aggregation: every distinct e-mail and phone of a customer is kept, with its sources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from lineage import CONTACT_POINT_COLUMNS, SurvivorshipSettings, build_golden_record
from lineage.contact_points import customer_contact_points

Builder = Callable[..., pl.DataFrame]
SOURCES = {"crm": {"default": 0.8}, "erp": {"default": 0.9}, "shop": {"default": 0.7}}


def _points(records: list[dict[str, Any]], make_std: Builder, make_xref: Builder) -> pl.DataFrame:
    clusters: dict[str, list[tuple[str, str]]] = {}
    for r in records:
        clusters.setdefault(r.pop("uid", "U1"), []).append((r["system"], r["id"]))
    golden = build_golden_record(
        make_std(records),
        make_xref(clusters),
        sources=SOURCES,
        settings=SurvivorshipSettings(),
        run_id="r1",
    )
    return customer_contact_points(golden.field_candidates)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param(
            [{"system": "crm", "id": "C1", "at": "2024-01-01", "email": "li@acme.cn"},
             {"system": "erp", "id": "E1", "at": "2024-01-01", "email": "li@acme.cn"}],
            [("U1", "email", "li@acme.cn", True, ["crm", "erp"], ["crm:C1", "erp:E1"])],
            id="one value from two sources is one contact point",
        ),
        pytest.param(
            [{"system": "crm", "id": "C1", "at": "2024-01-01", "email": "li@acme.cn"},
             {"system": "erp", "id": "E1", "at": "2024-01-01", "email": "wei@acme.cn"},
             {"system": "erp", "id": "E2", "at": "2023-01-01", "email": "Li@Acme.cn"}],
            # li@ (two sources, confirmed fresh) wins; shown as its most trusted spelling
            [("U1", "email", "Li@Acme.cn", True, ["crm", "erp"], ["crm:C1", "erp:E2"]),
             ("U1", "email", "wei@acme.cn", False, ["erp"], ["erp:E1"])],
            id="one row per distinct value, the golden one first, losers kept",
        ),
        pytest.param(
            [{"system": "crm", "id": "C1", "at": "2024-01-01", "email": "li@acme.cn",
              "phone": "+8613800138000"},
             {"system": "shop", "id": "S1", "at": "2024-01-01", "phone": "021-5555",
              "phone_valid": False}],
            [("U1", "email", "li@acme.cn", True, ["crm"], ["crm:C1"]),
             ("U1", "phone", "+8613800138000", True, ["crm"], ["crm:C1"]),
             ("U1", "phone", "021-5555", False, ["shop"], ["shop:S1"])],
            id="emails before phones; an invalid phone is kept",
        ),
        pytest.param(
            [{"system": "crm", "id": "C1", "at": "2024-01-01", "email": "li@acme.cn"},
             {"uid": "U2", "system": "erp", "id": "E1", "at": "2024-01-01", "email": "li@acme.cn"}],
            [("U1", "email", "li@acme.cn", True, ["crm"], ["crm:C1"]),
             ("U2", "email", "li@acme.cn", True, ["erp"], ["erp:E1"])],
            id="per customer",
        ),
        pytest.param(
            [{"system": "crm", "id": "C1", "at": "2024-01-01", "name": "Acme"}],
            [],
            id="no e-mail or phone: no rows",
        ),
    ],
)  # fmt: skip
def test_contact_points(
    records: list[dict[str, Any]],
    expected: list[tuple[Any, ...]],
    make_std: Builder,
    make_xref: Builder,
) -> None:
    points = _points(records, make_std, make_xref)
    assert points.columns == list(CONTACT_POINT_COLUMNS)
    got = points.select(
        "unified_id", "kind", "value", "is_primary", "source_systems", "source_records"
    ).rows()
    assert got == expected
    assert points["is_primary"].sum() <= points.select("unified_id", "kind").n_unique()


def test_contact_points_carry_validation_and_dates(make_std: Builder, make_xref: Builder) -> None:
    points = _points(
        [
            {
                "system": "crm",
                "id": "C1",
                "at": "2021-01-01",
                "phone": "021-5555",
                "phone_valid": False,
            },
            {
                "system": "erp",
                "id": "E1",
                "at": "2024-01-01",
                "phone": "021-5555",
                "phone_valid": False,
            },
        ],  # fmt: skip
        make_std,
        make_xref,
    )
    row = points.row(0, named=True)
    assert row["validation_issues"] == "invalid phone"
    assert row["record_count"] == 2
    assert (row["first_seen_at"].year, row["last_seen_at"].year) == (2021, 2024)
    assert row["run_id"] == "r1"


def test_missing_columns_raise() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        customer_contact_points(pl.DataFrame({"unified_id": ["U1"]}))
