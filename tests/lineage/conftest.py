"""Builders for tiny hand-made frames (session fixtures, so Hypothesis tests can use them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
