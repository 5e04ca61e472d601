"""``fusion run``: materialise the whole asset graph in process and publish."""

from __future__ import annotations

import os
from pathlib import Path

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail, output_console


@click.command()
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
@click.option(
    "--allow-retire", is_flag=True,
    help="Retire the records this run finds gone even past the guard's share "
    "(run.max_retire_share, default 5% of a source or of all customers).",
)  # fmt: skip
@click.option(
    "--as-of", "as_of", metavar="DATE|INSTANT",
    help="Pin the run clock that ages values and bounds source timestamps (ISO 8601, e.g. "
    "2026-11-22; default: run.as_of, else today UTC). run_settings.as_of holds each run's.",
)  # fmt: skip
def run(
    config_path: Path,
    warehouse_dir: Path,
    full: bool,
    retrain: bool,
    allow_retire: bool,
    as_of: str | None,
) -> None:
    """Run the whole graph on the configured sources and publish the warehouse."""
    from pipelines.orchestration.runner import run_pipeline
    from pipelines.settings import parse_instant

    try:
        outcome = run_pipeline(
            config_path,
            warehouse_dir,
            console=output_console(stderr=True, highlight=False),
            mode=_run_mode(full=full, retrain=retrain),
            allow_retire=allow_retire,
            as_of=None if as_of is None else parse_instant(as_of),
        )
    except FusionError as error:
        fail("run", error)
    except Exception as error:  # noqa: BLE001 - the CLI contract is one line, not a traceback
        if os.environ.get("FUSION_DEBUG"):
            raise
        fail(
            "run",
            f"unexpected {type(error).__name__}: {str(error).splitlines()[0]}"
            " (set FUSION_DEBUG=1 for the traceback)",
            code=2,
        )
    click.echo(outcome.summary_text())


def _run_mode(*, full: bool, retrain: bool) -> str:
    if retrain:
        return "retrain"
    return "full" if full else "incremental"
