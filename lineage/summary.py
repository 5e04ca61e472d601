"""The run summary: what a run read, rejected, matched and decided, from the warehouse alone.

Sections: sources and row counts, quarantine reasons, match rates, the trust
distribution of golden records and golden values, and the most contested
fields (customers whose sources disagree), and data quality across the
releases the warehouse keeps (``lineage.quality_trend``). It holds counts and unified IDs, no
customer values; quarantine reasons are masked for e-mails and phones with
``mask_pii``. ``render_summary_html`` makes one self-contained page of it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lineage.html import NUMERIC, esc, html_table, page, run_meta, svg_bars
from lineage.masking import mask_text
from lineage.quality_trend import load_quality_trend
from lineage.report import RunInfo, first_row, load_run_info, open_warehouse, table_names, text
from lineage.svg import stacked_columns

TRUST_BINS = 10
PROBABILITY_BINS = 10
LARGEST_SIZE_SHOWN = 10  # customers with more records share the last column of the chart
CLOSE_CALL_MARGIN = 0.05  # a winner this close to a different losing value is a close call
TOP_CUSTOMERS = 15
QUOTED = re.compile(r"'([^']*)'")
POSITIONS = re.compile(r"line \d+ column \d+ \(char \d+\)|(?<=row )\d+")
NORMALISED = r"regexp_replace(lower(value), '[^\p{L}\p{N}]', '', 'g')"


@dataclass(frozen=True)
class RunSummary:
    """The figures of the run summary, one frame per section."""

    run: RunInfo
    sources: pl.DataFrame
    quarantine: pl.DataFrame
    decisions: pl.DataFrame
    cluster_sizes: pl.DataFrame
    trust_histogram: pl.DataFrame
    field_trust: pl.DataFrame
    contested: pl.DataFrame
    contested_customers: pl.DataFrame
    match_probabilities: pl.DataFrame
    cluster_size_distribution: pl.DataFrame
    quality_trend: pl.DataFrame
    masked: bool = False


def _sql(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return con.sql(sql).pl()


def _config_sources(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[dict[str, object]]:
    if "run_settings" not in tables:
        return []
    row = first_row(con, "SELECT config_json FROM run_settings LIMIT 1")
    return list(json.loads(str(row[0])).get("sources", [])) if row else []


def _source_columns(sources: Iterable[dict[str, object]]) -> set[str]:
    """Every column name a source config reads (kept verbatim in reason kinds)."""
    names: set[str] = set()
    for source in sources:
        names.add(str(source.get("record_id")))
        updated = source.get("updated_at")
        if isinstance(updated, dict):
            names.add(str(updated.get("column")))
        fields = source.get("fields")
        for mapping in fields.values() if isinstance(fields, dict) else ():
            names.add(str(mapping.get("column")))
            names.update(str(c) for c in mapping.get("columns") or ())
    return names


def reason_kind(reason: str, *, columns: set[str]) -> str:
    """A quarantine reason without its row-specific parts, so reasons can be counted.

    Quoted column names stay; other quoted literals (values, timestamps, IDs) and
    JSON error positions become ``…``.

    Example:
        >>> reason_kind("column 'tier': unmapped value 'Z'", columns={"tier"})
        "column 'tier': unmapped value '…'"
    """
    kind = QUOTED.sub(lambda m: m.group(0) if m.group(1) in columns else "'…'", reason)
    return POSITIONS.sub("…", kind)


def _rate(part: str, whole: str) -> pl.Expr:
    return (pl.col(part) / pl.col(whole)).fill_nan(None).round(4)


def _sources_table(con: duckdb.DuckDBPyConnection, config: list[dict[str, object]]) -> pl.DataFrame:
    counts = _sql(
        con,
        """
        WITH sizes AS (
            SELECT unified_id, count(*) AS n, count(DISTINCT source_system) AS systems
            FROM customer_xref GROUP BY ALL
        ), x AS (
            SELECT source_system, count(*) AS records,
                   count(*) FILTER (WHERE n > 1) AS linked,
                   count(*) FILTER (WHERE systems > 1) AS linked_across_sources
            FROM customer_xref JOIN sizes USING (unified_id) GROUP BY ALL
        ), q AS (SELECT source_system, count(*) AS quarantined FROM quarantine GROUP BY ALL)
        SELECT coalesce(x.source_system, q.source_system) AS source_system,
               coalesce(records, 0) + coalesce(quarantined, 0) AS rows_in,
               coalesce(records, 0) AS records, coalesce(quarantined, 0) AS quarantined,
               coalesce(linked, 0) AS linked, coalesce(linked_across_sources, 0)
                   AS linked_across_sources
        FROM x FULL JOIN q ON x.source_system = q.source_system
        """,
    )
    described = pl.DataFrame(
        [
            {
                "source_system": s.get("name"),
                "system": s.get("system"),
                "path": s.get("path"),
                "format": s.get("format"),
            }
            for s in config
        ],  # fmt: skip
        schema=dict.fromkeys(("source_system", "system", "path", "format"), pl.String),
    )
    order = {str(s.get("name")): i for i, s in enumerate(config)}
    return (
        counts.join(described, on="source_system", how="full", coalesce=True)
        .with_columns(
            pl.col("rows_in", "records", "quarantined", "linked", "linked_across_sources")
            .fill_null(0)
            .cast(pl.Int64),
        )
        .with_columns(
            _rate("quarantined", "rows_in").alias("quarantine_rate"),
            _rate("linked", "records").alias("match_rate"),
            _rate("linked_across_sources", "records").alias("cross_source_rate"),
        )
        .sort(pl.col("source_system").replace_strict(order, default=len(order)), "source_system")
        .select(
            "source_system",
            "system",
            "format",
            "path",
            "rows_in",
            "records",
            "quarantined",
            "quarantine_rate",
            "linked",
            "match_rate",
            "linked_across_sources",
            "cross_source_rate",
        )  # fmt: skip
    )


def _quarantine_table(
    con: duckdb.DuckDBPyConnection, columns: set[str], *, mask_pii: bool
) -> pl.DataFrame:
    rows = _sql(con, "SELECT source_system, source_file, row_number, reason FROM quarantine")
    kinds = [reason_kind(r, columns=columns) for r in rows["reason"].to_list()]
    if mask_pii:
        kinds = [mask_text(k) for k in kinds]
    return (
        rows.with_columns(pl.Series("reason", kinds, dtype=pl.String))
        .sort("source_system", "source_file", "row_number")
        .group_by("source_system", "reason", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.format("{}:{}", pl.col("source_file").first(), pl.col("row_number").first()).alias(
                "first_row"
            ),
        )
        .sort(["rows", "source_system", "reason"], descending=[True, False, False])
    )


def _trust_histogram(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    counts = dict(
        con.execute(
            f"SELECT least(floor(trust_score * {TRUST_BINS}), {TRUST_BINS - 1})::INT, count(*) "
            "FROM golden_customer WHERE trust_score IS NOT NULL GROUP BY ALL"
        ).fetchall()
    )
    return pl.DataFrame(
        {
            "trust": [
                f"{i / TRUST_BINS:.1f}–{(i + 1) / TRUST_BINS:.1f}" for i in range(TRUST_BINS)
            ],
            "customers": [int(counts.get(i, 0)) for i in range(TRUST_BINS)],
        }
    )


def _probability_histogram(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Scored candidate pairs per tenth of match probability (the last bin includes 1.0)."""
    counts = dict(
        con.execute(
            f"SELECT least(floor(match_probability * {PROBABILITY_BINS}), "
            f"{PROBABILITY_BINS - 1})::INT, count(*) FROM match_evidence "
            "WHERE match_probability IS NOT NULL GROUP BY ALL"
        ).fetchall()
    )
    return pl.DataFrame(
        {
            "match_probability": [
                f"{i / PROBABILITY_BINS:.1f}–{(i + 1) / PROBABILITY_BINS:.1f}"
                for i in range(PROBABILITY_BINS)
            ],
            "pairs": [int(counts.get(i, 0)) for i in range(PROBABILITY_BINS)],
        }
    )


def _size_distribution(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Customers per number of source records, 1 to ``LARGEST_SIZE_SHOWN``+ (every size shown)."""
    counts = dict(
        con.execute(
            f"SELECT least(n, {LARGEST_SIZE_SHOWN}), count(*) FROM "
            "(SELECT unified_id, count(*) AS n FROM customer_xref GROUP BY ALL) GROUP BY ALL"
        ).fetchall()
    )
    sizes = range(1, LARGEST_SIZE_SHOWN + 1)
    return pl.DataFrame(
        {
            "records": [str(n) if n < LARGEST_SIZE_SHOWN else f"{n}+" for n in sizes],
            "customers": [int(counts.get(n, 0)) for n in sizes],
        }
    )


def _contested(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    per_group = _sql(
        con,
        f"""
        WITH c AS (
            SELECT unified_id, field, is_winner, trust_score, {NORMALISED} AS norm
            FROM field_candidates WHERE source_system <> 'steward'
        ), w AS (
            SELECT *, max(CASE WHEN is_winner THEN norm END)
                      OVER (PARTITION BY unified_id, field) AS winner_norm
            FROM c
        )
        SELECT unified_id, field, count(*) AS candidates, count(DISTINCT norm) AS distinct_values,
               max(trust_score) FILTER (WHERE is_winner) AS winner_trust,
               max(trust_score) FILTER (WHERE NOT is_winner AND norm IS DISTINCT FROM winner_norm)
                   AS best_other_trust
        FROM w GROUP BY ALL
        """,
    )
    margin = pl.col("winner_trust") - pl.col("best_other_trust")
    groups = per_group.with_columns(
        (pl.col("distinct_values") > 1).alias("contested"),
        (margin.abs() < CLOSE_CALL_MARGIN).fill_null(False).alias("close_call"),
    )
    by_field = (
        groups.group_by("field")
        .agg(
            pl.len().cast(pl.Int64).alias("customers_with_field"),
            pl.col("contested").sum().cast(pl.Int64).alias("contested_customers"),
            pl.col("close_call").sum().cast(pl.Int64).alias("close_calls"),
            pl.col("candidates").mean().round(2).alias("mean_candidates"),
        )
        .with_columns(
            (pl.col("contested_customers") / pl.col("customers_with_field"))
            .round(4)
            .alias("contested_share")
        )
        .sort(["contested_customers", "field"], descending=[True, False])
    )
    customers = (
        groups.filter("contested")
        .sort("field")
        .group_by("unified_id")
        .agg(
            pl.len().cast(pl.Int64).alias("contested_fields"),
            pl.col("field").str.join(", ").alias("fields"),
            pl.col("distinct_values").sum().cast(pl.Int64).alias("distinct_values"),
        )
        .sort(["contested_fields", "distinct_values", "unified_id"], descending=[True, True, False])
        .head(TOP_CUSTOMERS)
    )
    return by_field, customers


def load_run_summary(warehouse_dir: Path, *, mask_pii: bool = False) -> RunSummary:
    """Read the figures of the run summary from the current release."""
    with contextlib.closing(open_warehouse(warehouse_dir)) as con:
        tables = table_names(con)
        config = _config_sources(con, tables)
        contested, contested_customers = _contested(con)
        issues = (
            "count(*) FILTER (WHERE validation_issues IS NOT NULL)"
            if "validation_issues"
            in {r[0] for r in con.execute("DESCRIBE field_lineage").fetchall()}
            else "NULL::BIGINT"
        )
        return RunSummary(
            run=load_run_info(con, tables),
            sources=_sources_table(con, config),
            quarantine=_quarantine_table(con, _source_columns(config), mask_pii=mask_pii),
            decisions=_sql(
                con,
                "SELECT decision, count(*) AS pairs, count(*) FILTER (WHERE same_cluster) "
                "AS within_one_customer FROM match_evidence GROUP BY ALL ORDER BY pairs DESC",
            ),
            cluster_sizes=_sql(
                con,
                """
                SELECT CASE WHEN n >= 5 THEN '5+' ELSE n::VARCHAR END AS records_per_customer,
                       count(*) AS customers, sum(n) AS records
                FROM (SELECT unified_id, count(*) AS n FROM customer_xref GROUP BY ALL)
                GROUP BY ALL ORDER BY records_per_customer
                """,
            ),
            trust_histogram=_trust_histogram(con),
            field_trust=_sql(
                con,
                f"""
                SELECT field, count(*) AS golden_values, round(avg(trust_score), 4) AS mean_trust,
                       round(quantile_cont(trust_score, 0.1), 4) AS p10_trust,
                       round(median(trust_score), 4) AS median_trust,
                       {issues} AS with_validation_issues,
                       string_agg(DISTINCT rule, ', ' ORDER BY rule) AS rules
                FROM field_lineage GROUP BY ALL ORDER BY mean_trust
                """,
            ),
            contested=contested,
            contested_customers=contested_customers,
            match_probabilities=_probability_histogram(con),
            cluster_size_distribution=_size_distribution(con),
            quality_trend=load_quality_trend(warehouse_dir),
            masked=mask_pii,
        )


SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("sources", "Sources and row counts", "rows_in = records (customer_xref) + quarantined"),
    ("quarantine", "Quarantine reasons", "row-specific values are replaced by …"),
    ("decisions", "Match decisions over scored candidate pairs", ""),
    ("cluster_sizes", "Records per customer", ""),
    ("field_trust", "Trust of golden values per field", "lowest mean trust first"),
    ("contested", "Most contested fields",
     f"customers whose records hold different values; close call: margin < {CLOSE_CALL_MARGIN}"),
    ("contested_customers", "Most contested customers",
     "inspect with: fusion lineage UNIFIED_ID --warehouse DIR"),
)  # fmt: skip


def render_summary_terminal(summary: RunSummary, console: Console) -> None:
    """Print the summary as rich tables (plain text cells)."""
    run = summary.run
    console.print(
        Text(
            f"run {text(run.run_id)}  config {text(run.config_hash)}  code {text(run.code_version)}"
        )
    )
    for attribute, title, caption in SECTIONS:
        frame: pl.DataFrame = getattr(summary, attribute)
        table = Table(title=title, caption=caption or None)
        for column in frame.columns:
            table.add_column(column, overflow="fold")
        for row in frame.iter_rows():
            table.add_row(*(Text(text(v)) for v in row))
        console.print(table)
    histogram = summary.trust_histogram
    console.print(Text("Record trust distribution: " + ", ".join(
        f"{label}: {count}" for label, count in histogram.iter_rows())))  # fmt: skip
    trend = Table(title="Data quality across releases", caption="oldest first")
    shown = ("release", "expectations", "passed", "failed_warnings", "failed_errors", "failing")
    for column in shown:
        trend.add_column(column, overflow="fold")
    for row in summary.quality_trend.select(shown).iter_rows():
        trend.add_row(*(Text(text(v)) for v in row))
    console.print(trend)


def render_summary_html(summary: RunSummary) -> str:
    """One self-contained page with every section of the summary."""
    body = []
    for attribute, title, caption in SECTIONS[:4]:
        body.append(f"<h2>{esc(title)}</h2><p class='meta'>{esc(caption)}</p>")
        body.append(html_table(getattr(summary, attribute), numeric=(*NUMERIC, "rows", "records",
                    "rows_in", "quarantined", "linked"), table_id=attribute))  # fmt: skip
    body += _charts(summary)
    for attribute, title, caption in SECTIONS[4:]:
        body.append(f"<h2>{esc(title)}</h2><p class='meta'>{esc(caption)}</p>")
        body.append(html_table(getattr(summary, attribute), numeric=NUMERIC, table_id=attribute))
    body += _quality_section(summary.quality_trend)
    run = summary.run
    meta = run_meta(run.run_id, run.config_hash, run.code_version, masked=summary.masked)
    return page("fusion run summary", "".join(body), meta=meta)


def _chart(figure_id: str, title: str, caption: str, svg: str) -> str:
    return (
        f'<figure id="{figure_id}"><h2>{esc(title)}</h2><p class="meta">{esc(caption)}</p>'
        f'<div class="scroll">{svg}</div></figure>'
    )


def _charts(summary: RunSummary) -> list[str]:
    """The cluster-size distribution, the match-probability and trust histograms."""
    sizes = summary.cluster_size_distribution
    probabilities = summary.match_probabilities
    trust = summary.trust_histogram
    return [
        _chart("cluster-size-chart", "Customers by number of source records",
               f"how many records each golden customer merges ({LARGEST_SIZE_SHOWN}+: that many "
               "or more)",
               svg_bars(sizes["records"].to_list(), sizes["customers"].to_list(),
                        title="customers per number of source records")),
        _chart("match-probability-chart", "Match probability of scored candidate pairs",
               "pairs per tenth of match probability (match_evidence)",
               svg_bars(probabilities["match_probability"].to_list(),
                        probabilities["pairs"].to_list(),
                        title="candidate pairs per match-probability band")),
        _chart("trust-chart", "Trust distribution of golden records", "",
               svg_bars(trust["trust"].to_list(), trust["customers"].to_list(),
                        title="golden records per record-level trust band")),
    ]  # fmt: skip


def _quality_section(trend: pl.DataFrame) -> list[str]:
    """Expectations passed / failed WARN / failed ERROR per kept release, and what failed."""
    if trend.is_empty():
        return ["<h2>Data quality across releases</h2><p>no release holds quality results</p>"]
    labels = [f"{r[:8]}…" if len(r) > 9 else r for r in trend["run_id"].to_list()]
    # Failures only: beside a hundred passing expectations three warnings would not show.
    chart = stacked_columns(
        labels,
        [
            ("failed (warning)", "#e08a00", trend["failed_warnings"].to_list()),
            ("failed (error)", "#c0392b", trend["failed_errors"].to_list()),
        ],
        title="failed expectations per release: warnings and errors",
    )
    return [
        _chart("quality-trend-chart", "Data quality across releases",
               "failed expectations of every release the warehouse keeps, oldest first "
               "(column: the release's run; the table has the passed ones and what failed)",
               chart),
        html_table(trend, numeric=("expectations", "passed", "failed_warnings", "failed_errors"),
                   table_id="quality_trend"),
    ]  # fmt: skip
