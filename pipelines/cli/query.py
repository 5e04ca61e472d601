"""Ad-hoc questions to a published warehouse: ``sql`` and ``resolve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail, warehouse_option

if TYPE_CHECKING:
    import polars as pl

SQL_SCHEMA = "fusion.sql/1"


@click.command()
@click.argument("query")
@warehouse_option
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "parquet"]),
              default="table", show_default=True)  # fmt: skip
@click.option("--output", "output_path", type=click.Path(path_type=Path), default=None,
              help="File to write csv/parquet to (csv defaults to standard output).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document (schema fusion.sql/1) on standard output.")  # fmt: skip
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Rows shown or exported at most; more are cut, with a note on stderr.",
)
@click.option(
    "--memory-limit",
    default="1GB",
    show_default=True,
    help="DuckDB memory limit of the query (512MB, 4GB, 50%); nothing spills to disk.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="RELEASE",
    help="Answer from this earlier release (time travel over its Delta versions) "
    "instead of the current one.",
)
@click.option(
    "--timeout",
    "timeout_seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds after which the query is stopped.",
)
def sql(
    query: str,
    warehouse_dir: Path,
    output_format: str,
    output_path: Path | None,
    as_json: bool,
    max_rows: int,
    memory_limit: str,
    as_of: str | None,
    timeout_seconds: float,
) -> None:
    """Run one read-only SQL query against the published warehouse, within limits."""
    import polars as pl

    from pipelines.warehouse.sql import QueryLimits, escape_spreadsheet_formulas, query_warehouse

    if output_format == "parquet" and output_path is None:
        fail("sql", "--format parquet needs --output FILE")
    if as_json and (output_format != "table" or output_path is not None):
        fail("sql", "--json prints to standard output; leave out --format and --output")
    limits = QueryLimits(
        memory_limit=memory_limit, max_rows=max_rows, timeout_seconds=timeout_seconds
    )
    try:
        result = query_warehouse(
            warehouse_dir,
            query,
            limits=limits,
            nested_as_json=output_format == "csv" and not as_json,
            as_of=as_of,
        )
    except FusionError as error:
        fail("sql", error)
    frame = result.frame
    if as_json:
        document = sql_json(frame, truncated=result.truncated)
        click.echo(json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False))
    elif output_format == "table":
        rows = max(frame.height, 1)
        with pl.Config(tbl_rows=rows, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=200):
            click.echo(frame)
    elif output_format == "csv":
        text = escape_spreadsheet_formulas(frame).write_csv()
        if output_path is None:
            click.echo(text, nl=False)
        else:
            output_path.write_text(text, encoding="utf-8")
    else:
        assert output_path is not None
        frame.write_parquet(output_path)
    if result.truncated:
        click.echo(
            f"fusion sql: only the first {max_rows} rows are shown; the query returned more "
            "(add a LIMIT or raise --max-rows)",
            err=True,
        )


def sql_json(frame: pl.DataFrame, *, truncated: bool) -> dict[str, Any]:
    """``fusion sql --json``: ``{"schema": "fusion.sql/1", "columns": [{"name", "type"}],
    "rows": [{column: value}], "row_count": n, "truncated": bool}``.

    ``type`` is the Polars type of the column (``String``, ``Int64``, ``Datetime(...)``);
    lists and structs stay nested, timestamps are ISO 8601.
    """
    from lineage.documents import json_rows

    return {
        "schema": SQL_SCHEMA,
        "columns": [{"name": name, "type": str(dtype)} for name, dtype in frame.schema.items()],
        "rows": json_rows(frame),
        "row_count": frame.height,
        "truncated": truncated,
    }


@click.command()
@click.argument("unified_id")
@warehouse_option
def resolve(unified_id: str, warehouse_dir: Path) -> None:
    """Follow a retired unified ID to the live one, showing the path."""
    from pipelines.stewardship.review import resolve_id

    try:
        resolution = resolve_id(warehouse_dir, unified_id)
    except FusionError as error:
        fail("resolve", error)
    click.echo(resolution.describe())
