"""Reports on a published warehouse: ``lineage``, ``report``, ``model``, ``evaluate``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from connectors.errors import FusionError
from pipelines.cli.app import fail, output_console, warehouse_option

T = TypeVar("T")


def _show(
    report: T,
    *,
    terminal: Callable[[T, Console], None],
    html: Callable[[T], str],
    html_path: Path | None,
    document: Callable[[T], dict[str, Any]] | None = None,
) -> None:
    """Print a report on the terminal (or its JSON ``document``) and maybe write its HTML page.

    With ``document`` standard output holds the JSON alone; notes go to stderr.
    """
    if document is None:
        terminal(report, output_console())
    else:
        click.echo(json.dumps(document(report), ensure_ascii=False, indent=2, allow_nan=False))
    if html_path is not None:
        html_path.write_text(html(report), encoding="utf-8")
        click.echo(f"HTML report written to {html_path}", err=document is not None)


json_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print one JSON document instead of the tables (keys in README, 'Machine-readable "
    "output').",
)  # fmt: skip


@click.command()
@click.argument("unified_id")
@warehouse_option
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write a self-contained HTML report to this file.")  # fmt: skip
@click.option("--mask-pii", is_flag=True,
              help="Mask e-mails, phones, street addresses and contact names.")  # fmt: skip
@json_option
def lineage(
    unified_id: str, warehouse_dir: Path, html_path: Path | None, mask_pii: bool, as_json: bool
) -> None:
    """The auditor's view of one customer: members, evidence, field winners and losers."""
    from lineage.documents import customer_report_json
    from lineage.html import render_customer_html
    from lineage.report import load_customer_report, render_terminal

    try:
        report = load_customer_report(warehouse_dir, unified_id, mask_pii=mask_pii)
    except FusionError as error:
        fail("lineage", error)
    _show(report, terminal=render_terminal, html=render_customer_html, html_path=html_path,
          document=customer_report_json if as_json else None)  # fmt: skip


@click.command()
@warehouse_option
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write the summary as a self-contained HTML file.")  # fmt: skip
@click.option("--mask-pii", is_flag=True, help="Mask e-mails and phones in quarantine reasons.")
@json_option
def report(warehouse_dir: Path, html_path: Path | None, mask_pii: bool, as_json: bool) -> None:
    """Run summary: sources, quarantine, match rates, trust, most contested fields."""
    from lineage.documents import run_summary_json
    from lineage.summary import load_run_summary, render_summary_html, render_summary_terminal

    try:
        summary = load_run_summary(warehouse_dir, mask_pii=mask_pii)
    except FusionError as error:
        fail("report", error)
    _show(summary, terminal=render_summary_terminal, html=render_summary_html, html_path=html_path,
          document=run_summary_json if as_json else None)  # fmt: skip


@click.command()
@warehouse_option
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write the match-weight and m/u charts to this HTML file.")  # fmt: skip
@json_option
def model(warehouse_dir: Path, html_path: Path | None, as_json: bool) -> None:
    """The match model the release scored with: m, u and match weight per comparison level.

    (The SQL models are ``fusion models``.)
    """
    from lineage.model_report import load_model_report, render_model_html, render_model_terminal

    try:
        report = load_model_report(warehouse_dir)
    except FusionError as error:
        fail("model", error)
    _show(report, terminal=render_model_terminal, html=render_model_html, html_path=html_path,
          document=(lambda r: r.model.to_dict()) if as_json else None)  # fmt: skip


@click.command()
@warehouse_option
@click.option("--truth", "truth_dir", type=click.Path(path_type=Path), required=True,
              help="Folder with records.csv and entities.csv (ground truth).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate(warehouse_dir: Path, truth_dir: Path, as_json: bool) -> None:
    """Score a warehouse against ground truth: clusters and golden-field accuracy."""
    import json

    from pipelines.evaluation import evaluate_warehouse, format_evaluation

    try:
        evaluation = evaluate_warehouse(warehouse_dir, truth_dir)
    except (FusionError, FileNotFoundError, ValueError) as error:
        fail("evaluate", error)
    if as_json:
        click.echo(json.dumps(evaluation.to_dict(), indent=2))
    else:
        click.echo(format_evaluation(evaluation))
