"""The auditor's report for one customer: terminal (rich) and self-contained HTML.

It answers the audit questions from the published warehouse alone: which
source records were merged and on what evidence, where each golden value came
from and why it beat the alternatives, and how the unified ID came to be.
"""

from __future__ import annotations

import contextlib
import html
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table

from connectors.errors import FusionError

MAX_RESOLVE_HOPS = 50


class ReportError(FusionError):
    """The report cannot be built (no warehouse, unknown ID)."""


@dataclass(frozen=True)
class CustomerReport:
    """Everything shown for one unified customer."""

    requested_id: str
    unified_id: str
    golden: pl.DataFrame
    members: pl.DataFrame
    evidence: pl.DataFrame
    candidates: pl.DataFrame
    history: pl.DataFrame


def _query(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> pl.DataFrame:
    return con.sql(sql, params=list(params)).pl()


def resolve_unified_id(con: duckdb.DuckDBPyConnection, unified_id: str) -> str:
    """Follow ``merged_into`` events from a retired ID to the live one."""
    current = unified_id
    for _ in range(MAX_RESOLVE_HOPS):
        live = con.execute(
            "SELECT count(*) FROM golden_customer WHERE unified_id = ?", [current]
        ).fetchall()
        if live[0][0]:
            return current
        successor = con.execute(
            "SELECT other_unified_id FROM unified_id_history "
            "WHERE unified_id = ? AND event = 'merged_into' ORDER BY \"at\" DESC LIMIT 1",
            [current],
        ).fetchall()
        if not successor:
            break
        current = successor[0][0]
    msg = f"unified id {unified_id!r} is not in the warehouse"
    raise ReportError(msg)


def load_customer_report(warehouse_dir: Path, unified_id: str) -> CustomerReport:
    """Read one customer's golden row, members, evidence, candidates and history."""
    database = Path(warehouse_dir) / "golden.duckdb"
    if not database.exists():
        msg = f"no published warehouse at {warehouse_dir} (expected {database})"
        raise ReportError(msg)
    with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
        live_id = resolve_unified_id(con, unified_id)
        members = _query(
            con,
            "SELECT source_system, source_record_id, match_probability FROM customer_xref "
            "WHERE unified_id = ? ORDER BY source_system, source_record_id",
            live_id,
        )
        evidence = _query(
            con,
            """
            WITH m AS (
                SELECT source_system, source_record_id FROM customer_xref WHERE unified_id = ?
            )
            SELECT e.* FROM match_evidence e
            JOIN m l ON e.left_source_system = l.source_system
                    AND e.left_source_record_id = l.source_record_id
            JOIN m r ON e.right_source_system = r.source_system
                    AND e.right_source_record_id = r.source_record_id
            ORDER BY e.match_probability DESC, e.left_source_record_id, e.right_source_record_id
            """,
            live_id,
        )
        return CustomerReport(
            requested_id=unified_id,
            unified_id=live_id,
            golden=_query(con, "SELECT * FROM golden_customer WHERE unified_id = ?", live_id),
            members=members,
            evidence=evidence,
            candidates=_query(
                con,
                "SELECT * FROM field_candidates WHERE unified_id = ? "
                "ORDER BY field, is_winner DESC, trust_score DESC",
                live_id,
            ),
            history=_query(
                con,
                "SELECT * FROM unified_id_history WHERE unified_id = ? OR other_unified_id = ? "
                'ORDER BY "at", event',
                live_id,
                live_id,
            ),
        )


def _comparison_columns(evidence: pl.DataFrame) -> list[str]:
    return [c for c in evidence.columns if c.endswith("_level")]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def render_terminal(report: CustomerReport, console: Console) -> None:
    """Print the report as rich tables."""
    if report.requested_id != report.unified_id:
        console.print(f"[yellow]{report.requested_id} was merged into {report.unified_id}[/]")
    golden = Table(title=f"Golden record {report.unified_id}", show_header=True)
    golden.add_column("field")
    golden.add_column("value")
    for column in report.golden.columns:
        golden.add_row(column, _text(report.golden[column][0]) if report.golden.height else "")
    console.print(golden)

    members = Table(title="Member source records")
    for column in report.members.columns:
        members.add_column(column)
    for row in report.members.iter_rows():
        members.add_row(*(_text(v) for v in row))
    console.print(members)

    evidence = Table(title="Match evidence between members")
    shown = ["left_source_record_id", "right_source_record_id", "match_probability", "decision",
             *_comparison_columns(report.evidence)]  # fmt: skip
    for column in shown:
        evidence.add_column(column.removesuffix("_level"))
    for row in report.evidence.select(shown).iter_rows():
        evidence.add_row(*(_text(v) for v in row))
    console.print(evidence)

    fields = Table(title="Field survivorship: winners and losers")
    shown = ["field", "value", "source_system", "source_record_id", "source_column",
             "source_updated_at", "trust_score", "is_winner", "lost_because"]  # fmt: skip
    for column in shown:
        fields.add_column(column)
    for candidate in report.candidates.select(shown).iter_rows(named=True):
        style = "bold green" if candidate["is_winner"] else "dim"
        fields.add_row(*(_text(candidate[c]) for c in shown), style=style)
    console.print(fields)

    history = Table(title="Unified ID history")
    for column in report.history.columns:
        history.add_column(column)
    for row in report.history.iter_rows():
        history.add_row(*(_text(v) for v in row))
    console.print(history)


def _html_table(frame: pl.DataFrame, *, title: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{rows}</table>"


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
"""


def render_html(report: CustomerReport) -> str:
    """One self-contained HTML page (inline CSS, no scripts); every value is escaped."""
    golden_long = report.golden.select(pl.all().cast(pl.String)).unpivot(
        variable_name="field", value_name="value"
    )
    shown = ["left_source_record_id", "right_source_record_id", "match_probability",
             "match_weight", "decision", *_comparison_columns(report.evidence)]  # fmt: skip
    sections = [
        _html_table(golden_long, title=f"Golden record {report.unified_id}"),
        _html_table(report.members, title="Member source records"),
        _html_table(report.evidence.select(shown), title="Match evidence between members"),
        _html_table(report.candidates, title="Field survivorship: winners and losers"),
        _html_table(report.history, title="Unified ID history"),
    ]
    title = html.escape(f"fusion lineage: {report.unified_id}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>{''.join(sections)}</body></html>"
    )
