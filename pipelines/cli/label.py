"""``fusion label``: answer "same customer?" on the pairs the model is least sure of."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail, output_console, warehouse_option

PROMPT_CHOICES = ("y", "n", "u", "q")


def _default_labeller() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


@click.command()
@warehouse_option
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many pairs to show (or list).")  # fmt: skip
@click.option("--list", "as_list", is_flag=True,
              help="Print the next pairs as JSON lines and ask nothing.")  # fmt: skip
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Record answers from a CSV (left,right,answer) and ask nothing.")  # fmt: skip
@click.option("--labeller", default=_default_labeller, show_default="login name",
              help="Who answers; stored with every answer.")  # fmt: skip
def label(
    warehouse_dir: Path, count: int, as_list: bool, answers_file: Path | None, labeller: str
) -> None:
    """Label the most informative pairs: y (same customer), n (different), u (unsure), q (stop).

    Pairs come from the current release, nearest a match probability of 0.5 first,
    at most one pair per record in a batch. Answers are appended to DIR/labels.csv;
    the next `fusion run --retrain` learns the match model from them and from the
    stewards' must-link / cannot-link decisions.
    """
    from pipelines.stewardship.labelling import (
        answers_frame,
        next_pairs,
        read_answers_file,
        record_answers,
    )

    if as_list and answers_file is not None:
        fail("label", "--list and --answers exclude each other")
    try:
        if answers_file is not None:
            answers = answers_frame(read_answers_file(answers_file), labeller=labeller)
            recorded = record_answers(warehouse_dir, answers)
            click.echo(f"recorded {recorded} answers in {warehouse_dir / 'labels.csv'}; "
                       "`fusion run --retrain` learns from them")  # fmt: skip
            return
        pairs = next_pairs(warehouse_dir, count=count)
        if as_list:
            _print_json(pairs)
            return
        _ask(warehouse_dir, pairs, labeller=labeller)
    except FusionError as error:
        fail("label", error)


def _print_json(pairs: object) -> None:
    import polars as pl

    assert isinstance(pairs, pl.DataFrame)
    for row in pairs.iter_rows(named=True):
        levels = {k.removesuffix("_level"): v for k, v in row.items() if k.endswith("_level")}
        line = {
            "left": f"{row['left_source_system']}:{row['left_source_record_id']}",
            "right": f"{row['right_source_system']}:{row['right_source_record_id']}",
            "match_probability": row["match_probability"],
            "match_weight": row["match_weight"],
            "levels": levels,
        }
        click.echo(json.dumps(line, ensure_ascii=False))


def _ask(warehouse_dir: Path, pairs: object, *, labeller: str) -> None:
    """Show each pair side by side and append each answer as soon as it is given."""
    import polars as pl
    from rich.table import Table

    from pipelines.stewardship.labelling import answers_frame, record_answers, records_of

    assert isinstance(pairs, pl.DataFrame)
    if not pairs.height:
        click.echo("no unanswered pairs in the current release")
        return
    records = records_of(warehouse_dir, pairs)
    console = output_console()
    recorded = 0
    for number, row in enumerate(pairs.iter_rows(named=True), start=1):
        left_key = (row["left_source_system"], row["left_source_record_id"])
        right_key = (row["right_source_system"], row["right_source_record_id"])
        left, right = ":".join(left_key), ":".join(right_key)
        table = Table(
            title=f"pair {number} of {pairs.height}: p = {row['match_probability']:.3f} "
            f"(weight {row['match_weight']:+.2f} bits)"
        )
        for column in ("field", left, right):
            table.add_column(column, overflow="fold")
        left_values, right_values = records.get(left_key, {}), records.get(right_key, {})
        for field in dict.fromkeys([*left_values, *right_values]):
            a, b = left_values.get(field, ""), right_values.get(field, "")
            if a or b:
                table.add_row(field, a, b)
        for column, level in row.items():
            if column.endswith("_level"):
                table.add_row(f"[dim]{column.removesuffix('_level')} level[/dim]", str(level), "")
        console.print(table)
        answer = click.prompt(
            "same customer? y/n/u, q to stop", type=click.Choice(PROMPT_CHOICES), show_choices=False
        )
        if answer == "q":
            break
        recorded += record_answers(
            warehouse_dir, answers_frame([(left, right, answer)], labeller=labeller)
        )
    click.echo(f"recorded {recorded} answers in {warehouse_dir / 'labels.csv'}; "
               "`fusion run --retrain` learns from them")  # fmt: skip
