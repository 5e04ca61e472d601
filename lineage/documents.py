"""The ``--json`` documents of ``fusion lineage`` and ``fusion report``.

Each is one JSON object with a ``schema`` key (``fusion.lineage/1``,
``fusion.report/1``) that changes only when a key is removed or changes type;
tables are arrays of objects keyed by column, timestamps and dates are ISO 8601
strings, null stays null and a NaN becomes null. README ("Machine-readable
output") lists the keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from lineage.report import CustomerReport, RunInfo, comparison_columns
from lineage.summary import RunSummary

LINEAGE_SCHEMA = "fusion.lineage/1"
REPORT_SCHEMA = "fusion.report/1"
# Columns of match_evidence that are not a comparison: every other ``X_level`` /
# ``X_weight`` pair goes under ``comparisons`` so that a config's comparisons
# never add top-level keys.
EVIDENCE_COLUMNS = (
    "left_source_system", "left_source_record_id", "right_source_system",
    "right_source_record_id", "match_probability", "match_weight", "decision",
    "same_cluster", "steward_decision", "blocking_rules",
)  # fmt: skip


def json_value(value: object) -> Any:
    """A value JSON can hold: ISO 8601 for dates and times, numbers for decimals.

    Example:
        >>> json_value(datetime(2026, 9, 14, 11, 18))
        '2026-09-14T11:18:00'
        >>> json_value([Decimal("3"), float("nan")])
        [3, None]
    """
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of a (small, already shown) frame as JSON objects keyed by column.

    Example:
        >>> json_rows(pl.DataFrame({"id": ["a"], "n": [1]}))
        [{'id': 'a', 'n': 1}]
    """
    return [json_value(row) for row in frame.to_dicts()]


def _run(run: RunInfo) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "config_hash": run.config_hash,
        "code_version": run.code_version,
        "finished_at": json_value(run.finished_at),
    }


def _evidence(evidence: pl.DataFrame) -> list[dict[str, Any]]:
    comparisons = [c.removesuffix("_level") for c in comparison_columns(evidence)]
    rows = []
    for row in evidence.to_dicts():
        document = {c: json_value(row.get(c)) for c in EVIDENCE_COLUMNS}
        document["comparisons"] = {
            name: {
                "level": row[f"{name}_level"],
                "weight": json_value(row.get(f"{name}_weight")),
            }
            for name in comparisons
        }
        rows.append(document)
    return rows


def customer_report_json(report: CustomerReport) -> dict[str, Any]:
    """``fusion lineage --json``: one customer's golden record, members, evidence and lineage.

    ``golden`` is the golden row (field -> value); ``fields`` the winning value of
    each field with its source and rule; ``candidates`` every candidate value with
    its trust components and ``lost_because``; ``evidence`` the scored pairs, each
    with ``comparisons`` (comparison -> ``{"level", "weight"}``).
    """
    golden = report.golden.row(0, named=True) if report.golden.height else {}
    winners = report.winners()
    return {
        "schema": LINEAGE_SCHEMA,
        "requested_id": report.requested_id,
        "unified_id": report.unified_id,
        "masked": report.masked,
        "run": _run(report.run),
        "golden": json_value(golden),
        "fields": json_rows(
            winners.select(
                "field",
                "value",
                "source_system",
                "source_record_id",
                "source_column",
                "trust_score",
                "rule",
            )  # fmt: skip
        ),
        "members": json_rows(report.members),
        "evidence": _evidence(report.evidence),
        "candidates": json_rows(report.candidates),
        "contact_points": json_rows(report.contact_points),
        "history": json_rows(report.history),
        # Sections cut to the report's row limit: section -> {"shown", "total"}.
        "truncated": {
            section: {"shown": shown, "total": total}
            for section, (shown, total) in report.truncated.items()
        },
    }


def run_summary_json(summary: RunSummary) -> dict[str, Any]:
    """``fusion report --json``: the run summary, one array of rows per section."""
    return {
        "schema": REPORT_SCHEMA,
        "masked": summary.masked,
        "run": _run(summary.run),
        "sources": json_rows(summary.sources),
        "quarantine": json_rows(summary.quarantine),
        "decisions": json_rows(summary.decisions),
        "cluster_sizes": json_rows(summary.cluster_sizes),
        "trust_histogram": json_rows(summary.trust_histogram),
        "field_trust": json_rows(summary.field_trust),
        "contested_fields": json_rows(summary.contested),
        "contested_customers": json_rows(summary.contested_customers),
        "match_probability_histogram": json_rows(summary.match_probabilities),
        "customers_by_records": json_rows(summary.cluster_size_distribution),
        "quality_trend": json_rows(summary.quality_trend),
    }
