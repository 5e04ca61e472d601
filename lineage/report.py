"""The auditor's report for one customer: loaded from the warehouse, shown in a terminal.

It answers the audit questions from the published warehouse alone: which source
records were merged and on what evidence, where each golden value came from and
why it beat the alternatives (with every trust component), how far it can be
trusted, how the unified ID came to be, and which run (configuration hash and
code version) produced it. ``lineage.html`` renders the same report as one
self-contained HTML page.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connectors.canonical import GOLDEN_FIELDS
from connectors.errors import FusionError
from lineage.contact_report import contacts_by_value, load_contacts, mask_contacts
from lineage.masking import PII_FIELDS, mask_field_columns, mask_long_values

MAX_RESOLVE_HOPS = 50
# Rows a section of the report shows at most (members, evidence, contact points, contacts;
# candidates: per field, the winner first). A customer of 50,000 records (a cluster above
# matching.max_cluster_size published as it is) took over 5 minutes and 3.3 GiB to print
# whole; the rest of a cut section is in its table (``fusion sql``), and the report says so.
SECTION_ROWS = 500
DATABASE_NAME = "golden.duckdb"
FIELD_ORDER: dict[str, int] = {field: i for i, field in enumerate(GOLDEN_FIELDS)}
# Candidate columns shown to an auditor, in this order (older warehouses may lack some).
CANDIDATE_DETAIL: tuple[str, ...] = (
    "field", "is_winner", "value", "source_system", "source_record_id", "source_column",
    "source_updated_at", "confirmed_at", "authority", "min_trust", "decay_curve", "decay_days",
    "age_days", "recency", "validity", "validation_issues", "completeness", "corroboration",
    "trust_score", "rule", "lost_because",
)  # fmt: skip


class ReportError(FusionError):
    """The report cannot be built (no warehouse, unknown ID)."""


@dataclass(frozen=True)
class RunInfo:
    """Which run produced the warehouse: its ID, configuration hash and code version."""

    run_id: str | None
    config_hash: str | None
    code_version: str | None
    finished_at: object


@dataclass(frozen=True)
class CustomerReport:
    """Everything shown for one unified customer (PII masked when ``masked``)."""

    requested_id: str
    unified_id: str
    golden: pl.DataFrame
    members: pl.DataFrame
    evidence: pl.DataFrame
    candidates: pl.DataFrame
    contact_points: pl.DataFrame
    contacts: pl.DataFrame
    history: pl.DataFrame
    run: RunInfo
    masked: bool = False
    # Sections cut to ``SECTION_ROWS`` rows: section -> (rows shown, rows in the warehouse).
    truncated: dict[str, tuple[int, int]] = dataclass_field(default_factory=dict)

    def winners(self) -> pl.DataFrame:
        """One row per golden field value: the winning candidate."""
        return self.candidates.filter(pl.col("is_winner"))


def _query(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> pl.DataFrame:
    return con.sql(sql, params=list(params)).pl()


def open_warehouse(warehouse_dir: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current release, or a ``ReportError``."""
    database = Path(warehouse_dir) / DATABASE_NAME
    if not database.exists():
        msg = f"no published warehouse at {warehouse_dir} (expected {database})"
        raise ReportError(msg)
    return duckdb.connect(str(database), read_only=True)


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of the warehouse (older releases lack the newer ones)."""
    return {
        row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


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


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, *params: object
) -> tuple[object, ...] | None:
    """The first row of a query, or None (fetches everything: duckdb 2 wants results drained)."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0] if rows else None


def load_run_info(con: duckdb.DuckDBPyConnection, tables: set[str]) -> RunInfo:
    """The run of the current release, with its configuration hash and code version."""
    run_id = config_hash = code_version = finished_at = None
    if "run_settings" in tables:
        row = first_row(con, "SELECT run_id, config_hash FROM run_settings LIMIT 1")
        if row is not None:
            run_id, config_hash = row
    if "run_provenance" in tables:
        row = first_row(con, "SELECT run_id, config_hash, code_version FROM run_provenance LIMIT 1")
        if row is not None:
            run_id, config_hash, code_version = row
    if "pipeline_runs" in tables and run_id is not None:
        row = first_row(
            con, "SELECT finished_at FROM pipeline_runs WHERE run_id = ? LIMIT 1", run_id
        )
        if row is not None:
            finished_at = row[0]
    return RunInfo(
        None if run_id is None else str(run_id),
        None if config_hash is None else str(config_hash),
        None if code_version is None else str(code_version),
        finished_at,
    )


def _sorted_by_field(
    frame: pl.DataFrame, *then: str, descending: Sequence[bool] = ()
) -> pl.DataFrame:
    order = pl.col("field").replace_strict(
        FIELD_ORDER, default=len(FIELD_ORDER), return_dtype=pl.UInt32
    )
    return frame.sort([order, *then], descending=[False, *descending])


def _members(con: duckdb.DuckDBPyConnection, live_id: str, limit: int) -> pl.DataFrame:
    return _query(
        con,
        """
        WITH x AS (
            SELECT * FROM customer_xref WHERE unified_id = ?
            ORDER BY source_system, source_record_id LIMIT ?
        )
        SELECT x.source_system, x.source_record_id, x.match_probability,
               max(c.source_updated_at) AS source_updated_at,
               count(c.field) FILTER (WHERE c.is_winner) AS golden_values_supplied
        FROM x
        LEFT JOIN field_candidates c
          ON c.unified_id = x.unified_id AND c.source_system = x.source_system
         AND c.source_record_id = x.source_record_id
        GROUP BY ALL ORDER BY x.source_system, x.source_record_id
        """,
        live_id,
        limit,
    )


def _evidence(con: duckdb.DuckDBPyConnection, live_id: str, limit: int) -> pl.DataFrame:
    return _query(
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
        LIMIT ?
        """,
        live_id,
        limit,
    )


def _evidence_count(con: duckdb.DuckDBPyConnection, live_id: str) -> int:
    counted = _query(
        con,
        """
        WITH m AS (
            SELECT source_system, source_record_id FROM customer_xref WHERE unified_id = ?
        )
        SELECT count(*) AS n FROM match_evidence e
        JOIN m l ON e.left_source_system = l.source_system
                AND e.left_source_record_id = l.source_record_id
        JOIN m r ON e.right_source_system = r.source_system
                AND e.right_source_record_id = r.source_record_id
        """,
        live_id,
    )
    return int(counted["n"][0])


def _count(con: duckdb.DuckDBPyConnection, table: str, live_id: str) -> int:
    counted = _query(con, f"SELECT count(*) AS n FROM {table} WHERE unified_id = ?", live_id)
    return int(counted["n"][0])


def _candidates(con: duckdb.DuckDBPyConnection, live_id: str, per_field: int) -> pl.DataFrame:
    """The customer's candidates, at most ``per_field`` a field: the winner, then by rank."""
    columns = con.sql("SELECT * FROM field_candidates LIMIT 0").columns
    order = "rank" if "rank" in columns else "trust_score DESC"
    candidates = _query(
        con,
        "SELECT * FROM field_candidates WHERE unified_id = ? QUALIFY row_number() OVER "
        f"(PARTITION BY field ORDER BY is_winner DESC, {order}, source_system, "
        "source_record_id) <= ?",
        live_id,
        per_field,
    )
    rank = ["rank"] if "rank" in candidates.columns else ["trust_score"]
    return _sorted_by_field(
        candidates, "is_winner", *rank, descending=[True, rank == ["trust_score"]]
    )


def load_customer_report(
    warehouse_dir: Path,
    unified_id: str,
    *,
    mask_pii: bool = False,
    section_rows: int = SECTION_ROWS,
) -> CustomerReport:
    """Read one customer's golden row, members, evidence, candidates, contacts and history.

    A retired ID (merged into another) is followed to the live one. With
    ``mask_pii`` every e-mail, phone, street address and contact name is masked
    before anything is rendered (see ``lineage.masking``). Each section holds at most
    ``section_rows`` rows (candidates: per field); ``truncated`` names the cut ones.
    """
    with contextlib.closing(open_warehouse(warehouse_dir)) as con:
        tables = table_names(con)
        live_id = resolve_unified_id(con, unified_id)
        candidates = _candidates(con, live_id, section_rows)
        contact_points = (
            _query(
                con,
                "SELECT * FROM customer_contact_points WHERE unified_id = ? LIMIT ?",
                live_id,
                section_rows,
            )
            if "customer_contact_points" in tables
            else pl.DataFrame()
        )
        members = _members(con, live_id, section_rows)
        evidence = _evidence(con, live_id, section_rows)
        contacts = load_contacts(con, live_id, tables=tables, limit=section_rows)
        totals = {
            "members": lambda: _count(con, "customer_xref", live_id),
            "evidence": lambda: _evidence_count(con, live_id),
            "candidates": lambda: _count(con, "field_candidates", live_id),
            "contact_points": lambda: _count(con, "customer_contact_points", live_id),
            "contacts": lambda: _count(con, "customer_contacts", live_id),
        }
        shown = {
            "members": members.height,
            "evidence": evidence.height,
            "candidates": candidates.height,
            "contact_points": contact_points.height,
            "contacts": contacts.height,
        }
        # Counted only where a section may have been cut.
        truncated = {
            section: (rows, total)
            for section, rows in shown.items()
            if (section == "candidates" or rows >= section_rows)
            and (total := totals[section]()) > rows
        }
        history = _query(
            con,
            "SELECT * FROM unified_id_history WHERE unified_id = ? OR other_unified_id = ? "
            'ORDER BY "at", event, unified_id',
            live_id,
            live_id,
        )
        golden = _query(con, "SELECT * FROM golden_customer WHERE unified_id = ?", live_id)
        report = CustomerReport(
            requested_id=unified_id,
            unified_id=live_id,
            golden=golden,
            members=members,
            evidence=evidence,
            candidates=candidates,
            contact_points=contact_points,
            contacts=contacts,
            history=history,
            run=load_run_info(con, tables),
            truncated=truncated,
        )
    return mask_report(report) if mask_pii else report


def mask_report(report: CustomerReport) -> CustomerReport:
    """The same report with PII values masked (golden row, candidates, contact points, contacts)."""
    points = report.contact_points
    if not points.is_empty():
        points = mask_long_values(points, field_column="kind")
    return CustomerReport(
        requested_id=report.requested_id,
        unified_id=report.unified_id,
        golden=mask_field_columns(report.golden, PII_FIELDS),
        members=report.members,
        evidence=report.evidence,
        candidates=mask_long_values(report.candidates),
        contact_points=points,
        contacts=mask_contacts(report.contacts),
        history=report.history,
        run=report.run,
        masked=True,
        truncated=report.truncated,
    )


def comparison_columns(evidence: pl.DataFrame) -> list[str]:
    """The per-comparison level columns of ``match_evidence``."""
    return [c for c in evidence.columns if c.endswith("_level")]


def text(value: object) -> str:
    """A cell's text: empty for null, 4 decimals at most for floats, lists joined."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    if isinstance(value, datetime):
        utc = value.utcoffset() == timedelta(0)
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if utc else value.strftime(" %z"))
    return str(value)


def _rich_table(title: str, frame: pl.DataFrame, columns: Sequence[str]) -> Table:
    """A rich table whose cells are plain ``Text``: source values never become markup."""
    table = Table(title=title, show_header=True)
    shown = [c for c in columns if c in frame.columns]
    for column in shown:
        table.add_column(column.removesuffix("_level"), overflow="fold")
    for row in frame.select(shown).iter_rows():
        table.add_row(*(Text(text(v)) for v in row))
    return table


# Where the whole of a cut section is (CustomerReport.truncated).
SECTION_TABLES = {
    "members": "customer_xref",
    "evidence": "match_evidence",
    "candidates": "field_candidates",
    "contact_points": "customer_contact_points",
    "contacts": "customer_contacts",
}


def cut_note(report: CustomerReport, section: str) -> str | None:
    """``showing 500 of 50,000 rows: all are in customer_xref`` for a cut section, else None."""
    if section not in report.truncated:
        return None
    shown, total = report.truncated[section]
    table = SECTION_TABLES[section]
    where = (
        "between the customer's customer_xref records"
        if table == "match_evidence"
        else f"WHERE unified_id = '{report.unified_id}'"
    )
    return f"showing {shown:,} of {total:,} rows: all are in {table} ({where}; fusion sql)"


def _print_cut(report: CustomerReport, section: str, console: Console) -> None:
    note = cut_note(report, section)
    if note is not None:
        console.print(Text(note, "yellow"))


def render_terminal(report: CustomerReport, console: Console) -> None:
    """Print the report as rich tables (every value as plain text, never as markup)."""
    if report.requested_id != report.unified_id:
        console.print(Text(f"{report.requested_id} was merged into {report.unified_id}", "yellow"))
    run = report.run
    console.print(
        Text(
            f"run {text(run.run_id)}  config {text(run.config_hash)}  "
            f"code {text(run.code_version)}" + ("  (PII masked)" if report.masked else "")
        )
    )
    golden = Table(title=f"Golden record {report.unified_id}")
    for column in ("field", "value", "source", "column", "trust", "rule"):
        golden.add_column(column, overflow="fold")
    winners = {r["field"]: r for r in report.winners().iter_rows(named=True)}
    row = report.golden.row(0, named=True) if report.golden.height else {}
    for field, value in row.items():
        won = winners.get(field)
        source = f"{won['source_system']}:{won['source_record_id']}" if won else ""
        golden.add_row(
            Text(field),
            Text(text(value)),
            Text(source),
            Text(text(won["source_column"]) if won else ""),
            Text(text(won["trust_score"]) if won else ""),
            Text(text(won["rule"]) if won else ""),
        )
    console.print(golden)
    console.print(
        _rich_table(
            "Member source records",
            report.members,
            [
                "source_system",
                "source_record_id",
                "match_probability",
                "source_updated_at",
                "golden_values_supplied",
            ],
        )  # fmt: skip
    )
    _print_cut(report, "members", console)
    console.print(
        _rich_table(
            "Match evidence between members",
            report.evidence,
            [
                "left_source_record_id",
                "right_source_record_id",
                "match_probability",
                "decision",
                *comparison_columns(report.evidence),
            ],
        )  # fmt: skip
    )
    _print_cut(report, "evidence", console)
    fields = Table(title="Field survivorship: winners and losers")
    shown = ["field", "value", "source_system", "source_record_id", "source_column",
             "source_updated_at", "authority", "recency", "validity", "completeness",
             "corroboration", "trust_score", "lost_because"]  # fmt: skip
    shown = [c for c in shown if c in report.candidates.columns]
    for column in shown:
        fields.add_column(column, overflow="fold")
    for candidate in report.candidates.iter_rows(named=True):
        style = "bold green" if candidate["is_winner"] else "dim"
        fields.add_row(*(Text(text(candidate[c])) for c in shown), style=style)
    console.print(fields)
    _print_cut(report, "candidates", console)
    if not report.contact_points.is_empty():
        console.print(
            _rich_table(
                "Contact points (every distinct e-mail and phone)",
                report.contact_points,
                ["kind", "value", "is_primary", "source_records", "trust_score"],
            )
        )
        _print_cut(report, "contact_points", console)
    if not report.contacts.is_empty():
        console.print(
            _rich_table(
                "Contacts: the people acting for the company, where each value came from",
                contacts_by_value(report.contacts),
                ["contact_id", "field", "value", "source"],
            )
        )
        _print_cut(report, "contacts", console)
    console.print(
        _rich_table(
            "Unified ID history",
            report.history,
            ["unified_id", "event", "other_unified_id", "run_id", "at"],
        )
    )
