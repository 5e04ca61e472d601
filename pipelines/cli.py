"""The ``fusion`` command line.

``fusion run`` materialises the same Dagster asset graph as the scheduler,
in process, and exits non-zero with a one-line reason when anything fails; the
previously published warehouse is then untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from connectors.errors import FusionError

console = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """fusion: many customer exports in, one golden record per customer out."""


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), required=True,
    help="Run configuration (YAML) naming the sources.",
)  # fmt: skip
@click.option(
    "--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True,
    help="Warehouse folder to publish golden.duckdb and parquet/ into.",
)  # fmt: skip
@click.option(
    "--full", is_flag=True,
    help="Full rebuild: standardise and match every record again (default: incremental, "
    "reusing the standardisation of unchanged records).",
)  # fmt: skip
@click.option(
    "--retrain", is_flag=True,
    help="Full rebuild that also learns a new match model (otherwise the current one is kept).",
)  # fmt: skip
def run(config_path: Path, warehouse_dir: Path, full: bool, retrain: bool) -> None:
    """Run the whole graph on the configured sources and publish the warehouse."""
    from pipelines.runner import run_pipeline

    try:
        outcome = run_pipeline(
            config_path, warehouse_dir, console=console, mode=_run_mode(full=full, retrain=retrain)
        )
    except FusionError as error:
        click.echo(f"fusion run failed: {error}", err=True)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - the CLI contract is one line, not a traceback
        if os.environ.get("FUSION_DEBUG"):
            raise
        click.echo(
            f"fusion run failed: unexpected {type(error).__name__}: {str(error).splitlines()[0]}"
            " (set FUSION_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(2)
    click.echo(outcome.summary_text())


def _run_mode(*, full: bool, retrain: bool) -> str:
    if retrain:
        return "retrain"
    return "full" if full else "incremental"


@main.command()
@click.argument("unified_id")
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write a self-contained HTML report to this file.")  # fmt: skip
@click.option("--mask-pii", is_flag=True,
              help="Mask e-mails, phones, street addresses and contact names.")  # fmt: skip
def lineage(unified_id: str, warehouse_dir: Path, html_path: Path | None, mask_pii: bool) -> None:
    """The auditor's view of one customer: members, evidence, field winners and losers."""
    from lineage.html import render_customer_html
    from lineage.report import load_customer_report, render_terminal

    try:
        report = load_customer_report(warehouse_dir, unified_id, mask_pii=mask_pii)
    except FusionError as error:
        click.echo(f"fusion lineage failed: {error}", err=True)
        sys.exit(1)
    render_terminal(report, Console())
    if html_path is not None:
        html_path.write_text(render_customer_html(report), encoding="utf-8")
        click.echo(f"HTML report written to {html_path}")


@main.command()
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write the summary as a self-contained HTML file.")  # fmt: skip
@click.option("--mask-pii", is_flag=True, help="Mask e-mails and phones in quarantine reasons.")
def report(warehouse_dir: Path, html_path: Path | None, mask_pii: bool) -> None:
    """Run summary: sources, quarantine, match rates, trust, most contested fields."""
    from lineage.summary import load_run_summary, render_summary_html, render_summary_terminal

    try:
        summary = load_run_summary(warehouse_dir, mask_pii=mask_pii)
    except FusionError as error:
        click.echo(f"fusion report failed: {error}", err=True)
        sys.exit(1)
    render_summary_terminal(summary, Console())
    if html_path is not None:
        html_path.write_text(render_summary_html(summary), encoding="utf-8")
        click.echo(f"HTML report written to {html_path}")


@main.command()
@click.argument("query")
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "parquet"]),
              default="table", show_default=True)  # fmt: skip
@click.option("--output", "output_path", type=click.Path(path_type=Path), default=None,
              help="File to write csv/parquet to (csv defaults to standard output).")  # fmt: skip
def sql(query: str, warehouse_dir: Path, output_format: str, output_path: Path | None) -> None:
    """Run a read-only SQL query against the published warehouse."""
    import polars as pl

    from pipelines.sql import escape_spreadsheet_formulas, run_read_only_query

    try:
        result = run_read_only_query(warehouse_dir, query)
    except FusionError as error:
        click.echo(f"fusion sql failed: {error}", err=True)
        sys.exit(1)
    if output_format == "table":
        with pl.Config(tbl_rows=50, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=200):
            click.echo(result)
    elif output_format == "csv":
        text = escape_spreadsheet_formulas(result).write_csv()
        if output_path is None:
            click.echo(text, nl=False)
        else:
            output_path.write_text(text, encoding="utf-8")
    else:
        if output_path is None:
            click.echo("fusion sql failed: --format parquet needs --output FILE", err=True)
            sys.exit(1)
        result.write_parquet(output_path)


@main.command()
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
@click.option("--truth", "truth_dir", type=click.Path(path_type=Path), required=True,
              help="Folder with records.csv and entities.csv (ground truth).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate(warehouse_dir: Path, truth_dir: Path, as_json: bool) -> None:
    """Score a warehouse against ground truth: clusters and golden-field accuracy."""
    import json

    from pipelines.evaluate import evaluate_warehouse, format_evaluation

    try:
        evaluation = evaluate_warehouse(warehouse_dir, truth_dir)
    except (FusionError, FileNotFoundError, ValueError) as error:
        click.echo(f"fusion evaluate failed: {error}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(evaluation.to_dict(), indent=2))
    else:
        click.echo(format_evaluation(evaluation))


@main.group()
def review() -> None:
    """Steward review: the uncertain pairs, link decisions and field overrides."""


@review.command("list")
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
@click.option("--limit", type=int, default=20, show_default=True)
def review_list(warehouse_dir: Path, limit: int) -> None:
    """Pairs in the uncertain band that no steward has decided, with their evidence."""
    from rich.table import Table

    from pipelines.review import pending_review

    try:
        pending = pending_review(warehouse_dir)
    except FusionError as error:
        click.echo(f"fusion review failed: {error}", err=True)
        sys.exit(1)
    import polars as pl

    levels = [c for c in pending.columns if c.endswith("_level")]
    shown = pending.head(limit).select(
        pl.format("{}:{}", "left_source_system", "left_source_record_id").alias("left"),
        pl.format("{}:{}", "right_source_system", "right_source_record_id").alias("right"),
        pl.col("match_probability").round(3).alias("p"),
        *(pl.col(c).alias(c.removesuffix("_level")) for c in levels),
    )
    table = Table(title=f"{pending.height} pairs awaiting review (showing {shown.height})")
    for column in shown.columns:
        table.add_column(column, overflow="fold")
    for row in shown.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table)


def _decide(
    warehouse_dir: Path, left: str, right: str, decision: str, steward: str, reason: str
) -> None:
    from pipelines.review import record_link_decision

    try:
        row = record_link_decision(
            warehouse_dir, left, right, decision=decision, steward=steward, reason=reason
        )
    except FusionError as error:
        click.echo(f"fusion review failed: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"recorded {decision} {left} {right} by {steward} ({row['decision_id']}); "
        "it binds every run from the next one on"
    )


_steward_options = [
    click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True),
    click.option("--steward", required=True, help="Who decides (name or login)."),
    click.option("--reason", required=True, help="Why, in a sentence an auditor understands."),
]


def _with_steward_options(command):  # type: ignore[no-untyped-def]
    for option in reversed(_steward_options):
        command = option(command)
    return command


@review.command("must-link")
@click.argument("left")
@click.argument("right")
@_with_steward_options
def review_must_link(left: str, right: str, warehouse_dir: Path, steward: str, reason: str) -> None:
    """Two source records (SOURCE:ID SOURCE:ID) are the same customer."""
    _decide(warehouse_dir, left, right, "must_link", steward, reason)


@review.command("cannot-link")
@click.argument("left")
@click.argument("right")
@_with_steward_options
def review_cannot_link(
    left: str, right: str, warehouse_dir: Path, steward: str, reason: str
) -> None:
    """Two source records (SOURCE:ID SOURCE:ID) are different customers."""
    _decide(warehouse_dir, left, right, "cannot_link", steward, reason)


@review.command("override")
@click.argument("unified_id")
@click.argument("field")
@click.argument("value")
@_with_steward_options
def review_override(
    unified_id: str, field: str, value: str, warehouse_dir: Path, steward: str, reason: str
) -> None:
    """Set a golden field by hand; it wins survivorship as rule steward_override."""
    from pipelines.review import record_field_override

    try:
        row = record_field_override(
            warehouse_dir, unified_id, field, value, steward=steward, reason=reason
        )
    except FusionError as error:
        click.echo(f"fusion review failed: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"recorded override of {field} on {unified_id} by {steward} ({row['override_id']}); "
        "it applies from the next run on"
    )


@main.group()
def models() -> None:
    """SQL models (dbt_like_models/*.sql): list, compile to other dialects, trace columns."""


MODEL_DIALECTS = ("spark", "postgres", "snowflake")


@models.command("list")
def models_list() -> None:
    """Every model in run order, with what it reads and how it is materialised."""
    from dbt_like_models.project import load_project

    try:
        project = load_project()
    except FusionError as error:
        click.echo(f"fusion models failed: {error}", err=True)
        sys.exit(1)
    for model in project.models:
        click.echo(f"{model.name:<24} {model.materialized:<6} reads {', '.join(model.depends_on)}")


@models.command("compile")
@click.option("--dialect", type=click.Choice(MODEL_DIALECTS), required=True)
@click.option("--output", "output_dir", type=click.Path(path_type=Path), default=None,
              help="Write one MODEL.sql per model here instead of printing.")  # fmt: skip
def models_compile(dialect: str, output_dir: Path | None) -> None:
    """Transpile every model from DuckDB SQL to another dialect with sqlglot."""
    from dbt_like_models.project import load_project

    try:
        compiled = {model.name: model.compile(dialect) for model in load_project().models}
    except FusionError as error:
        click.echo(f"fusion models compile failed: {error}", err=True)
        sys.exit(1)
    if output_dir is None:
        for name, text in compiled.items():
            click.echo(f"-- model: {name} ({dialect})\n{text};\n")
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in compiled.items():
        (output_dir / f"{name}.sql").write_text(f"{text};\n", encoding="utf-8")
    click.echo(f"{len(compiled)} models written to {output_dir} ({dialect})")


@models.command("lineage")
@click.argument("target", metavar="MODEL[.COLUMN]")
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
def models_lineage(target: str, warehouse_dir: Path) -> None:
    """Where a model column comes from: the tables it reads and the export columns behind them."""
    from dbt_like_models.lineage import describe_sources
    from pipelines.sql import run_read_only_query

    model, _, column = target.partition(".")
    try:
        sources = run_read_only_query(warehouse_dir, "SELECT * FROM model_column_sources")
    except FusionError as error:
        click.echo(f"fusion models lineage failed: {error}", err=True)
        sys.exit(1)
    lines = describe_sources(sources, model=model, column=column or None)
    if not lines:
        click.echo(f"fusion models lineage failed: no lineage for {target!r}", err=True)
        sys.exit(1)
    click.echo("\n".join(lines))


@main.command()
@click.argument("unified_id")
@click.option("--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True)
def resolve(unified_id: str, warehouse_dir: Path) -> None:
    """Follow a retired unified ID to the live one, showing the path."""
    from pipelines.review import resolve_id

    try:
        resolution = resolve_id(warehouse_dir, unified_id)
    except FusionError as error:
        click.echo(f"fusion resolve failed: {error}", err=True)
        sys.exit(1)
    click.echo(resolution.describe())
