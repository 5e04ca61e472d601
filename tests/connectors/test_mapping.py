"""Mapping: config-driven cleaning, value maps, provenance and quarantine reasons."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.canonical import CANONICAL_SCHEMA, QUARANTINE_SCHEMA
from connectors.config import SourceConfig
from connectors.errors import SchemaDriftError
from connectors.load import SourceBatch, load_source
from connectors.mapping import map_to_canonical
from connectors.readers.csv_reader import read_csv

MakeSource = Callable[..., SourceConfig]
WriteCsv = Callable[..., Path]
Load = Callable[..., SourceBatch]


@pytest.fixture
def load(make_source: MakeSource, write_csv: WriteCsv) -> Load:
    """``load(rows, **config_overrides)``: write rows as export.csv and load them."""

    def run(rows: list[list[str]], **overrides: Any) -> SourceBatch:
        write_csv(rows)
        return load_source(make_source(**overrides))

    return run


def records_by_id(batch: SourceBatch) -> dict[str, dict[str, Any]]:
    return {r["source_record_id"]: r for r in batch.records.iter_rows(named=True)}


def reasons(batch: SourceBatch) -> dict[int, str]:
    return dict(zip(batch.quarantine["row_number"], batch.quarantine["reason"], strict=True))


def test_output_is_exactly_the_canonical_schema(load: Load) -> None:
    batch = load([["id", "name"], ["C1", "Acme"]], name="crm_eu", path="export.csv")
    assert batch.records.schema == CANONICAL_SCHEMA
    assert batch.quarantine.schema == QUARANTINE_SCHEMA
    row = batch.records.row(0, named=True)
    assert (row["source_system"], row["source_file"], row["row_number"]) == (
        "crm_eu",
        "export.csv",
        1,
    )
    assert row["source_updated_at"] is None


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            ["  C1 ", "  Acme Ltd  ", "   "],
            {"source_record_id": "C1", "name": "Acme Ltd", "email": None},
        ),
        (["C2", "\u3000上海星辰\u3000", "a@b.cn"], {"name": "上海星辰", "email": "a@b.cn"}),
        (["C3", "", " x@y.com "], {"name": None, "email": "x@y.com"}),
    ],
)
def test_cells_are_trimmed_and_empty_is_null(load: Load, cells: list[str], expected: dict) -> None:
    batch = load([["id", "name", "mail"], cells], fields={"name": "name", "email": "mail"})
    record = batch.records.row(0, named=True)
    assert {k: record[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("cell", "expected", "raw_kept"),
    [
        pytest.param("CRM-000075", "CRM-000075", False, id="plain"),
        pytest.param("\ufeffCRM-000075", "CRM-000075", True, id="bom-at-row-start"),
        pytest.param("CRM-\u200b000075\u200d", "CRM-000075", True, id="zero-width-inside"),
        pytest.param("\u2060\u200e CRM-000075 \u200f", "CRM-000075", True, id="marks-and-space"),
        pytest.param("\u00adCRM-000075\ufeff", "CRM-000075", True, id="soft-hyphen-and-bom"),
        pytest.param("\u3000CRM-000075\xa0", "CRM-000075", False, id="wide-space-and-nbsp"),
        pytest.param("crm 000075", "crm 000075", False, id="case-and-inner-space-kept"),
        pytest.param("\ufeff\u200b ", None, False, id="only-invisible-is-missing"),
    ],
)
def test_record_ids_are_normalised_before_keying(
    load: Load, cell: str, expected: str | None, raw_kept: bool
) -> None:
    """The key loses invisible characters and surrounding space; lineage keeps the raw text."""
    batch = load([["id", "name"], [cell, "Acme"]])
    if expected is None:
        assert reasons(batch) == {1: "missing record id (column 'id')"}
        return
    record = batch.records.row(0, named=True)
    assert record["source_record_id"] == expected
    columns = json.loads(record["source_columns"])
    assert columns.get("raw_source_record_id") == (cell if raw_kept else None)
    assert columns["name"] == "name"


def test_an_id_with_a_bom_is_the_same_record_as_without(load: Load) -> None:
    """Two files concatenated leave a BOM at a row start: one record, not a new customer."""
    rows = [
        ["id", "name", "changed"],
        ["CRM-1", "Old", "2024-01-01"],
        ["\ufeffCRM-1", "New", "2024-06-01"],
    ]
    batch = load(rows, updated_at={"column": "changed", "format": "iso"})
    assert batch.records.select("source_record_id", "name").rows() == [("CRM-1", "New")]
    assert reasons(batch) == {1: "duplicate source_record_id 'CRM-1' (kept row 2)"}


JOIN_ROWS = [
    ["id", "first_name", "surname", "street", "town"],
    ["P1", "Ann", "Lee", "1 High St", "Leeds"],
    ["P2", "", "Wu", " ", "York"],
    ["P3", " Bo ", "  ", "2 Low Rd", ""],
    ["P4", "", " ", "", ""],
]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"name": {"columns": ["first_name", "surname"], "join": " "}},
            {
                "P1": ("Ann Lee", {"name": "first_name+surname"}),
                "P2": ("Wu", {"name": "surname"}),
                "P3": ("Bo", {"name": "first_name"}),
            },
            id="join-with-space",
        ),
        pytest.param(
            {"name": {"columns": ["surname", "first_name"], "join": ", "}},
            {
                "P1": ("Lee, Ann", {"name": "surname+first_name"}),
                "P2": ("Wu", {"name": "surname"}),
                "P3": ("Bo", {"name": "first_name"}),
            },
            id="join-in-config-order",
        ),
        pytest.param(
            {"name": {"columns": ["first_name", "surname"], "join": ""}},
            {
                "P1": ("AnnLee", {"name": "first_name+surname"}),
                "P2": ("Wu", {"name": "surname"}),
                "P3": ("Bo", {"name": "first_name"}),
            },
            id="join-without-separator",
        ),
        pytest.param(
            {"name": {"columns": ["first_name", "surname"]}},
            {
                "P1": ("Ann", {"name": "first_name"}),
                "P2": ("Wu", {"name": "surname"}),
                "P3": ("Bo", {"name": "first_name"}),
            },
            id="columns-without-join-coalesce",
        ),
    ],
)
def test_columns_are_joined_or_coalesced(
    load: Load, fields: dict[str, Any], expected: dict[str, tuple[str, dict[str, str]]]
) -> None:
    """``join`` puts the non-blank parts together; all blank is null (P4 has no name)."""
    batch = load(JOIN_ROWS, fields=fields)
    got = {k: (r["name"], json.loads(r["source_columns"])) for k, r in records_by_id(batch).items()}
    assert got == expected
    assert reasons(batch) == {4: "none of name, email, phone, tax_id present"}


def test_joined_address_and_its_lineage(load: Load) -> None:
    fields = {
        "name": "surname",
        "address": {"columns": ["street", "town"], "join": ", "},
    }
    batch = load(JOIN_ROWS[:4], fields=fields)
    got = {
        k: (r["address"], json.loads(r["source_columns"]).get("address"))
        for k, r in records_by_id(batch).items()
    }
    assert got == {
        "P1": ("1 High St, Leeds", "street+town"),
        "P2": ("York", "town"),
    }
    assert reasons(batch) == {3: "none of name, email, phone, tax_id present"}


def test_a_joined_code_goes_through_the_value_map(load: Load) -> None:
    rows = [["id", "name", "a", "b"], ["C1", "X", "VIP", "1"], ["C2", "Y", "STD", "9"]]
    tier = {"columns": ["a", "b"], "join": "-", "map": {"VIP-1": "S"}}
    batch = load(rows, fields={"name": "name", "tier": tier})
    assert {k: r["tier"] for k, r in records_by_id(batch).items()} == {"C1": "S"}
    assert reasons(batch) == {2: "column 'a'+'b': unmapped value 'STD-9'"}


def test_value_map_and_unmapped_values(load: Load) -> None:
    rows = [
        ["id", "name", "level"],
        ["C1", "A", "VIP"],
        ["C2", "B", " PRO "],
        ["C3", "C", "N/A"],
        ["C4", "D", ""],
        ["C5", "E", "GOLD"],
    ]
    tier = {"column": "level", "map": {"VIP": "S", "PRO": "A", "N/A": None}}
    batch = load(rows, fields={"name": "name", "tier": tier})
    assert {k: r["tier"] for k, r in records_by_id(batch).items()} == {
        "C1": "S",
        "C2": "A",
        "C3": None,
        "C4": None,
    }
    assert reasons(batch) == {5: "column 'level': unmapped value 'GOLD'"}


@pytest.mark.parametrize(
    ("value_map", "cell", "expected"),
    [
        pytest.param({"A": "A"}, "A", "A", id="exact"),
        pytest.param({"A": "A"}, "a", "A", id="lower-case"),
        pytest.param({"A": "A"}, " A ", "A", id="surrounding-space"),
        pytest.param({"A": "A"}, "\u3000a\t", "A", id="wide-space-and-tab"),
        pytest.param({"VIP": "S"}, "Vip", "S", id="mixed-case"),
        pytest.param({" vip ": "S"}, "VIP", "S", id="key-with-space"),
        pytest.param({"Std": "B"}, "STD", "B", id="key-mixed-case"),
        pytest.param({"N/A": None}, "n/a", None, id="dropped-on-purpose"),
        pytest.param({"ÉLITE": "S"}, "élite", "S", id="non-ascii-case"),
        pytest.param({"a": "C", "A": "A"}, "a", "C", id="exact-key-wins-lower"),
        pytest.param({"a": "C", "A": "A"}, "A", "A", id="exact-key-wins-upper"),
        pytest.param({"VIP": "S", "vip": "S"}, "Vip", "S", id="agreeing-keys"),
        pytest.param({"VIP": "S", "vip": "A"}, "Vip", "unmapped", id="ambiguous-is-unmapped"),
        pytest.param({"VIP": "S"}, "V I P", "unmapped", id="inner-space-matters"),
        pytest.param({"VIP": "S"}, "VIP1", "unmapped", id="no-partial-match"),
    ],
)
def test_value_maps_forgive_case_and_surrounding_space(
    load: Load, value_map: dict[str, str | None], cell: str, expected: str | None
) -> None:
    rows = [["id", "name", "level"], ["C1", "Acme", cell]]
    batch = load(rows, fields={"name": "name", "tier": {"column": "level", "map": value_map}})
    if expected == "unmapped":
        assert reasons(batch) == {1: f"column 'level': unmapped value '{cell.strip()}'"}
        assert batch.records.is_empty()
        return
    assert reasons(batch) == {}
    record = batch.records.row(0, named=True)
    assert record["tier"] == expected
    assert json.loads(record["source_columns"]).get("tier") == ("level" if expected else None)


def test_present_absent_and_coalesce_record_their_source_columns(load: Load) -> None:
    rows = [
        ["id", "company", "requester", "mail"],
        ["T1", "Acme GmbH", "Hans", ""],
        ["T2", " ", "Li Lei", "li@x.cn"],
        ["T3", "", "", "only@mail.com"],
    ]
    fields = {
        "customer_type": {"column": "company", "present": "company", "absent": "person"},
        "name": {"columns": ["company", "requester"]},
        "contact_name": "requester",
        "email": "mail",
    }
    batch = load(rows, record_id="id", fields=fields)
    got = {
        k: (r["customer_type"], r["name"], json.loads(r["source_columns"]))
        for k, r in records_by_id(batch).items()
    }
    assert got == {
        "T1": (
            "company",
            "Acme GmbH",
            {"customer_type": "company", "name": "company", "contact_name": "requester"},
        ),
        "T2": (
            "person",
            "Li Lei",
            {
                "customer_type": "company",
                "name": "requester",
                "contact_name": "requester",
                "email": "mail",
            },
        ),
        "T3": ("person", None, {"customer_type": "company", "email": "mail"}),
    }


def test_constant_and_non_ascii_source_columns(load: Load) -> None:
    fields = {"customer_type": {"constant": "company"}, "name": "客户名称"}
    batch = load([["id", "客户名称"], ["E1", "甲"]], fields=fields)
    text = batch.records["source_columns"].item()
    assert text == '{"customer_type":"(constant)","name":"客户名称"}'
    assert batch.records["customer_type"].item() == "company"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["", "Acme", "", "2024-01-01T00:00:00Z", ""], "missing record id (column 'id')"),
        (["C1", "", "", "2024-01-01T00:00:00Z", ""], "none of name, email, phone, tax_id present"),
        (
            ["C1", "Acme", "", "2024-02-30T00:00:00Z", ""],
            "column 'changed': '2024-02-30T00:00:00Z' is not a valid timestamp (format 'iso')",
        ),
        (
            [" ", " ", "", "soon", "many"],
            "missing record id (column 'id'); none of name, email, phone, tax_id present; "
            "column 'changed': 'soon' is not a valid timestamp (format 'iso')",
        ),
    ],
)
def test_quarantine_reasons(load: Load, cells: list[str], reason: str) -> None:
    rows = [["id", "name", "phone", "changed", "employees"], ["OK", "Fine", "", "", "10-49"], cells]
    batch = load(
        rows,
        fields={"name": "name", "phone": "phone", "size_band": "employees"},
        updated_at={"column": "changed", "format": "iso"},
    )
    assert batch.records["source_record_id"].to_list() == ["OK"]
    assert reasons(batch) == {2: reason}
    assert json.loads(batch.quarantine["raw"].item()) == dict(zip(rows[0], cells, strict=True))


T1, T2 = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"


@pytest.mark.parametrize(
    ("rows", "kept", "duplicates"),
    [
        pytest.param([("C1", T1), ("C1", T2), ("C1", T1)], {2}, {1: 2, 3: 2}, id="latest-wins"),
        pytest.param([("C1", T1), ("C1", T1)], {2}, {1: 2}, id="tie-later-row-wins"),
        pytest.param([("C1", ""), ("C1", T1)], {2}, {1: 2}, id="null-time-loses"),
        pytest.param([("C1", T1), ("C1", "")], {1}, {2: 1}, id="null-time-loses-later"),
        pytest.param([("C1", ""), ("C1", "")], {2}, {1: 2}, id="all-null-later-row"),
        pytest.param(
            [("C1", T2), ("C2", T1), ("C1", T1)], {1, 2}, {3: 1}, id="other-ids-untouched"
        ),
    ],
)
def test_duplicate_record_ids_keep_latest(
    load: Load,
    rows: list[tuple[str, str]],
    kept: set[int],
    duplicates: dict[int, int],
) -> None:
    batch = load(
        [["id", "name", "changed"], *[[i, "Acme", t] for i, t in rows]],
        updated_at={"column": "changed", "format": "iso"},
    )
    assert set(batch.records["row_number"]) == kept
    assert reasons(batch) == {
        row: f"duplicate source_record_id '{rows[row - 1][0]}' (kept row {k})"
        for row, k in duplicates.items()
    }


def test_invalid_rows_never_win_a_duplicate(load: Load) -> None:
    rows = [["id", "name", "changed"], ["C1", "Acme", "2099-13-01"], ["C1", "Acme", T1]]
    batch = load(rows, updated_at={"column": "changed", "format": "iso"})
    assert batch.records["row_number"].to_list() == [2]
    assert reasons(batch) == {
        1: "column 'changed': '2099-13-01' is not a valid timestamp (format 'iso')"
    }
    assert batch.records["source_updated_at"].to_list() == [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)]


@pytest.mark.parametrize(
    ("header", "overrides", "missing"),
    [
        (["客户编号", "客户名称", "更新时间"], {}, "column '客户等级'"),
        (["客户名称", "客户等级"], {}, "columns '客户编号', '更新时间'"),
        (
            ["客户编号", "客户名称", "客户等级", "更新时间", "extra"],
            {"fields": {"name": "名称"}},
            "column '名称'",
        ),
    ],
)
def test_schema_drift_names_source_file_and_column(
    tmp_path: Path,
    make_source: MakeSource,
    write_csv: WriteCsv,
    header: list[str],
    overrides: dict,
    missing: str,
) -> None:
    write_csv([header, ["x"] * len(header)], name="erp.csv", encoding="gb18030")
    config = {
        "name": "erp",
        "path": "erp.csv",
        "encoding": "gb18030",
        "record_id": "客户编号",
        "updated_at": {"column": "更新时间", "format": "iso"},
        "fields": {"name": "客户名称", "tier": {"column": "客户等级", "map": {"VIP": "S"}}},
        **overrides,
    }
    source = make_source(**config)
    raw = read_csv(tmp_path / "erp.csv", encoding="gb18030", delimiter=",")
    expected = f"source 'erp': {missing} not found in {(tmp_path / 'erp.csv').as_posix()}"
    with pytest.raises(SchemaDriftError) as info:
        map_to_canonical(raw, source=source, source_file="erp.csv")
    assert str(info.value) == expected


def test_extra_columns_are_fine_and_header_only_file_is_checked(
    load: Load, write_csv: WriteCsv, make_source: MakeSource
) -> None:
    batch = load([["id", "name", "unused", "also unused"], ["C1", "A", "x", "y"]])
    assert batch.records["name"].to_list() == ["A"]
    write_csv([["id", "nom"]])
    with pytest.raises(SchemaDriftError, match="column 'name' not found"):
        load_source(make_source())


def test_jsonl_drift_only_when_a_path_is_in_no_row(tmp_path: Path, make_source: MakeSource) -> None:
    lines = [{"id": "O1", "c": {"name": "A"}}, {"id": "O2", "c": {"name": "B", "phone": "+86 138"}}]
    (tmp_path / "o.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    config = {"name": "shop", "path": "o.jsonl", "format": "jsonl"}
    found = load_source(make_source(**config, fields={"name": "c.name", "phone": "c.phone"}))
    assert found.records["phone"].to_list() == [None, "+86 138"]
    with pytest.raises(SchemaDriftError) as info:
        load_source(make_source(**config, fields={"name": "c.name", "email": "c.email"}))
    where = (tmp_path / "o.jsonl").as_posix()
    assert str(info.value) == f"source 'shop': path 'c.email' not found in any row of {where}"


def test_reader_failures_join_mapping_quarantine_in_row_order(
    tmp_path: Path, make_source: MakeSource
) -> None:
    (tmp_path / "export.csv").write_bytes(b"id,name\nC1,A\nC2,B,extra\n,C\nC4,\xff\n")
    batch = load_source(make_source())
    assert batch.quarantine.select("row_number", "reason").rows() == [
        (2, "expected 2 fields, found 3 (1 extra value after 'name')"),
        (3, "missing record id (column 'id')"),
        (4, "column 'name': bytes not valid utf-8"),
    ]
    assert batch.quarantine["raw"].to_list() == [
        '["C2","B","extra"]',
        '{"id":"","name":"C"}',
        '["C4","\\xff"]',
    ]
    assert (batch.rows_in, batch.records.height) == (4, 1)
    assert batch.quarantine.schema == QUARANTINE_SCHEMA
    assert set(batch.quarantine["source_file"]) == {"export.csv"}


def test_provenance_does_not_depend_on_the_order_the_config_lists_fields(load: Load) -> None:
    """``source_columns`` (and the content hash built on it) follow the canonical field order.

    A config written back by a YAML dumper sorts its keys; the Spark engine's test run
    does exactly that, and every record's content hash changed with it.
    """
    rows = [["id", "name", "mail"], ["C1", "Acme", "a@acme.com"]]
    listed = load(rows, fields={"name": "name", "email": "mail"})
    sorted_ = load(rows, fields={"email": "mail", "name": "name"})
    column = listed.records["source_columns"].to_list()
    assert column == sorted_.records["source_columns"].to_list()
    assert list(json.loads(column[0])) == ["name", "email"]  # canonical order
