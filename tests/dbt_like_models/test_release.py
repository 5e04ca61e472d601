"""The analyst layer of a release: facts, models, tests and lineage as release tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_like_models.project import ModelError, load_project
from dbt_like_models.release import analyst_tables
from pipelines.settings import FusionConfig
from tests.dbt_like_models.conftest import release_tables


def test_the_release_gains_facts_models_tests_and_lineage(
    tmp_path: Path, sample_config: FusionConfig
) -> None:
    (tmp_path / "tiers.sql").write_text(
        "/* columns: {tier: {tests: [{accepted_values: {values: [S], severity: warn}}]}} */\n"
        "SELECT unified_id, tier FROM golden_customer",
        encoding="utf-8",
    )
    tables = release_tables()
    added = analyst_tables(
        tables, sources=sample_config.sources, facts=(), run_id="r1", project=load_project(tmp_path)
    )
    assert set(added) == {
        "fact_invoices", "fact_orders", "fact_tickets", "fact_quarantine", "source_value_maps",
        "tiers", "model_test_results", "model_columns", "model_column_lineage",
        "model_column_sources",
    }  # fmt: skip
    # A failed warn test is reported, not raised.
    result = added["model_test_results"].row(0, named=True)
    assert (result["passed"], result["severity"], result["run_id"]) == (False, "warn", "r1")
    assert added["source_value_maps"].height > 0


def test_a_failed_error_test_stops_the_release(tmp_path: Path, sample_config: FusionConfig) -> None:
    (tmp_path / "tiers.sql").write_text(
        "/* columns: {tier: {tests: [not_null]}} */\nSELECT unified_id, tier FROM golden_customer",
        encoding="utf-8",
    )
    with pytest.raises(ModelError, match=r"tiers.not_null_tier \(2 rows, e.g. \[null, null\]\)"):
        analyst_tables(
            release_tables(),
            sources=sample_config.sources,
            facts=(),
            run_id="r1",
            project=load_project(tmp_path),
        )
