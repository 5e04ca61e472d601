"""Dagster assets and checks for the SQL models, built from the models folder.

Each ``dbt_like_models/*.sql`` file becomes an asset named after it, in group
``models``; its upstream edges are the tables its SELECT reads, parsed by
sqlglot when the definitions load: another model is an edge to that model's
asset, a warehouse table (golden or fact) an edge to ``release_tables``, which
holds them. Dropping a new ``.sql`` file in the folder therefore adds an asset
with the right edges, column lineage and checks, with no Python change.

The models run while the release is staged (``dbt_like_models.release``), so
their tables are published in the same atomic swap as the golden tables, and
a failing model, or a failing test of severity ``error``, fails the release
step: nothing is published (as ``dbt build`` stops). An asset here reports its
model (rows, schema, column lineage, SQL); its declared tests are its asset
checks, which show every test's result and report the ``warn`` ones.
"""

from collections.abc import Iterator

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
    asset,
    multi_asset_check,
)

from connectors.errors import FusionError
from dbt_like_models.project import Model, Project
from dbt_like_models.release import MODEL_COLUMN_LINEAGE, MODEL_COLUMNS, MODEL_TEST_RESULTS
from pipelines.orchestration.assets import Release
from pipelines.warehouse import table_rows

GROUP = "models"


class ModelTestError(FusionError):
    """A model test of severity ``error`` failed: the release is not published."""


def model_asset_key(name: str) -> AssetKey:
    """The asset key of a model."""
    return AssetKey(name)


def build_model_assets(
    project: Project, *, release_asset: AssetsDefinition
) -> list[AssetsDefinition]:
    """One asset per model, downstream of the release tables and of the models it reads."""
    return [_model_asset(project, model, release_asset=release_asset) for model in project.models]


def _model_asset(
    project: Project, model: Model, *, release_asset: AssetsDefinition
) -> AssetsDefinition:
    upstream = [model_asset_key(name) for name in project.upstream_models(model.name)]
    release_key = release_asset.key

    @asset(
        name=model.name,
        group_name=GROUP,
        kinds={"sql", "duckdb"},
        deps=upstream,
        ins={"release_tables": AssetIn(key=release_key)},
        description=model.description or f"SQL model {model.path.name}",
        metadata={
            "materialized": model.materialized,
            "reads": list(model.depends_on),
            "sql": MetadataValue.md(f"```sql\n{model.sql}\n```"),
            "path": MetadataValue.path(str(model.path)),
        },
    )
    def _model(context: AssetExecutionContext, release_tables: Release) -> None:
        frame = table_rows(release_tables.tables, model.name)
        context.add_output_metadata(
            {
                "rows": frame.height,
                "dagster/column_schema": _schema(model, release_tables),
                "dagster/column_lineage": _column_lineage(
                    model, release_tables, project=project, release_key=release_key
                ),
            }
        )

    return _model


def _schema(model: Model, release: Release) -> TableSchema:
    columns = table_rows(release.tables, MODEL_COLUMNS).filter(pl.col("model") == model.name)
    return TableSchema(
        columns=[
            TableColumn(name=name, type=dtype, description=description or None)
            for name, dtype, description in columns.select(
                "column_name", "data_type", "description"
            ).iter_rows()
        ]
    )


def _column_lineage(
    model: Model, release: Release, *, project: Project, release_key: AssetKey
) -> TableColumnLineage:
    """Dagster's column lineage: a model column from a model's column, or a release table's."""
    edges = table_rows(release.tables, MODEL_COLUMN_LINEAGE).filter(pl.col("model") == model.name)
    deps: dict[str, list[TableColumnDep]] = {}
    for column, table, table_column in edges.select(
        "column_name", "upstream_table", "upstream_column"
    ).iter_rows():
        if table in project.names:
            dep = TableColumnDep(asset_key=model_asset_key(table), column_name=table_column)
        else:
            dep = TableColumnDep(asset_key=release_key, column_name=f"{table}.{table_column}")
        deps.setdefault(column, []).append(dep)
    return TableColumnLineage(deps_by_column=deps)


def build_model_checks(
    project: Project, *, release_asset: AssetsDefinition
) -> list[AssetChecksDefinition]:
    """One check per declared model test (``error`` ones also stopped the release step)."""
    return [
        _model_checks(model, release_key=release_asset.key)
        for model in project.models
        if model.tests
    ]


def _model_checks(model: Model, *, release_key: AssetKey) -> AssetChecksDefinition:
    specs = [
        AssetCheckSpec(
            name=test.name,
            asset=model_asset_key(model.name),
            blocking=test.severity == "error",
            additional_deps=[release_key],
            description=f"{test.kind} on {test.column} (severity {test.severity})",
        )
        for test in model.tests
    ]

    @multi_asset_check(
        specs=specs,
        name=f"{model.name}_tests",
        ins={"release_tables": AssetIn(key=release_key)},
        description=f"The tests declared in {model.path.name}.",
    )
    def _tests(release_tables: Release) -> Iterator[AssetCheckResult]:
        results = table_rows(release_tables.tables, MODEL_TEST_RESULTS).filter(
            pl.col("model") == model.name
        )
        failed: list[str] = []
        for row in results.iter_rows(named=True):
            error = row["severity"] == "error"
            yield AssetCheckResult(
                asset_key=model_asset_key(model.name),
                check_name=row["test"],
                passed=row["passed"],
                severity=AssetCheckSeverity.ERROR if error else AssetCheckSeverity.WARN,
                description=f"{row['failures']} failing rows, e.g. {row['sample']}",
                metadata={
                    "failures": row["failures"],
                    "query": MetadataValue.md(f"```sql\n{row['query']}\n```"),
                },
            )
            if error and not row["passed"]:
                failed.append(f"{row['test']} ({row['failures']} rows, e.g. {row['sample']})")
        if failed:
            msg = f"model {model.name!r}: test(s) failed: {'; '.join(failed)}"
            raise ModelTestError(msg)

    return _tests
