"""Ad-hoc questions to a published warehouse: ``sql`` and ``resolve``."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail, warehouse_option


@click.command()
@click.argument("query")
@warehouse_option
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
        fail("sql", error)
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
            fail("sql", "--format parquet needs --output FILE")
        result.write_parquet(output_path)


@click.command()
@click.argument("unified_id")
@warehouse_option
def resolve(unified_id: str, warehouse_dir: Path) -> None:
    """Follow a retired unified ID to the live one, showing the path."""
    from pipelines.review import resolve_id

    try:
        resolution = resolve_id(warehouse_dir, unified_id)
    except FusionError as error:
        fail("resolve", error)
    click.echo(resolution.describe())
