"""``fusion models``: list, compile and trace the SQL models (dbt_like_models/*.sql).

``--config`` adds the analysts' folders the run config names (``models_dir:``),
as a run does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail, warehouse_option

if TYPE_CHECKING:
    from dbt_like_models.project import Project

MODEL_DIALECTS = ("spark", "postgres", "snowflake")

config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=None,
    help="Run configuration (YAML): its models_dir folders are read too, as a run reads them.",
)  # fmt: skip


def _project(config_path: Path | None) -> Project:
    """The bundled models, plus the config's ``models_dir`` folders when a config is given."""
    from dbt_like_models.project import load_project
    from pipelines.settings import load_fusion_config

    extra = () if config_path is None else load_fusion_config(config_path).models_dirs
    return load_project(extra=extra)


@click.group()
def models() -> None:
    """SQL models (dbt_like_models/*.sql): list, compile to other dialects, trace columns."""


@models.command("list")
@config_option
def models_list(config_path: Path | None) -> None:
    """Every model in run order, with what it reads and how it is materialised."""
    try:
        project = _project(config_path)
    except FusionError as error:
        fail("models", error)
    for model in project.models:
        click.echo(f"{model.name:<24} {model.materialized:<6} reads {', '.join(model.depends_on)}")


@models.command("compile")
@click.option("--dialect", type=click.Choice(MODEL_DIALECTS), required=True)
@click.option("--output", "output_dir", type=click.Path(path_type=Path), default=None,
              help="Write one MODEL.sql per model here instead of printing.")  # fmt: skip
@config_option
def models_compile(dialect: str, output_dir: Path | None, config_path: Path | None) -> None:
    """Transpile every model from DuckDB SQL to another dialect with sqlglot."""
    try:
        compiled = {model.name: model.compile(dialect) for model in _project(config_path).models}
    except FusionError as error:
        fail("models compile", error)
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
@warehouse_option
def models_lineage(target: str, warehouse_dir: Path) -> None:
    """Where a model column comes from: the tables it reads and the export columns behind them."""
    from dbt_like_models.lineage import describe_sources
    from pipelines.warehouse.sql import run_read_only_query

    model, _, column = target.partition(".")
    try:
        sources = run_read_only_query(warehouse_dir, "SELECT * FROM model_column_sources")
    except FusionError as error:
        fail("models lineage", error)
    lines = describe_sources(sources, model=model, column=column or None)
    if not lines:
        fail("models lineage", f"no lineage for {target!r}")
    click.echo("\n".join(lines))
