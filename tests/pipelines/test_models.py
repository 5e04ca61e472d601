"""The SQL models in the Dagster graph, in the published release, and on the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlglot
from click.testing import CliRunner
from dagster import AssetKey

import dbt_like_models.project
from dbt_like_models.project import TARGET_DIALECTS, load_project
from pipelines.cli import MODEL_DIALECTS, main
from pipelines.orchestration.graph import build_definitions
from tests.pipelines.conftest import SAMPLE_CONFIG

BUNDLED = load_project()
NEW_MODEL = """/*
description: Contact details of S-tier customers, masked.
columns:
  unified_id: {tests: [unique, {relationships: {to: customer_tier, field: unified_id}}]}
*/
SELECT t.unified_id, m.email, h.health_score
FROM customer_tier AS t
JOIN golden_customer_masked AS m ON m.unified_id = t.unified_id
JOIN customer_health AS h ON h.unified_id = t.unified_id
WHERE t.tier = 'S'
"""


def parents(defs, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    graph = defs.resolve_asset_graph()
    return {key.path[-1] for key in graph.get(AssetKey(name)).parent_keys}


def test_each_model_is_an_asset_with_edges_from_its_sql(tmp_path: Path) -> None:
    defs = build_definitions(SAMPLE_CONFIG, tmp_path / "wh")
    assert parents(defs, "customer_360") == {"release_tables"}
    assert parents(defs, "customer_health") == {"customer_360", "release_tables"}
    assert parents(defs, "customer_tier") == {"customer_360", "release_tables"}
    spec = defs.resolve_assets_def(AssetKey("customer_tier")).specs_by_key[
        AssetKey("customer_tier")
    ]
    assert spec.group_name == "models"
    checks = {key for key in defs.resolve_asset_graph().asset_check_keys}
    tier_checks = {k.name for k in checks if k.asset_key == AssetKey("customer_tier")}
    assert tier_checks == {t.name for t in BUNDLED.get("customer_tier").tests}
    quality = {k.name for k in checks if k.name.startswith("quality_")}
    assert {"quality_golden_customer", "quality_source_erp", "quality_fact_orders"} <= quality


def test_a_new_sql_file_becomes_an_asset_with_its_edges_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    shutil.copytree(BUNDLED.folder, models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (models / "vip_contacts.sql").write_text(NEW_MODEL, encoding="utf-8")
    monkeypatch.setattr(dbt_like_models.project, "MODELS_DIR", models)

    defs = build_definitions(SAMPLE_CONFIG, tmp_path / "wh")

    assert parents(defs, "vip_contacts") == {
        "customer_tier", "golden_customer_masked", "customer_health", "release_tables",
    }  # fmt: skip
    checks = {
        k.name
        for k in defs.resolve_asset_graph().asset_check_keys
        if k.asset_key == AssetKey("vip_contacts")
    }
    assert checks == {"unique_unified_id", "relationships_unified_id__customer_tier_unified_id"}
    definition = defs.resolve_assets_def(AssetKey("vip_contacts"))
    assert definition.specs_by_key[AssetKey("vip_contacts")].description == (
        "Contact details of S-tier customers, masked."
    )


def test_the_release_holds_models_lineage_and_test_results(sample_warehouse: Path) -> None:
    with duckdb.connect(str(sample_warehouse / "golden.duckdb"), read_only=True) as con:
        golden = con.sql("SELECT count(*) AS n FROM golden_customer").pl()["n"].item()
        tiers = con.sql("SELECT tier, count(*) FROM customer_tier GROUP BY ALL").pl()
        tests = con.sql("SELECT * FROM model_test_results").pl()
        sources = con.sql(
            "SELECT * FROM model_column_sources "
            "WHERE model = 'customer_health' AND column_name = 'completeness_score'"
        ).pl()
        masked = con.sql("SELECT email FROM golden_customer_masked WHERE email IS NOT NULL").pl()
    assert tiers["count_star()"].sum() == golden
    assert set(tiers["tier"]) == {"S", "A", "B", "C"}
    assert tests["passed"].all()
    assert {"crm", "erp", "ecommerce", "tickets"} <= set(sources["source"])
    assert sources["values_won"].sum() > 0
    assert masked["email"].str.contains("•••@").all()
    for model in BUNDLED.names:
        assert (sample_warehouse / "parquet" / f"{model}.parquet").exists(), model


def test_computed_tiers_agree_with_the_tiers_sources_recorded(sample_warehouse: Path) -> None:
    with duckdb.connect(str(sample_warehouse / "golden.duckdb"), read_only=True) as con:
        tiers = con.sql(
            "SELECT tier, golden_tier FROM customer_tier WHERE golden_tier IN ('S', 'A')"
        ).pl()
    # The generator bills customers by their true tier, so activity recovers most S and A
    # accounts (the rest churned or were quiet in the last year).
    top = tiers.filter(pl.col("golden_tier") == "S")
    assert (top["tier"].is_in(["S", "A"])).mean() > 0.6  # type: ignore[operator]


def test_models_compile_on_the_command_line() -> None:
    assert MODEL_DIALECTS == TARGET_DIALECTS
    result = CliRunner().invoke(main, ["models", "compile", "--dialect", "spark"])
    assert result.exit_code == 0, result.output
    blocks = result.output.split("-- model: ")[1:]
    assert [b.split(" ", 1)[0] for b in blocks] == list(BUNDLED.names)
    for block in blocks:
        sql = block.split("\n", 1)[1].strip().rstrip(";")
        assert isinstance(sqlglot.parse_one(sql, read="spark"), sqlglot.exp.Query)


def test_models_compile_writes_files_and_refuses_unknown_dialects(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["models", "compile", "--dialect", "postgres", "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in tmp_path.glob("*.sql")) == sorted(BUNDLED.names)
    refused = CliRunner().invoke(main, ["models", "compile", "--dialect", "oracle"])
    assert refused.exit_code != 0
    assert "'oracle' is not one of 'spark', 'postgres', 'snowflake'" in refused.output


def test_models_list_and_lineage_on_the_command_line(sample_warehouse: Path) -> None:
    listed = CliRunner().invoke(main, ["models", "list"])
    assert listed.exit_code == 0
    assert "customer_health          table  reads customer_360, golden_customer" in listed.output
    traced = CliRunner().invoke(
        main, ["models", "lineage", "customer_360.revenue", "--warehouse", str(sample_warehouse)]
    )
    assert traced.exit_code == 0, traced.output
    assert traced.output.splitlines()[0] == "customer_360.revenue"
    assert "<- fact_invoices.amount <- erp_invoices: erp_invoices.csv [价税合计]" in traced.output
    missing = CliRunner().invoke(
        main, ["models", "lineage", "customer_360.nope", "--warehouse", str(sample_warehouse)]
    )
    assert missing.exit_code == 1


ANALYST_MODEL = """/*
description: Customers and revenue per computed tier, written by an analyst.
columns:
  tier: {tests: [unique, not_null]}
*/
SELECT t.tier, count(*) AS customers, sum(c.revenue) AS revenue
FROM customer_tier AS t
JOIN customer_360 AS c ON c.unified_id = t.unified_id
GROUP BY t.tier
"""


@pytest.mark.slow
def test_models_dir_adds_the_analysts_models_to_the_graph_and_the_release(
    samples_copy: Path, tmp_path: Path
) -> None:
    from tests.pipelines.conftest import run_samples

    folder = samples_copy / "analyst_models"
    folder.mkdir()
    (folder / "tier_revenue.sql").write_text(ANALYST_MODEL, encoding="utf-8")
    config = samples_copy / "fusion.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\nmodels_dir: analyst_models\n", encoding="utf-8"
    )
    warehouse = tmp_path / "wh"

    listed = CliRunner().invoke(main, ["models", "list", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert "tier_revenue" in listed.output
    assert "tier_revenue" not in CliRunner().invoke(main, ["models", "list"]).output
    defs = build_definitions(config, warehouse)
    assert parents(defs, "tier_revenue") == {"customer_tier", "customer_360", "release_tables"}

    run_samples(warehouse, config)

    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        built = con.sql("SELECT * FROM tier_revenue ORDER BY tier").pl()
        expected = con.sql(
            "SELECT t.tier, count(*) AS customers, sum(c.revenue) AS revenue "
            "FROM customer_tier t JOIN customer_360 c USING (unified_id) GROUP BY ALL ORDER BY 1"
        ).pl()
        golden = con.sql("SELECT count(*) FROM golden_customer").fetchall()[0][0]
        lineage = con.sql(
            "SELECT column_name, upstream_table, upstream_column FROM model_column_lineage "
            "WHERE model = 'tier_revenue'"
        ).fetchall()
        tests = con.sql(
            "SELECT test, passed FROM model_test_results WHERE model = 'tier_revenue'"
        ).fetchall()
    assert built.equals(expected)
    assert built["customers"].sum() == golden
    assert ("revenue", "customer_360", "revenue") in lineage
    assert ("tier", "customer_tier", "tier") in lineage
    assert sorted(tests) == [("not_null_tier", True), ("unique_tier", True)]
    assert (warehouse / "parquet" / "tier_revenue.parquet").exists()


def test_a_missing_models_dir_is_a_config_error(samples_copy: Path) -> None:
    from connectors.errors import ConfigError
    from pipelines.settings import load_fusion_config

    config = samples_copy / "fusion.yaml"
    before = load_fusion_config(config)
    config.write_text(
        config.read_text(encoding="utf-8") + "\nmodels_dir: [analyst_models]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="models_dir': folder 'analyst_models' not found"):
        load_fusion_config(config)
    (samples_copy / "analyst_models").mkdir()
    after = load_fusion_config(config)
    assert after.models_dirs == ((samples_copy / "analyst_models").resolve(),)
    # Models change no match: the hash that decides reuse stays.
    assert after.config_hash == before.config_hash
