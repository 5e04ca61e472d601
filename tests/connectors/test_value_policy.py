"""Invalid values: an identifying field or the ID quarantines the row, others drop the value."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.config import FieldMapping, invalid_value_policy
from connectors.errors import ConfigError
from connectors.time_window import VALUE_REJECTIONS_SCHEMA
from tests.connectors.conftest import LoadRows, MakeSource

HEADER = ["id", "name", "land", "staff", "tier", "kind"]
FIELDS: dict[str, Any] = {
    "name": "name",
    "country": "land",
    "size_band": "staff",
    "tier": {"column": "tier", "map": {"VIP": "S", "STD": "B"}},
    "customer_type": {"column": "kind", "map": {"co": "company"}, "on_invalid": "drop"},
}


def test_invalid_values_are_dropped_and_recorded(load_rows: LoadRows) -> None:
    rows = [
        HEADER,
        ["C1", "Acme", "Atlantis", "lots", "vip", "co"],
        ["C2", "Beta", "中国", "85", "STD", "robot"],
        ["C3", "Gamma", "CN", "9", "GOLD", "co"],  # a code the tier map lacks: quarantined
        ["", "Delta", "Mars", "", "", ""],  # no record ID: quarantined, nothing recorded
    ]
    batch = load_rows(rows, fields=FIELDS)
    assert batch.rows_in == batch.records.height + batch.quarantine.height == 4
    records = {r["source_record_id"]: r for r in batch.records.iter_rows(named=True)}
    assert sorted(records) == ["C1", "C2"]
    c1, c2 = records["C1"], records["C2"]
    assert (c1["country"], c1["size_band"], c1["tier"], c1["customer_type"]) == (
        None, None, "S", "company",
    )  # fmt: skip
    assert (c2["country"], c2["size_band"], c2["customer_type"]) == ("CN", "50-249", None)
    # A dropped value leaves no lineage entry behind.
    assert '"country"' not in c1["source_columns"]
    assert '"country"' in c2["source_columns"]
    assert batch.quarantine["reason"].to_list() == [
        "column 'tier': unmapped value 'GOLD'",
        "missing record id (column 'id')",
    ]
    rejections = batch.value_rejections
    assert rejections.schema == VALUE_REJECTIONS_SCHEMA
    shown = ("source_file", "source_record_id", "source_column", "field", "value")
    assert rejections.select(shown).rows() == [
        ("export.csv", "C1", "land", "country", "Atlantis"),
        ("export.csv", "C1", "staff", "size_band", "lots"),
        ("export.csv", "C2", "kind", "customer_type", "robot"),
    ]  # fmt: skip
    assert rejections["reason"].to_list() == [
        "column 'land': 'Atlantis' is not a country name or code known to ISO 3166 "
        "(English or Chinese)",
        "column 'staff': 'lots' is neither a head count nor a band like '10-49' or '1000+'",
        "column 'kind': unmapped value 'robot'",
    ]


def test_on_invalid_quarantine_keeps_the_old_behaviour(load_rows: LoadRows) -> None:
    rows = [HEADER, ["C1", "Acme", "Atlantis", "", "", ""]]
    fields = {"name": "name", "country": {"column": "land", "on_invalid": "quarantine"}}
    batch = load_rows(rows, fields=fields)
    assert batch.records.height == 0
    assert batch.quarantine["reason"].item().startswith("column 'land': 'Atlantis' is not")
    assert batch.value_rejections.height == 0


def test_a_vocabulary_field_without_a_map_drops_outside_values(load_rows: LoadRows) -> None:
    rows = [HEADER, ["C1", "Acme", "", "", "Platinum", ""]]
    batch = load_rows(rows, fields={"name": "name", "tier": "tier"})
    assert batch.records["tier"].item() is None
    assert batch.value_rejections["reason"].item() == (
        "field 'tier': 'Platinum' is not one of S, A, B, C (column 'tier')"
    )


def test_rejections_of_a_duplicate_that_lost_are_not_kept(load_rows: LoadRows) -> None:
    rows = [HEADER, ["C1", "Acme", "Atlantis", "", "", ""], ["C1", "Acme", "Mars", "", "", ""]]
    batch = load_rows(rows, fields={"name": "name", "country": "land"})
    assert batch.value_rejections["value"].to_list() == ["Mars"]  # the later row wins


@pytest.mark.parametrize(
    ("field", "mapping", "expected"),
    [
        ("name", FieldMapping(column="n"), "quarantine"),
        ("email", FieldMapping(column="e", map={"x": "y"}), "quarantine"),
        ("tier", FieldMapping(column="t", map={"VIP": "S"}), "quarantine"),
        ("tier", FieldMapping(column="t", map={"VIP": "S"}, on_invalid="drop"), "drop"),
        ("tier", FieldMapping(column="t"), "drop"),
        ("country", FieldMapping(column="c", map={"X": "CN"}), "drop"),
        ("country", FieldMapping(column="c", map={"X": "CN"}, normalise=False), "quarantine"),
        ("size_band", FieldMapping(column="s", on_invalid="quarantine"), "quarantine"),
    ],
)
def test_policy_defaults(field: str, mapping: FieldMapping, expected: str) -> None:
    assert invalid_value_policy(field, mapping) == expected


def test_identifying_fields_cannot_drop(make_source: MakeSource) -> None:
    with pytest.raises(ConfigError, match=r"key 'fields.email.on_invalid': 'email' identifies"):
        make_source(fields={"name": "n", "email": {"column": "e", "on_invalid": "drop"}})


@pytest.mark.parametrize("policy", [None, "quarantine", "drop"])
def test_an_unreadable_timestamp_quarantines_unless_dropped(
    load_rows: LoadRows, policy: str | None
) -> None:
    rows = [["id", "name", "changed"], ["C1", "Acme", "2023-02-30"], ["C2", "Beta", "2024-05-01"]]
    updated_at: dict[str, Any] = {"column": "changed", "format": "iso"}
    if policy is not None:
        updated_at["on_invalid"] = policy
    batch = load_rows(rows, fields={"name": "name"}, updated_at=updated_at)
    reason = "column 'changed': '2023-02-30' is not a valid timestamp (format 'iso')"
    assert batch.rows_in == batch.records.height + batch.quarantine.height == 2
    if policy == "drop":
        c1 = batch.records.filter(pl.col("source_record_id") == "C1")
        assert c1["source_updated_at"].to_list() == [None]  # recency unknown
        shown = ("source_file", "source_record_id", "source_column", "field", "value", "reason")
        assert batch.value_rejections.select(shown).rows() == [
            ("export.csv", "C1", "changed", "updated_at", "2023-02-30", reason)
        ]
        assert batch.quarantine.height == 0
    else:
        assert batch.records["source_record_id"].to_list() == ["C2"]
        assert batch.quarantine.select("source_record_id", "reason").rows() == [("C1", reason)]
        assert batch.value_rejections.height == 0


def test_the_timestamp_policy_is_in_the_json_only_when_set(make_source: MakeSource) -> None:
    spec = {"column": "changed", "format": "iso"}
    default = make_source(updated_at=spec).model_dump(mode="json")["updated_at"]
    dropped = make_source(updated_at={**spec, "on_invalid": "drop"}).model_dump(mode="json")
    assert default == {"column": "changed", "format": "iso", "timezone": "UTC"}
    assert dropped["updated_at"]["on_invalid"] == "drop"
