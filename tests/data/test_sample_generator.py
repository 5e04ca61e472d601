"""The bundled sample exports: reproducible, decodable, and consistent with their truth."""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import yaml

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
GENERATED = (
    "crm_customers.csv",
    "erp_customers.csv",
    "ecommerce_customers.jsonl",
    "tickets.csv",
    "erp_invoices.csv",
    "ecommerce_orders.jsonl",
    "truth/records.csv",
    "truth/entities.csv",
    "truth/invalid_rows.csv",
    "truth/near_misses.csv",
    "truth/invalid_facts.csv",
    "truth/README.md",
)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def config() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((SAMPLES / "fusion.yaml").read_text(encoding="utf-8"))
    return {source["name"]: source for source in data["sources"]}


@pytest.fixture(scope="module")
def truth() -> dict[str, list[dict[str, str]]]:
    names = ("records", "entities", "invalid_rows", "near_misses")
    return {name: _read_csv(SAMPLES / "truth" / f"{name}.csv") for name in names}


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.fixture(scope="module")
def exports() -> dict[str, dict[str, Any]]:
    """Each export as header + records in file order (row_number = index + 1).

    CSV records are lists of fields; JSONL records are flattened objects, or the
    raw line when it is not valid JSON.
    """
    result: dict[str, dict[str, Any]] = {}
    for source, name, encoding in (
        ("crm", "crm_customers.csv", "utf-8"),
        ("erp", "erp_customers.csv", "gb18030"),
        ("tickets", "tickets.csv", "utf-8"),
    ):
        raw = (SAMPLES / name).read_bytes()
        text = raw.decode(encoding, errors="replace" if source == "erp" else "strict")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        result[source] = {"header": rows[0], "rows": rows[1:], "raw": raw}
    records: list[Any] = []
    raw = (SAMPLES / "ecommerce_customers.jsonl").read_bytes()
    for line in raw.decode("utf-8").split("\n")[:-1]:
        try:
            records.append(_flatten(json.loads(line)))
        except json.JSONDecodeError:
            records.append(line)
    result["ecommerce"] = {"header": None, "rows": records, "raw": raw}
    return result


def _value(export: dict[str, Any], row: Any, column: str) -> Any:
    if export["header"] is None:
        return row.get(column) if isinstance(row, dict) else None
    header = export["header"]
    return row[header.index(column)] if len(row) == len(header) else None


def _columns(spec: Any) -> list[str]:
    """Source columns that one field mapping of fusion.yaml reads."""
    if isinstance(spec, str):
        return [spec]
    return list(spec.get("columns", [spec.get("column")]))


def _date_ok(source: dict[str, Any], value: Any) -> bool:
    fmt = source["updated_at"]["format"]
    try:
        if fmt == "iso":
            datetime.fromisoformat(value)
        elif fmt == "epoch_ms":
            return isinstance(value, int)
        else:
            datetime.strptime(value, fmt)
    except (TypeError, ValueError):
        return False
    return True


def _codes_ok(source: dict[str, Any], export: dict[str, Any], row: Any) -> bool:
    for spec in source["fields"].values():
        if isinstance(spec, dict) and "map" in spec:
            value = _value(export, row, spec["column"])
            if value not in (None, "") and str(value) not in spec["map"]:
                return False
    return True


def _identified(source: dict[str, Any], export: dict[str, Any], row: Any) -> bool:
    columns = [c for f in ("name", "email", "phone") for c in _columns(source["fields"][f])]
    return any(_value(export, row, c) not in (None, "") for c in columns)


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    script = SAMPLES / "generate.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--seed", "20261122"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    produced = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert produced == sorted(GENERATED)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_world_size_and_mix(truth: dict[str, list[dict[str, str]]], exports: dict) -> None:
    entities = truth["entities"]
    assert len(entities) >= 2000
    assert len({e["entity_id"] for e in entities}) == len(entities)
    types = Counter(e["customer_type"] for e in entities)
    assert 0.5 < types["company"] / len(entities) < 0.7
    chinese = sum(e["country"] == "CN" for e in entities if e["country"])
    assert 0.55 < chinese / sum(1 for e in entities if e["country"]) < 0.75
    total = sum(len(export["rows"]) for export in exports.values())
    assert 6000 <= total <= 9000


def test_truth_values_are_canonical(truth: dict[str, list[dict[str, str]]]) -> None:
    for entity in truth["entities"]:
        assert entity["email"] == entity["email"].lower()
        if entity["phone"]:
            assert phonenumbers.is_valid_number(phonenumbers.parse(entity["phone"]))
        assert entity["tier"] in ("", "S", "A", "B", "C")
        if entity["customer_type"] == "person":
            assert not entity["contact_name"]
            assert not entity["industry"]
            assert not entity["tax_id"]
        if entity["country"] == "CN" and entity["customer_type"] == "company" and entity["tax_id"]:
            assert len(entity["tax_id"]) == 18
            assert entity["tax_id"].isalnum()


def test_exports_decode_with_declared_encodings(config: dict, exports: dict) -> None:
    for name in ("crm_customers.csv", "tickets.csv", "ecommerce_customers.jsonl"):
        raw = (SAMPLES / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")
    erp = exports["erp"]
    # GB18030 decodes the header to the Chinese column names the config maps.
    assert _mapped_columns(config["erp"]) <= set(erp["header"])
    with pytest.raises(UnicodeDecodeError):
        erp["raw"].decode("utf-8")
    # Only the deliberately broken rows hold bytes that are not GB18030.
    broken = [i for i, row in enumerate(erp["rows"], 1) if any("\ufffd" in f for f in row)]
    invalid = _read_csv(SAMPLES / "truth" / "invalid_rows.csv")
    listed = [int(r["row_number"]) for r in invalid if r["defect"] == "invalid_encoding"]
    assert broken
    assert broken == sorted(listed)


def _mapped_columns(source: dict[str, Any]) -> set[str]:
    """Every export column a source's config reads."""
    wanted = {source["record_id"], source["updated_at"]["column"]}
    for spec in source["fields"].values():
        wanted.update(c for c in _columns(spec) if c)
    return wanted


def test_headers_match_source_config(config: dict, exports: dict) -> None:
    for name, source in config.items():
        wanted = _mapped_columns(source)
        export = exports[name]
        if export["header"] is None:
            seen = set().union(*(r.keys() for r in export["rows"] if isinstance(r, dict)))
            assert wanted <= seen, wanted - seen
        else:
            assert wanted <= set(export["header"]), wanted - set(export["header"])


def test_truth_records_exist_in_exports(config: dict, truth: dict, exports: dict) -> None:
    records = truth["records"]
    keys = [(r["source_system"], r["source_record_id"]) for r in records]
    assert len(set(keys)) == len(keys)
    ids = {
        name: Counter(
            _value(exports[name], row, config[name]["record_id"]) for row in exports[name]["rows"]
        )
        for name in config
    }
    for source, record_id in keys:
        assert ids[source][record_id] >= 1, (source, record_id)
    entity_ids = {e["entity_id"] for e in truth["entities"]}
    assert {r["entity_id"] for r in records} <= entity_ids
    invalid = Counter(r["source_system"] for r in truth["invalid_rows"])
    valid = Counter(r["source_system"] for r in records)
    for name, export in exports.items():
        assert valid[name] + invalid[name] == len(export["rows"]), name
        assert 0.005 < invalid[name] / len(export["rows"]) < 0.03


def _defect_present(defect: str, source: dict, export: dict, row: Any, record_id: str) -> bool:
    """Whether the row at the listed position really shows the listed defect."""
    if defect == "broken_json":
        return isinstance(row, str)
    if defect == "wrong_field_count":
        return len(row) != len(export["header"])
    if defect == "missing_id":
        return _value(export, row, source["record_id"]) in (None, "")
    if _value(export, row, source["record_id"]) != record_id:
        return False
    if defect == "no_name_email_phone":
        return not _identified(source, export, row)
    if defect == "impossible_date":
        return not _date_ok(source, _value(export, row, source["updated_at"]["column"]))
    if defect == "unmapped_code":
        return not _codes_ok(source, export, row)
    if defect == "invalid_encoding":
        return "\ufffd" in _value(export, row, source["fields"]["name"])
    if defect == "duplicate_id":
        column = source["updated_at"]["column"]
        same = [r for r in export["rows"] if _value(export, r, source["record_id"]) == record_id]
        stamps = sorted(datetime.fromisoformat(_value(export, r, column)) for r in same)
        return len(same) == 2 and datetime.fromisoformat(_value(export, row, column)) == stamps[0]
    raise AssertionError(f"unknown defect {defect}")


def test_invalid_rows_are_where_truth_says(config: dict, truth: dict, exports: dict) -> None:
    listed: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
    for item in truth["invalid_rows"]:
        listed[item["source_system"]][int(item["row_number"])] = item
        export, source = exports[item["source_system"]], config[item["source_system"]]
        row = export["rows"][int(item["row_number"]) - 1]
        assert _defect_present(item["defect"], source, export, row, item["source_record_id"]), item
    defects = Counter(item["defect"] for item in truth["invalid_rows"])
    assert set(defects) == {
        "missing_id",
        "no_name_email_phone",
        "impossible_date",
        "unmapped_code",
        "wrong_field_count",
        "broken_json",
        "invalid_encoding",
        "duplicate_id",
    }
    # ... and every other row is clean, so the list is complete.
    for name, export in exports.items():
        source = config[name]
        seen: set[str] = set()
        for number, row in enumerate(export["rows"], 1):
            if number in listed[name]:
                continue
            record_id = _value(export, row, source["record_id"])
            assert record_id, (name, number)
            assert record_id not in seen, (name, number)
            seen.add(record_id)
            assert _identified(source, export, row), (name, number)
            assert _codes_ok(source, export, row), (name, number)
            assert _date_ok(source, _value(export, row, source["updated_at"]["column"])), number


def test_every_vip_is_in_the_erp_and_no_c_is(truth: dict) -> None:
    sources: dict[str, set[str]] = defaultdict(set)
    for record in truth["records"]:
        sources[record["entity_id"]].add(record["source_system"])
    tiers = {e["entity_id"]: e["tier"] for e in truth["entities"]}
    vips = [eid for eid, tier in tiers.items() if tier == "S"]
    assert vips
    assert all("erp" in sources[eid] for eid in vips)
    assert not any("erp" in sources[eid] for eid, tier in tiers.items() if tier == "C")


def _brand(name: str, cities: set[str]) -> str:
    """Brand part of a company name: after the Chinese city prefix, or the first English word."""
    if name[:2] in cities:
        return name[2:4]
    return name.split()[0]


def test_near_misses_look_alike_but_differ(truth: dict) -> None:
    entities = {e["entity_id"]: e for e in truth["entities"]}
    cities = {e["city"] for e in entities.values() if e["country"] == "CN" and e["city"]}
    company_pairs = 0
    for pair in truth["near_misses"]:
        a, b = entities[pair["entity_a"]], entities[pair["entity_b"]]
        assert a["entity_id"] != b["entity_id"]
        if pair["kind"] == "same_person_name":
            assert a["name"] == b["name"]
            assert a["customer_type"] == b["customer_type"] == "person"
        else:
            assert _brand(a["name"], cities) == _brand(b["name"], cities)
            company_pairs += 1
        for field in ("email", "phone", "tax_id"):
            assert not a[field] or a[field] != b[field], (pair, field)
    assert company_pairs >= 20
    # Independently of the list: same name but for the city prefix, distinct entities.
    by_rest = defaultdict(list)
    for e in entities.values():
        if e["customer_type"] == "company" and e["name"][:2] in cities:
            by_rest[e["name"][2:]].append(e["entity_id"])
    twins = sum(len(list(itertools.combinations(ids, 2))) for ids in by_rest.values())
    assert twins >= 20


def test_duplicates_across_and_within_sources(truth: dict) -> None:
    sources: dict[str, set[str]] = defaultdict(set)
    per_source: Counter[tuple[str, str]] = Counter()
    for record in truth["records"]:
        sources[record["entity_id"]].add(record["source_system"])
        per_source[(record["source_system"], record["entity_id"])] += 1
    assert sum(len(s) >= 2 for s in sources.values()) >= 800
    shop_twins = sum(n >= 2 for (source, _), n in per_source.items() if source == "ecommerce")
    assert shop_twins >= 40
