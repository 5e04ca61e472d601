"""Field expressions: templates, a part picked by a pattern, trim, a phone's default area code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.errors import ConfigError
from tests.connectors.conftest import LoadRows, MakeSource

HEADER = ["id", "given", "middle", "surname", "address", "phone"]


def mapped(load_rows: LoadRows, cells: list[str], field: dict[str, Any], **extra: Any) -> Any:
    """The ``name`` (or ``extra['target']``) value of one row mapped with ``field``."""
    target = extra.pop("target", "name")
    fields = {"name": {"constant": "Acme"}, target: field} if target != "name" else {target: field}
    batch = load_rows([HEADER, ["C1", *cells]], fields=fields, **extra)
    assert batch.quarantine.height == 0, batch.quarantine["reason"].to_list()
    return batch.records[target].item()


@pytest.mark.parametrize(
    ("template", "cells", "expected"),
    [
        ("{given} {surname}", ["Ann", "", "Lee", "", ""], "Ann Lee"),
        ("{given} {middle} {surname}", ["Ann", "", "Lee", "", ""], "Ann Lee"),
        ("{given} {middle} {surname}", ["Ann", "B", "Lee", "", ""], "Ann B Lee"),
        ("{given} {surname}", ["", "", "Lee", "", ""], "Lee"),
        ("{surname}, {given}", ["Ann", "", "Lee", "", ""], "Lee, Ann"),
        ("{surname}, {given}", ["", "", "Lee", "", ""], "Lee"),
        ("{surname}, {given}", ["Ann", "", "", "", ""], "Ann"),
        ("Dr {given}  {surname}", ["Ann", "", "Lee", "", ""], "Dr Ann Lee"),
        ("({given})", ["Ann", "", "", "", ""], "(Ann)"),
        ("{given}{surname}", ["李", "", "雷", "", ""], "李雷"),
    ],
)
def test_template_collapses_empty_parts(
    load_rows: LoadRows, template: str, cells: list[str], expected: str
) -> None:
    assert mapped(load_rows, cells, {"template": template}) == expected


def test_template_of_empty_parts_is_empty_and_names_its_columns(load_rows: LoadRows) -> None:
    rows = [HEADER, ["C1", "Ann", "", "Lee", "", ""], ["C2", "", "", "", "", "555"]]
    fields = {"name": {"template": "Dr {given} {surname}"}, "phone": "phone"}
    batch = load_rows(rows, fields=fields)
    assert batch.records["name"].to_list() == ["Dr Ann Lee", None]
    lineage = json.loads(batch.records["source_columns"][0])
    assert lineage["name"] == "given+surname"


@pytest.mark.parametrize(
    ("field", "cells", "expected"),
    [
        # A part of one column: the postcode inside an address line.
        (
            {"column": "address", "pattern": r"(\d{6})"},
            ["", "", "", "5 Rd, 100020 BJ", ""],
            "100020",
        ),
        ({"column": "address", "pattern": r"(\d{6})"}, ["", "", "", "no code", ""], None),
        # Applied after a join or a template, to the whole value.
        (
            {"columns": ["given", "surname"], "join": " ", "pattern": r"^(\S+)"},
            ["Ann", "", "Lee", "", ""],
            "Ann",
        ),
        (
            {"template": "{surname}/{given}", "pattern": r"/(.*)$"},
            ["Ann", "", "Lee", "", ""],
            "Ann",
        ),
        # The part is trimmed like a cell.
        ({"column": "address", "pattern": r"^([^,]*),"}, ["", "", "", " Unit 5 , x", ""], "Unit 5"),
    ],
)
def test_pattern_picks_its_group(
    load_rows: LoadRows, field: dict[str, Any], cells: list[str], expected: str | None
) -> None:
    assert mapped(load_rows, cells, field, target="city") == expected


@pytest.mark.parametrize(
    ("trim", "expected"),
    [(None, "Acme  Ltd"), (True, "Acme  Ltd"), (False, "  Acme  Ltd ")],
)
def test_trim_is_on_by_default(load_rows: LoadRows, trim: bool | None, expected: str) -> None:
    field: dict[str, Any] = {"column": "given"}
    if trim is not None:
        field["trim"] = trim
    assert mapped(load_rows, ["  Acme  Ltd ", "", "", "", ""], field) == expected


def test_untrimmed_blank_cell_is_still_empty(load_rows: LoadRows) -> None:
    rows = [HEADER, ["C1", "   ", "", "", "", "5550134"]]
    batch = load_rows(rows, fields={"name": {"column": "given", "trim": False}, "phone": "phone"})
    assert batch.records["name"].item() is None


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("555-0134", "312 555-0134"),  # local: the area code goes in front
        ("5550134", "312 5550134"),
        ("(773) 555-0134", "(773) 555-0134"),  # already national
        ("+1 773 555 0134", "+1 773 555 0134"),  # international
        ("0086 10 1234 5678", "0086 10 1234 5678"),
        ("12", "12"),  # invalid either way: the standardiser judges it
    ],
)
def test_default_area_code_completes_local_numbers(
    load_rows: LoadRows, phone: str, expected: str
) -> None:
    field = {"column": "phone", "default_area_code": "312"}
    cells = ["", "", "", "", phone]
    assert mapped(load_rows, cells, field, target="phone", default_country="US") == expected


def test_default_area_code_of_a_chinese_city(load_rows: LoadRows) -> None:
    field = {"column": "phone", "default_area_code": "010"}
    cells = ["", "", "", "", "6552 9988"]
    assert mapped(load_rows, cells, field, target="phone", default_country="CN") == "010 6552 9988"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"fields": {"name": {"template": "{given"}}},
            "source 'crm': key 'fields.name.template': not a template",
        ),
        (
            {"fields": {"name": {"template": "no columns"}}},
            "source 'crm': key 'fields.name.template': names no column",
        ),
        (
            {"fields": {"name": {"template": "{given:>10}"}}},
            "source 'crm': key 'fields.name.template': placeholders are column names",
        ),
        (
            {"fields": {"name": {"column": "a", "pattern": "[0-9]+"}}},
            "source 'crm': key 'fields.name.pattern': needs exactly one group",
        ),
        (
            {"fields": {"name": {"column": "a", "pattern": "(a"}}},
            "source 'crm': key 'fields.name.pattern': not a regular expression",
        ),
        (
            {"fields": {"name": {"column": "a", "pattern": r"(?<=x)(a)"}}},
            "source 'crm': key 'fields.name.pattern': not supported",
        ),
        (
            {"fields": {"name": "n", "phone": {"column": "p", "default_area_code": "312"}}},
            "source 'crm': key 'fields.phone.default_area_code': needs the source's",
        ),
        (
            {
                "default_country": "US",
                "fields": {"name": "n", "phone": {"column": "p", "default_area_code": "3-12"}},
            },
            "source 'crm': key 'fields.phone.default_area_code': expected 1 to 6 digits",
        ),
        (
            {
                "default_country": "US",
                "fields": {"name": {"column": "n", "default_area_code": "312"}},
            },
            "source 'crm': key 'fields.name.default_area_code': only valid on 'phone'",
        ),
    ],
)
def test_expression_errors_name_the_key(
    make_source: MakeSource, overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make_source(**overrides)
    assert str(info.value).startswith(expected), str(info.value)


def test_template_columns_are_checked_for_drift(make_source: MakeSource, write_csv: Any) -> None:
    source = make_source(fields={"name": {"template": "{given} {family}"}})
    assert source.referenced_columns == ("id", "given", "family")
