"""The analyst layer of a release: facts, models, their tests and lineage.

Called while the release is staged, before anything is published: the facts
are loaded, the models run over the golden tables and the facts, and every
result joins the same atomic release. A model that fails, or a test of
severity ``error`` that fails, raises, so nothing is published (as ``dbt build``
stops); every test result is kept (``model_test_results``) for the asset
checks to report, the ``warn`` ones included.

Example:
    >>> extra = analyst_tables(tables, sources=config.sources, facts=config.facts,
    ...                        run_id=run_id)  # doctest: +SKIP
    >>> sorted(extra)[:3]  # doctest: +SKIP
    ['customer_360', 'customer_health', 'customer_tier']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from connectors.config import SourceConfig
from connectors.facts import FactConfig, fact_tables, load_fact_source
from dbt_like_models.lineage import WarehouseColumnSources, project_lineage, source_value_maps
from dbt_like_models.project import ModelError, Project, load_project
from dbt_like_models.runner import ModelInput, run_project

MODEL_TEST_RESULTS = "model_test_results"
MODEL_COLUMNS = "model_columns"
MODEL_COLUMN_LINEAGE = "model_column_lineage"
MODEL_COLUMN_SOURCES = "model_column_sources"
SOURCE_VALUE_MAPS = "source_value_maps"


def analyst_tables(
    tables: Mapping[str, ModelInput],
    *,
    sources: Sequence[SourceConfig],
    facts: Sequence[FactConfig],
    run_id: str,
    project: Project | None = None,
    spill_to: Path | None = None,
) -> dict[str, pl.DataFrame]:
    """Fact tables, model tables, test results and column lineage for one release.

    Args:
        tables: The staged release tables (golden_customer, customer_xref, ...).
        sources: The configured customer sources (for lineage and value maps).
        facts: The configured fact sources, loaded here.
        run_id: The run, stamped on fact quarantine and test results.
        project: The models (default: the ``dbt_like_models`` folder).
        spill_to: A folder DuckDB may spill to while the models build, to
            bound its memory (``runner.run_project``).

    Raises:
        ModelError: a model cannot be parsed or fails to run.
        SourceReadError, SchemaDriftError: a fact export cannot be read.
    """
    project = load_project() if project is None else project
    batches = {fact.name: load_fact_source(fact) for fact in facts}
    loaded = {**fact_tables(batches, run_id=run_id), SOURCE_VALUE_MAPS: source_value_maps(sources)}
    inputs = {**tables, **loaded}
    build = run_project(project, inputs, spill_to=spill_to)
    failed = build.failed_tests(severity="error")
    if not failed.is_empty():
        shown = "; ".join(
            f"{model}.{test} ({count} rows, e.g. {sample})"
            for model, test, count, sample in failed.select(
                "model", "test", "failures", "sample"
            ).iter_rows()
        )
        raise ModelError(f"model test(s) of severity error failed: {shown}")
    lineage = project_lineage(
        project,
        tables=inputs,
        built=build.tables,
        origins=WarehouseColumnSources(sources, facts),
    )
    return {
        **loaded,
        **build.tables,
        MODEL_TEST_RESULTS: build.test_results.with_columns(pl.lit(run_id).alias("run_id")),
        MODEL_COLUMNS: lineage.columns,
        MODEL_COLUMN_LINEAGE: lineage.edges,
        MODEL_COLUMN_SOURCES: lineage.sources,
    }
