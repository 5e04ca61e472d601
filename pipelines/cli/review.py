"""``fusion review``: the uncertain pairs, link decisions and field overrides."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail, output_console, warehouse_option

if TYPE_CHECKING:
    import polars as pl

F = TypeVar("F", bound=Callable[..., None])
REVIEW_SCHEMA = "fusion.review/1"


@click.group()
def review() -> None:
    """Steward review: the uncertain pairs, link decisions and field overrides."""


@review.command("list")
@warehouse_option
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document (fusion.review/1) instead of the table.")  # fmt: skip
def review_list(warehouse_dir: Path, limit: int, as_json: bool) -> None:
    """Pairs in the uncertain band that no steward has decided, with their evidence."""
    import polars as pl
    from rich.table import Table

    from pipelines.stewardship.review import pending_review

    try:
        pending = pending_review(warehouse_dir)
    except FusionError as error:
        fail("review", error)
    if as_json:
        document = review_json(pending, limit=limit)
        click.echo(json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False))
        return
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
    output_console().print(table)


def review_json(pending: pl.DataFrame, *, limit: int) -> dict[str, Any]:
    """``fusion review list --json``: the first ``limit`` pending pairs, most uncertain first.

    ``{"schema": "fusion.review/1", "pending": N, "shown": n, "pairs": [{"left":
    {"source_system", "source_record_id"}, "right": {...}, "match_probability",
    "levels": {comparison: level}}]}``; ``left``/``right`` are what ``review
    must-link`` takes as ``SOURCE:ID``.
    """
    from lineage.documents import json_value

    levels = [c for c in pending.columns if c.endswith("_level")]
    pairs = [
        {
            side: {
                "source_system": row[f"{side}_source_system"],
                "source_record_id": row[f"{side}_source_record_id"],
            }
            for side in ("left", "right")
        }
        | {
            "match_probability": json_value(row["match_probability"]),
            "levels": {c.removesuffix("_level"): row[c] for c in levels},
        }
        for row in pending.head(limit).iter_rows(named=True)
    ]
    return {"schema": REVIEW_SCHEMA, "pending": pending.height, "shown": len(pairs), "pairs": pairs}


def _decide(
    warehouse_dir: Path, left: str, right: str, decision: str, steward: str, reason: str
) -> None:
    from pipelines.stewardship.review import record_link_decision

    try:
        row = record_link_decision(
            warehouse_dir, left, right, decision=decision, steward=steward, reason=reason
        )
    except FusionError as error:
        fail("review", error)
    click.echo(
        f"recorded {decision} {left} {right} by {steward} ({row['decision_id']}); "
        "it binds every run from the next one on"
    )


def _with_steward_options(command: F) -> F:
    """The options every steward decision needs: where, who and why."""
    options = (
        warehouse_option,
        click.option("--steward", required=True, help="Who decides (name or login)."),
        click.option("--reason", required=True, help="Why, in a sentence an auditor understands."),
    )
    for option in reversed(options):
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
    from pipelines.stewardship.review import record_field_override

    try:
        row = record_field_override(
            warehouse_dir, unified_id, field, value, steward=steward, reason=reason
        )
    except FusionError as error:
        fail("review", error)
    click.echo(
        f"recorded override of {field} on {unified_id} by {steward} ({row['override_id']}); "
        "it applies from the next run on"
    )
