"""Builders for tiny hand-made frames (session fixtures, so Hypothesis tests can use them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from connectors.canonical import CANONICAL_SCHEMA, GOLDEN_FIELDS

VALIDITY_SCHEMA: dict[str, pl.DataType] = {
    "name_valid": pl.Boolean(),
    "email_valid": pl.Boolean(),
    "phone_valid": pl.Boolean(),
    "tax_id_valid": pl.Boolean(),
}
STD_SCHEMA: dict[str, pl.DataType] = {
    **CANONICAL_SCHEMA,
    **VALIDITY_SCHEMA,
    "name_key": pl.String(),  # a matching key: lineage must ignore it
}
CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "unified_id": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "source_system": pl.String(),
    "source_record_id": pl.String(),
    "source_column": pl.String(),
    "source_updated_at": pl.Datetime("us", "UTC"),
    "valid": pl.Boolean(),
}
SCORED_SCHEMA: dict[str, pl.DataType] = {
    "unified_id": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "source_system": pl.String(),
    "source_record_id": pl.String(),
    "source_updated_at": pl.Datetime("us", "UTC"),
    "authority": pl.Float64(),
    "trust_score": pl.Float64(),
}


def ts(text: str | None) -> datetime | None:
    """``"2024-05-02"`` or ``"2024-05-02 10:00"`` as an aware UTC datetime."""
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def std_frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A standardised frame from ``{"system", "id", "at", <field>: value, "<flag>": bool}``.

    ``source_columns`` maps each given field to ``"<system>.<field>"``; validity
    flags default to true for a non-null email/phone/tax_id.
    """
    rows = []
    for i, rec in enumerate(records):
        values = {f: rec.get(f) for f in GOLDEN_FIELDS}
        given = [f for f in GOLDEN_FIELDS if values[f] is not None]
        row: dict[str, Any] = {
            "source_system": rec["system"],
            "source_record_id": rec["id"],
            "source_file": f"{rec['system']}.csv",
            "row_number": i + 1,
            "source_updated_at": ts(rec.get("at")),
            "source_columns": json.dumps({f: f"{rec['system']}.{f}" for f in given}),
            **values,
            "name_key": "ignored",
        }
        for flag, fld in (
            ("name_valid", "name"),
            ("email_valid", "email"),
            ("phone_valid", "phone"),
            ("tax_id_valid", "tax_id"),
        ):
            row[flag] = rec.get(flag, True if values[fld] is not None else None)
        rows.append(row)
    return pl.DataFrame(rows, schema=STD_SCHEMA, orient="row")


def xref_frame(clusters: Mapping[str, Sequence[tuple[str, str]]]) -> pl.DataFrame:
    """``{"U1": [("crm", "C1"), ...]}`` as an xref frame."""
    rows = [(s, r, uid, 1.0) for uid, keys in clusters.items() for s, r in keys]
    return pl.DataFrame(
        rows,
        schema={
            "source_system": pl.String,
            "source_record_id": pl.String,
            "unified_id": pl.String,
            "match_probability": pl.Float64,
        },
        orient="row",
    )


def candidate_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Unscored candidates; unified_id defaults to U1, timestamp to 2024-01-01, and field
    to email (a field with the default recency half-life)."""
    return pl.DataFrame(
        [
            {
                "unified_id": r.get("uid", "U1"),
                "field": r.get("field", "email"),
                "value": r["value"],
                "source_system": r["system"],
                "source_record_id": r.get("id", f"{r['system']}-1"),
                "source_column": f"{r['system']}.{r.get('field', 'email')}",
                "source_updated_at": ts(r.get("at", "2024-01-01")),
                "valid": r.get("valid"),
            }
            for r in rows
        ],
        schema=CANDIDATE_SCHEMA,
        orient="row",
    )


def scored_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Already-scored candidates for survivorship tests (trust set by hand)."""
    return pl.DataFrame(
        [
            {
                "unified_id": r.get("uid", "U1"),
                "field": r.get("field", "name"),
                "value": r["value"],
                "source_system": r["system"],
                "source_record_id": r["id"],
                "source_updated_at": ts(r.get("at")),
                "authority": r["authority"],
                "trust_score": r["trust"],
            }
            for r in rows
        ],
        schema=SCORED_SCHEMA,
        orient="row",
    )


@dataclass(frozen=True)
class FakeSource:
    """Stands in for ``connectors.config.SourceConfig``: ``.name`` and ``.trust_for``."""

    name: str
    default: float
    per_field: Mapping[str, float] = field(default_factory=dict)

    def trust_for(self, field: str) -> float:
        return self.per_field.get(field, self.default)


@pytest.fixture(scope="session")
def make_std() -> Callable[[Sequence[Mapping[str, Any]]], pl.DataFrame]:
    return std_frame


@pytest.fixture(scope="session")
def make_xref() -> Callable[[Mapping[str, Sequence[tuple[str, str]]]], pl.DataFrame]:
    return xref_frame


@pytest.fixture(scope="session")
def make_candidates() -> Callable[[Sequence[Mapping[str, Any]]], pl.DataFrame]:
    return candidate_frame


@pytest.fixture(scope="session")
def make_scored() -> Callable[[Sequence[Mapping[str, Any]]], pl.DataFrame]:
    return scored_frame


@pytest.fixture(scope="session")
def parse_ts() -> Callable[[str | None], datetime | None]:
    return ts


@pytest.fixture(scope="session")
def fake_source() -> type[FakeSource]:
    return FakeSource


# ---- a tiny published warehouse, built with the lineage functions (no pipeline run) ----

TINY_SOURCES = {
    "crm": {"default": 0.8, "tier": 0.7},
    "erp": {"default": 0.85, "tier": 0.95, "name": 0.9},
    "shop": {"default": 0.7},
}
SCRIPT_NAME = "<script>alert(1)</script>"
MARKUP_NAME = "Acme [bold red]Ltd[/]"
TINY_RECORDS: list[dict[str, Any]] = [
    {"system": "crm", "id": "C1", "at": "2024-05-02", "customer_type": "company",
     "name": MARKUP_NAME, "email": "li@acme.cn", "phone": "+8613800138000",
     "address": "1 Century Ave", "city": "Shanghai", "tier": "A"},
    {"system": "erp", "id": "E1", "at": "2023-05-03", "customer_type": "company",
     "name": SCRIPT_NAME, "email": "wei@acme.cn", "phone": "021-5555", "phone_valid": False,
     "address": "88 Old Street", "city": "Beijing", "tier": "S"},
    {"system": "shop", "id": "S1", "at": "2024-01-01", "customer_type": "person",
     "name": "Wang Fang", "email": "noreply@shop.cn"},
]  # fmt: skip
TINY_CLUSTERS = {"FU-1": [("crm", "C1"), ("erp", "E1")], "FU-2": [("shop", "S1")]}
TINY_RUN_ID = "00000000-0000-4000-8000-000000000001"
TINY_CONFIG = {
    "sources": [
        {"name": "crm", "system": "crm", "path": "crm.csv", "format": "csv", "record_id": "id",
         "updated_at": {"column": "modified", "format": "iso"},
         "fields": {"name": {"column": "account"}, "email": {"column": "mail"}}},
        {"name": "erp", "system": "erp", "path": "erp.csv", "format": "csv", "record_id": "编号",
         "fields": {"name": {"column": "名称"}}},
        {"name": "shop", "system": "ecommerce", "path": "shop.jsonl", "format": "jsonl",
         "record_id": "id", "fields": {"name": {"column": "customer.name"}}},
    ]
}  # fmt: skip


def build_tiny_warehouse(root: Path) -> Path:
    """Publish the tiny records as a warehouse folder with every table the reports read."""
    from lineage import SurvivorshipSettings, build_golden_record, run_provenance_table
    from lineage.contact_points import customer_contact_points

    xref = xref_frame(TINY_CLUSTERS).with_columns(pl.lit(TINY_RUN_ID).alias("run_id"))
    golden = build_golden_record(
        std_frame([dict(r) for r in TINY_RECORDS]),
        xref,
        sources=TINY_SOURCES,
        settings=SurvivorshipSettings(),
        run_id=TINY_RUN_ID,
    )
    at = datetime(2024, 6, 1, tzinfo=UTC)
    tables: dict[str, pl.DataFrame] = {
        "golden_customer": golden.golden_customer,
        "field_lineage": golden.field_lineage,
        "field_candidates": golden.field_candidates,
        "customer_contact_points": customer_contact_points(golden.field_candidates),
        "customer_xref": xref,
        "match_evidence": pl.DataFrame(
            {
                "left_source_system": ["crm", "crm"],
                "left_source_record_id": ["C1", "C1"],
                "right_source_system": ["erp", "shop"],
                "right_source_record_id": ["E1", "S1"],
                "match_probability": [0.97, 0.01],
                "match_weight": [9.5, -7.2],
                "decision": ["match", "non_match"],
                "same_cluster": [True, False],
                "name_level": ["tokens>=0.8", "different"],
                "email_level": ["domain", "different"],
                "run_id": [TINY_RUN_ID] * 2,
            }
        ),
        "unified_id_history": pl.DataFrame(
            {
                "unified_id": ["FU-1", "FU-2", "FU-9", "FU-9"],
                "event": ["created", "created", "created", "merged_into"],
                "other_unified_id": [None, None, None, "FU-1"],
                "run_id": [TINY_RUN_ID] * 4,
                "at": [at] * 4,
            }
        ),
        "quarantine": pl.DataFrame(
            {
                "source_system": ["crm", "crm"],
                "source_file": ["crm.csv", "crm.csv"],
                "row_number": [7, 9],
                "raw": ["7,<b>x</b>,bad@acme.cn", "9,,"],
                "reason": [
                    "column 'mail': invalid value 'bad@acme.cn'",
                    "missing record id (column 'id')",
                ],
                "run_id": [TINY_RUN_ID] * 2,
            }
        ),
        "run_settings": pl.DataFrame(
            {
                "run_id": [TINY_RUN_ID],
                "config_hash": ["cafe0123"],
                "config_json": [json.dumps(TINY_CONFIG)],
            }
        ),
        "run_provenance": run_provenance_table(run_id=TINY_RUN_ID, config_hash="cafe0123"),
        "pipeline_runs": pl.DataFrame(
            {"run_id": [TINY_RUN_ID], "finished_at": [at], "status": ["succeeded"]}
        ),
    }
    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(root / "golden.duckdb"))
    try:
        for name, frame in tables.items():
            con.register("frame", frame.to_arrow())
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame')
            con.unregister("frame")
    finally:
        con.close()
    return root


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")
