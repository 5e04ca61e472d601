"""``--json`` of lineage, report, review list and sql: one document, keys and types fixed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connectors.canonical import GOLDEN_FIELDS
from pipelines.cli import main

CUSTOMER = "FU-00000025"
ISO = "ISO 8601 timestamp"
NULL = type(None)
TEXT, NUMBER, COUNT, FLAG = (str, NULL), (float, int, NULL), int, bool
RUN = {"run_id": str, "config_hash": str, "code_version": str, "finished_at": ISO}
ISO_OR_NULL = (ISO, NULL)


def _check(value: Any, shape: Any, where: str = "$") -> None:
    """``value`` has ``shape``: dicts by exact keys, lists of one item shape, types, ISO."""
    if isinstance(shape, dict):
        assert isinstance(value, dict), where
        assert set(value) == set(shape), (where, set(value) ^ set(shape))
        for key, item in shape.items():
            _check(value[key], item, f"{where}.{key}")
    elif isinstance(shape, list):
        assert isinstance(value, list), where
        assert value, f"{where} is empty on the samples"
        for number, item in enumerate(value):
            _check(item, shape[0], f"{where}[{number}]")
    elif shape == ISO:
        assert isinstance(value, str), where
        assert datetime.fromisoformat(value).tzinfo is not None, (where, value)
    elif isinstance(shape, tuple) and ISO in shape:
        if value is not None:
            _check(value, ISO, where)
    else:
        assert isinstance(value, shape), (where, value)
        assert not (isinstance(value, bool) and shape in (int, float)), where


def _json(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the whole of stdout is one document


def test_lineage_json(sample_warehouse: Path) -> None:
    document = _json("lineage", CUSTOMER, "--warehouse", str(sample_warehouse), "--json")
    comparison = {"level": str, "weight": NUMBER}
    golden = dict.fromkeys(["unified_id", *GOLDEN_FIELDS], TEXT) | {
        "source_count": COUNT, "record_count": COUNT, "trust_score": float,
        "first_seen_at": ISO, "updated_at": ISO,
    }  # fmt: skip
    candidate = {
        "unified_id": str, "field": str, "value": TEXT, "source_system": str,
        "source_record_id": str, "source_column": TEXT, "source_updated_at": ISO_OR_NULL,
        "confirmed_at": ISO_OR_NULL, "authority": NUMBER, "recency": NUMBER, "validity": NUMBER,
        "completeness": NUMBER, "corroboration": NUMBER, "trust_score": NUMBER, "is_winner": bool,
        "lost_because": TEXT, "run_id": str, "rank": COUNT, "rule": TEXT, "min_trust": NUMBER,
        "decay_curve": TEXT, "decay_days": NUMBER, "age_days": NUMBER, "validation_issues": TEXT,
    }  # fmt: skip
    _check(document, {
        "schema": str, "requested_id": str, "unified_id": str, "masked": bool, "run": RUN,
        "golden": golden,
        "fields": [{"field": str, "value": TEXT, "source_system": str, "source_record_id": str,
                    "source_column": TEXT, "trust_score": NUMBER, "rule": TEXT}],
        "members": [{"source_system": str, "source_record_id": str, "match_probability": NUMBER,
                     "source_updated_at": ISO_OR_NULL, "golden_values_supplied": COUNT}],
        "evidence": [{
            "left_source_system": str, "left_source_record_id": str, "right_source_system": str,
            "right_source_record_id": str, "match_probability": float, "match_weight": float,
            "decision": str, "same_cluster": bool, "steward_decision": TEXT,
            "blocking_rules": TEXT,
            "comparisons": dict.fromkeys(
                ["name", "email", "phone", "tax_id", "contact", "address", "postcode", "city",
                 "birth_date"], comparison),
        }],
        "candidates": [candidate],
        "contact_points": [{
            "unified_id": str, "kind": str, "value": str, "is_primary": bool,
            "validation_issues": TEXT, "trust_score": NUMBER, "source_systems": [str],
            "source_records": [str], "record_count": COUNT, "first_seen_at": ISO_OR_NULL,
            "last_seen_at": ISO_OR_NULL, "run_id": str,
        }],
        "history": [{"unified_id": str, "event": str, "other_unified_id": TEXT, "run_id": str,
                     "at": ISO}],
        "truncated": {},  # no section of a sample customer is over the report's row limit
    })  # fmt: skip
    # The README's customer: CRM, ERP and a ticket, its name from the ERP.
    assert document["schema"] == "fusion.lineage/1"
    assert {m["source_system"] for m in document["members"]} == {"crm", "erp", "tickets"}
    name = next(f for f in document["fields"] if f["field"] == "name")
    assert (name["source_system"], name["source_record_id"]) == ("erp", "KH003791")
    assert document["golden"]["name"] == name["value"] == "上海鑫源电子有限公司"


def test_report_json(sample_warehouse: Path) -> None:
    document = _json("report", "--warehouse", str(sample_warehouse), "--json")
    _check(document, {
        "schema": str, "masked": bool, "run": RUN,
        "sources": [{
            "source_system": str, "system": str, "format": str, "path": str, "rows_in": COUNT,
            "records": COUNT, "quarantined": COUNT, "quarantine_rate": NUMBER, "linked": COUNT,
            "match_rate": NUMBER, "linked_across_sources": COUNT, "cross_source_rate": NUMBER,
        }],
        "quarantine": [{"source_system": str, "reason": str, "rows": COUNT, "first_row": TEXT}],
        "decisions": [{"decision": str, "pairs": COUNT, "within_one_customer": COUNT}],
        "cluster_sizes": [{"records_per_customer": str, "customers": COUNT, "records": COUNT}],
        "trust_histogram": [{"trust": str, "customers": COUNT}],
        "field_trust": [{
            "field": str, "golden_values": COUNT, "mean_trust": NUMBER, "p10_trust": NUMBER,
            "median_trust": NUMBER, "with_validation_issues": COUNT, "rules": TEXT,
        }],
        "contested_fields": [{
            "field": str, "customers_with_field": COUNT, "contested_customers": COUNT,
            "close_calls": COUNT, "mean_candidates": NUMBER, "contested_share": NUMBER,
        }],
        "contested_customers": [{"unified_id": str, "contested_fields": COUNT, "fields": str,
                                 "distinct_values": COUNT}],
        "match_probability_histogram": [{"match_probability": str, "pairs": COUNT}],
        "customers_by_records": [{"records": str, "customers": COUNT}],
        "quality_trend": [{
            "release": str, "run_id": str, "finished_at": TEXT, "expectations": COUNT,
            "passed": COUNT, "failed_warnings": COUNT, "failed_errors": COUNT, "failing": TEXT,
        }],
    })  # fmt: skip
    assert document["schema"] == "fusion.report/1"
    sources = {s["source_system"]: s for s in document["sources"]}
    assert set(sources) == {"crm", "erp", "ecommerce", "tickets"}
    # Every row in is a record or quarantined, and 81 rows are quarantined (README).
    assert all(s["rows_in"] == s["records"] + s["quarantined"] for s in sources.values())
    assert sum(s["quarantined"] for s in sources.values()) == 81
    assert sum(c["customers"] for c in document["cluster_sizes"]) == 2440
    assert sum(c["customers"] for c in document["customers_by_records"]) == 2440
    (release,) = document["quality_trend"]  # the samples' warehouse holds one release
    assert release["run_id"] == document["run"]["run_id"]
    assert release["passed"] + release["failed_warnings"] == release["expectations"]


def test_review_list_json(sample_warehouse: Path) -> None:
    document = _json("review", "list", "--warehouse", str(sample_warehouse), "--json",
                     "--limit", "5")  # fmt: skip
    side = {"source_system": str, "source_record_id": str}
    _check(document, {
        "schema": str, "pending": COUNT, "shown": COUNT,
        "pairs": [{"left": side, "right": side, "match_probability": float,
                   "levels": dict.fromkeys(["name", "email", "phone", "tax_id", "contact",
                                            "address", "postcode", "city", "birth_date"], TEXT)}],
    })  # fmt: skip
    assert document["schema"] == "fusion.review/1"
    assert document["shown"] == len(document["pairs"]) == 5 < document["pending"]
    assert all(0.5 <= pair["match_probability"] < 0.9 for pair in document["pairs"])


def test_sql_json(sample_warehouse: Path) -> None:
    query = (
        "SELECT unified_id, record_count, trust_score, first_seen_at, DATE '2026-01-02' AS day, "
        "[source_count] AS counts FROM golden_customer ORDER BY unified_id"
    )
    runner = CliRunner()
    result = runner.invoke(main, ["sql", query, "--warehouse", str(sample_warehouse), "--json",
                                  "--max-rows", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    _check(document, {
        "schema": str, "columns": [{"name": str, "type": str}],
        "rows": [{"unified_id": str, "record_count": COUNT, "trust_score": float,
                  "first_seen_at": ISO, "day": str, "counts": [int]}],
        "row_count": COUNT, "truncated": bool,
    })  # fmt: skip
    assert document["schema"] == "fusion.sql/1"
    assert [c["name"] for c in document["columns"]] == list(document["rows"][0])
    assert (document["row_count"], document["truncated"]) == (3, True)
    assert document["rows"][0]["unified_id"] == "FU-00000001"
    assert document["rows"][0]["day"] == "2026-01-02"
    assert "only the first 3 rows" in result.stderr  # the note stays off stdout
    # A failure is still one line on stderr and nothing on stdout.
    failed = runner.invoke(main, ["sql", "SELECT * FROM golden_custmer", "--warehouse",
                                  str(sample_warehouse), "--json"])  # fmt: skip
    assert (failed.exit_code, failed.stdout) == (1, "")
    assert failed.stderr.rstrip("\n").endswith('Did you mean "golden_customer"?')
