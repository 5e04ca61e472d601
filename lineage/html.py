"""Self-contained HTML for the auditor: one customer's lineage, or a run summary.

Each page is one file that opens offline: inline CSS, no scripts, no external
resource, and a Content-Security-Policy that forbids scripts altogether, so a
value that slipped past escaping still could not run. Every source value goes
through ``html.escape``: a customer named ``<script>alert(1)</script>`` is shown
as that text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import polars as pl

from lineage.contact_report import CONTACT_REPORT_COLUMNS
from lineage.report import CustomerReport, comparison_columns, cut_note, text
from lineage.svg import Edge, record_graph

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
:root{--ok:#1b7f3b;--lost:#8a8a8a;--line:#d8d8d8;--head:#f3f4f6;--accent:#2457a6}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1400px;
color:#1f2328;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid var(--line)}
h3{margin:1.2em 0 .3em}
.meta{color:#57606a;font-size:13px}.meta code{background:var(--head);padding:1px 4px}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.winner td{background:#e9f6ec;font-weight:600}
tr.winner td.role{color:var(--ok)}
tr.loser td{color:#57606a}tr.loser td.role{color:var(--lost)}
.badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;background:var(--head)}
.note{background:#fff8e6;border-left:4px solid #e0a800;padding:.4em .8em}
.formula{font-family:ui-monospace,monospace;font-size:12px;background:var(--head);padding:.5em}
.scroll{overflow-x:auto}td{max-width:28em;overflow-wrap:break-word}
td.num{white-space:nowrap}
.bar{fill:var(--accent)}figure{margin:0}.axis{font-size:10px;fill:#57606a}
"""

Cell = Callable[[Mapping[str, object]], str]


def esc(value: object) -> str:
    """Escaped cell text of any value (null -> empty)."""
    return html.escape(text(value), quote=True)


def html_table(
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    row_class: Callable[[Mapping[str, object]], str] | None = None,
    numeric: Sequence[str] = (),
    table_id: str | None = None,
) -> str:
    """An HTML table of a frame; ``columns`` maps column -> header (present ones only)."""
    if columns is None:
        columns = frame.columns
    headers = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    shown = [c for c in headers if c in frame.columns]
    head = "".join(f"<th>{esc(headers[c])}</th>" for c in shown)
    rows = []
    for row in frame.iter_rows(named=True):
        css = row_class(row) if row_class else ""
        cells = "".join(
            f'<td class="num">{esc(row[c])}</td>' if c in numeric else f"<td>{esc(row[c])}</td>"
            for c in shown
        )
        rows.append(f'<tr class="{esc(css)}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    body = "".join(rows) or f'<tr><td colspan="{max(len(shown), 1)}">none</td></tr>'
    return (
        f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def page(title: str, body: str, *, meta: str = "") -> str:
    """A complete HTML document: UTF-8, inline CSS, CSP without scripts."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(title)}</h1>{meta}{body}</body></html>"
    )


def svg_bars(labels: Sequence[str], counts: Sequence[int], *, title: str) -> str:
    """A small inline SVG bar chart (no script, no external resource).

    Columns are as wide as their longest label, so labels never overlap.
    """
    step = max(36, 7 * max((len(label) for label in labels), default=0) + 8)
    width, height, pad = step * max(len(counts), 1) + 40, 160, 20
    top = max(counts, default=0) or 1
    bars = []
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        x = 30 + i * step
        bar = int((height - 2 * pad) * count / top)
        y = height - pad - bar
        middle = x + (step - 8) // 2
        bars.append(
            f'<rect class="bar" data-label="{esc(label)}" data-value="{count}" x="{x}" y="{y}" '
            f'width="{step - 8}" height="{bar}"><title>{esc(label)}: {count}</title></rect>'
            f'<text class="axis" x="{middle}" y="{height - 6}" text-anchor="middle">'
            f"{esc(label)}</text>"
            f'<text class="axis" x="{middle}" y="{y - 3}" text-anchor="middle">{count}</text>'
        )
    return (
        f'<svg class="chart bars" role="img" aria-label="{esc(title)}" width="{width}" '
        f'height="{height}">{"".join(bars)}</svg>'
    )


def run_meta(run_id: object, config_hash: object, code_version: object, *, masked: bool) -> str:
    """The line naming the run, configuration and code behind a page."""
    mask = ' <span class="badge">PII masked</span>' if masked else ""
    return (
        f'<p class="meta">run <code>{esc(run_id)}</code> · config <code>{esc(config_hash)}</code>'
        f" · code <code>{esc(code_version)}</code>{mask}</p>"
    )


TRUST_FORMULA = (
    "trust = min(1, authority × recency × validity × completeness × (1 + corroboration)); "
    "recency = (min_trust + (authority − min_trust) × curve(age_days / decay_days)) / authority; "
    "curve: linear 1−x, slow_initial_rapid_later 1−x², rapid_initial_slow_later 0.5^x "
    "(floored at 0); no timestamp: curve = 0. Ties: higher trust, later source_updated_at, "
    "higher authority, smaller (source_system, source_record_id)."
)
FIELD_COLUMNS: dict[str, str] = {
    "role": "", "value": "value", "source": "source record", "source_column": "column",
    "source_updated_at": "updated", "confirmed_at": "confirmed", "authority": "authority (max)",
    "min_trust": "min", "decay": "decay", "age": "age (days)", "recency": "recency",
    "validity_text": "validity", "completeness": "completeness",
    "corroboration": "corroboration", "trust_score": "trust", "outcome": "rule / why it lost",
}  # fmt: skip
NUMERIC = ("authority", "min_trust", "age", "age_days", "recency", "validity", "completeness",
           "corroboration", "trust_score", "match_probability", "match_weight")  # fmt: skip


def _field_rows(candidates: pl.DataFrame) -> pl.DataFrame:
    """Candidates with the display columns of the field tables."""
    have = set(candidates.columns)
    decay = (
        pl.format("{} / {} d", "decay_curve", pl.col("decay_days").round(0).cast(pl.Int64))
        if {"decay_curve", "decay_days"} <= have
        else pl.lit(None, pl.String)
    )
    issues = pl.col("validation_issues") if "validation_issues" in have else pl.lit(None, pl.String)
    validity = pl.col("validity").round(4).cast(pl.String).str.replace(r"\.0$", "")
    age = pl.col("age_days").round(1) if "age_days" in have else pl.lit(None, pl.Float64)
    return candidates.with_columns(
        pl.when("is_winner").then(pl.lit("chosen")).otherwise(pl.lit("lost")).alias("role"),
        pl.when(issues.is_null())
        .then(validity)
        .otherwise(pl.format("{} ({})", validity, issues))
        .alias("validity_text"),
        age.alias("age"),
        pl.format("{}:{}", "source_system", "source_record_id").alias("source"),
        decay.alias("decay"),
        pl.when("is_winner")
        .then(pl.col("rule"))
        .otherwise(pl.col("lost_because"))
        .alias("outcome"),
    )


def _field_sections(report: CustomerReport) -> str:
    rows = _field_rows(report.candidates)
    sections = []
    for (field,), group in rows.group_by("field", maintain_order=True):
        winners = group.filter("is_winner")
        chosen = (
            f"chosen: <strong class='chosen-value'>{esc(winners['value'][0])}</strong> "
            f"from <span class='chosen-source'>{esc(winners['source'][0])}</span>"
            if winners.height
            else "no golden value"
        )
        table = html_table(
            group,
            columns=FIELD_COLUMNS,
            row_class=lambda r: "winner" if r["is_winner"] else "loser",
            numeric=NUMERIC,
        )
        sections.append(
            f'<article class="field" id="field-{esc(field)}" data-field="{esc(field)}">'
            f"<h3>{esc(field)}</h3><p>{chosen} · {group.height} candidate(s)</p>{table}</article>"
        )
    return "".join(sections)


def _golden_summary(report: CustomerReport) -> str:
    winners = {r["field"]: r for r in report.winners().iter_rows(named=True)}
    row = report.golden.row(0, named=True) if report.golden.height else {}
    lines = []
    for field, value in row.items():
        won = winners.get(field)
        source = f"{won['source_system']}:{won['source_record_id']}" if won else ""
        lines.append(
            {
                "field": field,
                "value": value,
                "source": source,
                "column": won["source_column"] if won else None,
                "trust": won["trust_score"] if won else None,
                "rule": won["rule"] if won else None,
            }
        )
    schema = dict.fromkeys(("field", "value", "source", "column", "trust", "rule"), pl.String)
    frame = pl.DataFrame(
        [{k: None if v is None else text(v) for k, v in line.items()} for line in lines],
        schema=schema,
        orient="row",
    )
    return html_table(frame, numeric=("trust",), table_id="golden")


def customer_graph(report: CustomerReport) -> str:
    """The customer's source records on a circle, joined by their scored links (match_evidence).

    Only the pairs blocking made candidates have a score, so records that were
    merged through a third one are joined through it, not directly.
    """
    nodes = [
        (f"{system}:{record}", str(system))
        for system, record in report.members.select("source_system", "source_record_id").iter_rows()
    ]
    edges = [
        Edge(
            f"{row['left_source_system']}:{row['left_source_record_id']}",
            f"{row['right_source_system']}:{row['right_source_record_id']}",
            float(row["match_probability"]),
            str(row["decision"]),
        )
        for row in report.evidence.iter_rows(named=True)
    ]
    title = f"source records of {report.unified_id} and their links"
    return record_graph(nodes, edges, title=title)


def _cut(report: CustomerReport, section: str) -> str:
    """A note under a section cut to the report's row limit (empty when it is whole)."""
    note = cut_note(report, section)
    return "" if note is None else f'<p class="note">{esc(note)}</p>'


def render_customer_html(report: CustomerReport) -> str:
    """One self-contained page for one customer (see the module docstring)."""
    note = (
        f'<p class="note">{esc(report.requested_id)} was merged into {esc(report.unified_id)}</p>'
        if report.requested_id != report.unified_id
        else ""
    )
    evidence_columns = ["left_source_system", "left_source_record_id", "right_source_system",
                        "right_source_record_id", "match_probability", "match_weight", "decision",
                        *comparison_columns(report.evidence)]  # fmt: skip
    body = [
        note,
        "<h2>Golden record</h2>",
        _golden_summary(report),
        "<h2>Field by field: winners and losers</h2>",
        f'<p class="formula">{esc(TRUST_FORMULA)}</p>',
        f'<section id="fields">{_field_sections(report)}</section>',
        _cut(report, "candidates"),
        "<h2>Member source records</h2>",
        "<p class='meta'>Each record of the customer, and the scored candidate pairs between "
        "them: line colour is the decision, width and label the match probability.</p>",
        f'<div class="scroll" id="record-graph">{customer_graph(report)}</div>',
        html_table(report.members, numeric=NUMERIC, table_id="members"),
        _cut(report, "members"),
        "<h2>Match evidence between members</h2>",
        html_table(report.evidence, columns=evidence_columns, numeric=NUMERIC, table_id="evidence"),
        _cut(report, "evidence"),
    ]
    if not report.contact_points.is_empty():
        body += [
            "<h2>Contact points (every distinct e-mail and phone)</h2>",
            html_table(
                report.contact_points,
                columns=[
                    "kind",
                    "value",
                    "is_primary",
                    "validation_issues",
                    "trust_score",
                    "source_records",
                    "first_seen_at",
                    "last_seen_at",
                ],
                numeric=NUMERIC,
                table_id="contact-points",
            ),  # fmt: skip
            _cut(report, "contact_points"),
        ]
    if not report.contacts.is_empty():
        body += [
            "<h2>Contacts</h2>",
            "<p>One row per person who acts for the company (CRM contact, ERP 联系人, ticket "
            "requester, shop buyer); beside each value, the source record and column it came "
            "from (the value most of the person's records hold).</p>",
            html_table(report.contacts, columns=CONTACT_REPORT_COLUMNS, table_id="contacts"),
            _cut(report, "contacts"),
        ]
    body += [
        "<h2>Unified ID history</h2>",
        html_table(
            report.history,
            columns=["unified_id", "event", "other_unified_id", "run_id", "at"],
            table_id="history",
        ),
    ]
    run = report.run
    meta = run_meta(run.run_id, run.config_hash, run.code_version, masked=report.masked)
    return page(f"fusion lineage: {report.unified_id}", "".join(body), meta=meta)
