"""Source config validation: good configs load, bad ones name source and key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.config import DEFAULT_TRUST, FieldMapping, SourceConfig, parse_sources
from connectors.config_yaml import read_config_yaml
from connectors.errors import ConfigError
from pipelines.settings import load_fusion_config

SAMPLE_CONFIG = Path(__file__).parents[2] / "data" / "samples" / "fusion.yaml"


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "erp",
        "system": "erp",
        "path": "erp.csv",
        "format": "csv",
        "record_id": "客户编号",
        "fields": {"name": "客户名称", "tier": {"column": "客户等级", "map": {"VIP": "S"}}},
        "trust": {"default": 0.85},
    }
    return {**base, **overrides}


def test_sample_config_loads() -> None:
    doc = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    sources = parse_sources(doc["sources"], base_dir=SAMPLE_CONFIG.parent)
    by_name = {s.name: s for s in sources}
    assert list(by_name) == ["crm", "erp", "ecommerce", "tickets"]
    erp = by_name["erp"]
    assert erp.resolved_path == SAMPLE_CONFIG.parent / "erp_customers.csv"
    assert erp.encoding == "gb18030"
    assert erp.updated_at is not None
    assert (erp.updated_at.format, erp.updated_at.timezone) == ("%Y/%m/%d %H:%M", "Asia/Shanghai")
    assert erp.fields["tier"].map == {"VIP": "S", "PRO": "A", "STD": "B"}
    assert erp.fields["name"] == FieldMapping(column="客户名称")
    assert (erp.trust_for("tier"), erp.trust_for("email")) == (0.95, 0.85)
    assert by_name["ecommerce"].fields["name"].source_columns == (
        "customer.company",
        "customer.name",
    )
    tickets_type = by_name["tickets"].fields["customer_type"]
    assert (tickets_type.present, tickets_type.absent) == ("company", "person")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"encodingx": "utf-8"}, "source 'erp': key 'encodingx': unknown key"),
        (
            {"fields": {"name": "客户名称", "tire": "客户等级"}},
            "source 'erp': key 'fields.tire': unknown canonical field 'tire'",
        ),
        (
            {"fields": {"name": "n", "tier": {"column": "客户等级", "map": {"GOLD": "Gold"}}}},
            "source 'erp': key 'fields.tier.map.GOLD': value 'Gold' is not allowed for 'tier' "
            "(allowed: S, A, B, C)",
        ),
        (
            {"fields": {"name": "n", "tier": {"column": "客户等级", "map": ["VIP"]}}},
            "source 'erp': key 'fields.tier.map': Input should be a valid dictionary",
        ),
        (
            {"fields": {"name": "n", "tier": {"column": "t", "mapping": {"VIP": "S"}}}},
            "source 'erp': key 'fields.tier.mapping': unknown key",
        ),
        (
            {"fields": {"name": "n", "customer_type": {"constant": "firm"}}},
            "source 'erp': key 'fields.customer_type.constant': value 'firm' is not allowed",
        ),
        (
            {"fields": {"name": "n", "customer_type": {"column": "c", "absent": "nobody"}}},
            "source 'erp': key 'fields.customer_type.absent': value 'nobody' is not allowed",
        ),
        (
            {"fields": {"name": {"column": "a", "constant": "b"}}},
            "source 'erp': key 'fields.name': give exactly one of 'column', 'columns', "
            "'template', 'constant' (found: column, constant)",
        ),
        (
            {"fields": {"name": {"map": {"a": "b"}}}},
            "source 'erp': key 'fields.name': give exactly one of 'column', 'columns', "
            "'template', 'constant' (found: none)",
        ),
        (
            {"fields": {"name": {"column": "a", "join": " "}}},
            "source 'erp': key 'fields.name.join': needs 'columns' (the columns to join)",
        ),
        (
            {"fields": {"name": {"columns": ["a", "b"], "join": [" "]}}},
            "source 'erp': key 'fields.name.join': Input should be a valid string",
        ),
        (
            {"fields": {"name": {"columns": []}}},
            "source 'erp': key 'fields.name.columns': Tuple should have at least 1 item",
        ),
        (
            {"fields": {"name": {"column": "n", "map": {"a": "b"}, "present": "x"}}},
            "source 'erp': key 'fields.name': 'map' cannot be combined with 'present'/'absent'",
        ),
        (
            {"fields": {"name": 5}},
            "source 'erp': key 'fields.name': Input should be a valid dictionary or instance of "
            "FieldMapping (got 5)",
        ),
        (
            {"fields": {"city": "城市"}},
            "source 'erp': key 'fields': maps none of name, email, phone, tax_id",
        ),
        (
            {"trust": {"default": 1.5}},
            "source 'erp': key 'trust.default': Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            {"trust": {"default": 0.5, "tire": 0.9}},
            "source 'erp': key 'trust.tire': unknown canonical field 'tire'",
        ),
        ({"encoding": "klingon"}, "source 'erp': key 'encoding': unknown encoding 'klingon'"),
        (
            {"encoding": "rot13"},
            "source 'erp': key 'encoding': 'rot13' is not a text encoding",
        ),
        ({"encoding": "base64"}, "source 'erp': key 'encoding': 'base64' is not a text encoding"),
        ({"encoding": "undefined"}, "source 'erp': key 'encoding': 'undefined' cannot decode"),
        ({"delimiter": ";;"}, "source 'erp': key 'delimiter': expected one character"),
        ({"format": "xlsx"}, "source 'erp': key 'format': Input should be 'csv', 'jsonl'"),
        ({"system": "sap"}, "source 'erp': key 'system': Input should be 'crm', 'erp'"),
        ({"default_country": "China"}, "source 'erp': key 'default_country': String should match"),
        ({"sheet": "Sheet1"}, "source 'erp': key 'sheet': only valid with format 'excel'"),
        (
            {"updated_at": {"column": "t", "format": "iso", "timezone": "Mars/Olympus"}},
            "source 'erp': key 'updated_at.timezone': unknown IANA time zone 'Mars/Olympus'",
        ),
        (
            {"updated_at": {"column": "t", "format": "yyyy-mm-dd"}},
            "source 'erp': key 'updated_at.format': expected iso, epoch_s, epoch_ms or a "
            "strptime pattern, got 'yyyy-mm-dd'",
        ),
        (
            {"updated_at": {"column": "t", "format": "epoch_ms", "timezone": "Asia/Shanghai"}},
            "source 'erp': key 'updated_at.timezone': epoch_ms timestamps are UTC by definition",
        ),
        ({"updated_at": {"format": "iso"}}, "source 'erp': key 'updated_at.column': required"),
        ({"record_id": None}, "source 'erp': key 'record_id': Input should be a valid string"),
    ],
)
def test_invalid_entry_names_source_and_key(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sources([entry(**overrides)], base_dir=Path())
    message = str(info.value)
    assert message.startswith(expected), message
    assert "pydantic" not in message
    assert "\n" not in message
    assert info.value.__context__ is None  # no pydantic traceback chained below


def test_missing_key_is_named() -> None:
    raw = entry()
    del raw["record_id"]
    with pytest.raises(
        ConfigError, match=r"^source 'erp': key 'record_id': required key is missing$"
    ):
        parse_sources([raw], base_dir=Path())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("crm", "key 'sources': expected a list of source entries, got 'crm'"),
        (["crm"], "source #1: expected a mapping of keys, got 'crm'"),
        (
            [{**entry(), "name": ""}],
            "source #1: key 'name': '': use only letters, digits and underscores "
            "(it names a Dagster asset)",
        ),
        ([entry(), entry()], "source 'erp': key 'name': duplicate source name (also source #1)"),
        ([{**entry(), "base_dir": "/etc"}], "source 'erp': key 'base_dir': unknown key"),
    ],
)
def test_invalid_sources_list(raw: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sources(raw, base_dir=Path())
    assert str(info.value) == expected


def test_every_problem_is_reported_on_one_line() -> None:
    raw = [entry(format="xlsx"), entry(name="crm", encoding="klingon", trust={"default": 2})]
    with pytest.raises(ConfigError) as info:
        parse_sources(raw, base_dir=Path())
    problems = str(info.value).split("; ")
    assert [p.split(":")[0] for p in problems] == ["source 'erp'", "source 'crm'", "source 'crm'"]
    assert ["key 'format'" in problems[0], "key 'encoding'" in problems[1]] == [True, True]
    assert "key 'trust.default'" in problems[2]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("erp.csv", Path("cfg") / "erp.csv"),
        ("exports/*.csv", Path("cfg") / "exports/*.csv"),
        ("/srv/erp.csv", Path("/srv/erp.csv")),
    ],
)
def test_paths_resolve_against_config_folder(path: str, expected: Path) -> None:
    # An absolute path is allowed when a data root holds it (see tests/reliability).
    source = parse_sources([entry(path=path)], base_dir=Path("cfg"), data_roots=[Path("/srv")])[0]
    assert (source.path, source.resolved_path) == (path, expected)
    assert source.is_glob == ("*" in path)


def test_shorthand_numbers_and_round_trip() -> None:
    raw = entry(
        fields={"name": "客户名称", "tier": {"column": "等级", "map": {1: "S", 2: "A", "x": None}}},
        updated_at={"column": "t", "format": "%Y/%m/%d %H:%M", "timezone": "Asia/Shanghai"},
        trust={"default": 0.85, "tier": 0.95},
    )
    source = parse_sources([raw], base_dir=Path("cfg"))[0]
    assert source.fields["tier"].map == {"1": "S", "2": "A", "x": None}
    assert source.referenced_columns == ("客户编号", "t", "客户名称", "等级")
    assert SourceConfig.model_validate_json(source.model_dump_json()) == source


def test_models_are_frozen() -> None:
    source = parse_sources([entry()], base_dir=Path())[0]
    with pytest.raises(ValueError, match="frozen"):
        source.name = "other"  # type: ignore[misc]


def test_trust_for_unknown_field_is_an_error() -> None:
    source = parse_sources([entry()], base_dir=Path())[0]
    with pytest.raises(ConfigError, match=r"source 'erp': unknown canonical field 'tire'"):
        source.trust_for("tire")


# ---------------------------------------------------------------- reading the YAML file

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
GOOD_SOURCE = (
    "  - name: crm\n    system: crm\n    path: crm.csv\n    format: csv\n"
    "    record_id: id\n    fields: {name: n}\n    trust: {default: 0.8}\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "sources:\n" + GOOD_SOURCE + "    record_id: crm_id\n",
            r": line 9: duplicate key 'record_id' \(first given at line 6\)$",
            id="duplicate-record-id",
        ),
        pytest.param(
            "run: {name: a}\nsources: []\nrun: {name: b}\n",
            r": line 3: duplicate key 'run' \(first given at line 1\)$",
            id="duplicate-top-level-key",
        ),
        pytest.param(
            "sources:\n  - {name: crm, fields: {name: a, name: b}}\n",
            r": line 2: duplicate key 'name' \(first given at line 2\)$",
            id="duplicate-key-in-flow-mapping",
        ),
        pytest.param(
            BOMB + "sources: [*i]\n",
            r": line \d: aliases expand to more than 10000 values beyond what is written",
            id="alias-bomb",
        ),
        pytest.param(
            "sources: &s [{name: crm, more: *s}]\n",
            r": line 1: an alias refers to a node that contains it$",
            id="recursive-alias",
        ),
        pytest.param(
            "sources:\n  - name: [crm\n    system: crm\n",
            r": not valid YAML: line 3, column \d+: .* \(while parsing a flow sequence\)$",
            id="parse-error",
        ),
        pytest.param(
            "sources:\n\t- name: crm\n",
            r": not valid YAML: line 2, column 1: found character '\\t' that cannot start any",
            id="tab-indent",
        ),
    ],
)
def test_config_yaml_is_read_strictly(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "fusion.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_config_yaml(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert re.search(expected, message), message
    assert "\n" not in message
    assert len(message) < 200 + len(str(path))


def test_shared_values_and_merge_keys_still_load(tmp_path: Path) -> None:
    """Aliases within the bound and `<<:` overrides are ordinary YAML, not duplicates."""
    path = tmp_path / "fusion.yaml"
    path.write_text(
        "trust: &trust {default: 0.8, email: 0.9}\n"
        "a: {trust: *trust}\n"
        "b: {<<: *trust, default: 0.5}\n",
        encoding="utf-8",
    )
    assert read_config_yaml(path) == {
        "trust": {"default": 0.8, "email": 0.9},
        "a": {"trust": {"default": 0.8, "email": 0.9}},
        "b": {"default": 0.5, "email": 0.9},
    }


def test_config_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "fusion.yaml"
    path.write_bytes("sources:\n  - name: 客户\n".encode("gb18030"))
    with pytest.raises(
        ConfigError, match=r"fusion\.yaml: not UTF-8 text \(byte 0xbf at offset 19\)$"
    ):
        read_config_yaml(path)


def test_load_fusion_config_reads_strictly(tmp_path: Path) -> None:
    """The run's config loader uses the strict reader: the last record_id does not win."""
    path = tmp_path / "fusion.yaml"
    path.write_text("sources:\n" + GOOD_SOURCE + "    record_id: other\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 9: duplicate key 'record_id'"):
        load_fusion_config(path)


def test_error_messages_quote_a_short_excerpt() -> None:
    huge = ["x" * 1000] * 1000
    with pytest.raises(ConfigError) as info:
        parse_sources([huge, entry(name="y" * 500 + "!")], base_dir=Path())
    message = str(info.value)
    assert message.startswith("source #1: expected a mapping of keys, got [")
    assert "…" in message
    assert "yyyy" in message
    assert len(message) < 400  # the entries hold a million characters


def test_a_long_list_of_bad_sources_reports_the_first_problems() -> None:
    with pytest.raises(ConfigError) as info:
        parse_sources(["bad"] * 5000, base_dir=Path())
    problems = str(info.value).split("; ")
    assert problems[0] == "source #1: expected a mapping of keys, got 'bad'"
    assert len(problems) == 11
    assert problems[-1] == "and 4990 more problem(s)"


def test_join_is_in_the_json_only_when_given() -> None:
    """Configs without ``join`` keep their JSON, and so their configuration hash."""
    plain = parse_sources([entry(fields={"name": {"columns": ["a", "b"]}})], base_dir=Path())[0]
    assert "join" not in plain.model_dump(mode="json")["fields"]["name"]
    joined = parse_sources(
        [entry(fields={"name": {"columns": ["a", "b"], "join": " "}})], base_dir=Path()
    )[0]
    assert joined.model_dump(mode="json")["fields"]["name"]["join"] == " "
    assert joined.fields["name"].source_columns == ("a", "b")
    assert joined.referenced_columns == ("客户编号", "a", "b")
    assert SourceConfig.model_validate_json(joined.model_dump_json()) == joined


@pytest.mark.parametrize(
    ("trust", "expected"),
    [
        (None, {"default": DEFAULT_TRUST}),
        ({"tier": 0.9}, {"default": DEFAULT_TRUST, "tier": 0.9}),
        ({"default": 0.8}, {"default": 0.8}),
    ],
)
def test_default_trust_when_none_is_given(trust: dict[str, float] | None, expected: dict) -> None:
    raw = entry()
    raw.pop("trust")
    if trust is not None:
        raw["trust"] = trust
    source = parse_sources([raw], base_dir=Path())[0]
    assert source.trust == expected
    assert source.trust_for("email") == expected["default"]
    assert DEFAULT_TRUST == 0.5
