"""Column lineage: model columns to table columns (sqlglot), then to export columns (config)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.dataset as ds
import pytest
from polars.testing import assert_frame_equal

from dbt_like_models.lineage import (
    ProjectLineage,
    WarehouseColumnSources,
    column_edges,
    describe_sources,
    project_lineage,
    source_value_maps,
    sql_schema,
)
from dbt_like_models.project import load_project
from dbt_like_models.runner import ModelInput, ProjectBuild, run_project
from pipelines.settings import FusionConfig
from tests.dbt_like_models.conftest import release_tables

BUNDLED = load_project()


@pytest.fixture(scope="module")
def lineage(sample_config: FusionConfig) -> ProjectLineage:
    tables = release_tables()
    build = run_project(BUNDLED, tables)
    return project_lineage(
        BUNDLED,
        tables=tables,
        built=build.tables,
        origins=WarehouseColumnSources(sample_config.sources, sample_config.facts),
    )


def sources_of(lineage: ProjectLineage, model: str, column: str) -> set[tuple[str, str, str]]:
    rows = lineage.sources.filter((pl.col("model") == model) & (pl.col("column_name") == column))
    return {
        (f"{r['via_table']}.{r['via_column']}", r["source"], r["source_column"])
        for r in rows.iter_rows(named=True)
    }


def test_multi_join_revenue_traces_to_the_invoice_and_order_export_columns(
    lineage: ProjectLineage,
) -> None:
    # customer_360.revenue: invoices and orders joined to customer_xref and golden_customer.
    assert sources_of(lineage, "customer_360", "revenue") == {
        ("fact_invoices.amount", "erp_invoices", "价税合计"),
        ("fact_invoices.status", "erp_invoices", "状态"),
        ("fact_orders.amount", "ecommerce_orders", "total.amount"),
        ("fact_orders.status", "ecommerce_orders", "status"),
    }
    direct = lineage.edges.filter(
        (pl.col("model") == "customer_360") & (pl.col("column_name") == "revenue")
    )
    assert set(direct.select("upstream_table", "upstream_column").iter_rows()) == {
        ("fact_invoices", "amount"), ("fact_invoices", "status"),
        ("fact_orders", "amount"), ("fact_orders", "status"),
    }  # fmt: skip


def test_a_model_reading_a_model_is_traced_through_it_to_the_exports(
    lineage: ProjectLineage,
) -> None:
    # customer_tier.revenue_last_365d <- customer_360.revenue_last_365d <- facts.
    direct = lineage.edges.filter(
        (pl.col("model") == "customer_tier") & (pl.col("column_name") == "revenue_last_365d")
    )
    assert direct.select("upstream_table", "upstream_column", "upstream_kind").rows() == [
        ("customer_360", "revenue_last_365d", "model")
    ]
    found = sources_of(lineage, "customer_tier", "revenue_last_365d")
    assert ("fact_invoices.amount", "erp_invoices", "价税合计") in found
    assert ("fact_orders.occurred_at", "ecommerce_orders", "placed_ms") in found
    # The window ends at the latest event of any kind, tickets included.
    assert ("fact_tickets.occurred_at", "helpdesk_tickets", "created_at") in found


def test_golden_columns_trace_to_each_sources_mapped_columns(lineage: ProjectLineage) -> None:
    assert sources_of(lineage, "golden_customer_masked", "email") == {
        ("golden_customer.email", "crm", "email"),
        ("golden_customer.email", "erp", "电子邮箱"),
        ("golden_customer.email", "ecommerce", "customer.email"),
        ("golden_customer.email", "tickets", "requester_email"),
    }
    # A derived value names the config, not a column: customer_type from the company column.
    kinds = lineage.sources.filter(
        (pl.col("model") == "customer_360") & (pl.col("column_name") == "customer_type")
    )
    notes = dict(kinds.select("source", "note").iter_rows())
    assert notes["tickets"] == "present/absent"
    assert notes["crm"] == "value map"


def test_values_won_come_from_field_lineage(lineage: ProjectLineage) -> None:
    rows = lineage.sources.filter(
        (pl.col("model") == "customer_360") & (pl.col("column_name") == "name")
    )
    won = {(r["source"], r["source_column"]): r["values_won"] for r in rows.iter_rows(named=True)}
    # The fixture's field_lineage: two names from the ERP, one from the CRM, one from the shop.
    assert won[("erp", "客户名称")] == 2
    assert won[("crm", "account_name")] == 1
    assert won[("ecommerce", "customer.name")] == 1
    assert won[("ecommerce", "customer.company")] is None


def test_row_counts_depend_on_the_rows_of_their_tables(lineage: ProjectLineage) -> None:
    edges = lineage.edges.filter(
        (pl.col("model") == "source_quality") & (pl.col("column_name") == "fields_won")
    )
    assert ("field_lineage", "*") in set(edges.select("upstream_table", "upstream_column").rows())
    rows = sources_of(lineage, "source_quality", "fields_won")
    assert ("field_lineage.*", "erp", "客户编号") in rows  # each row is one record's value


def test_every_model_column_is_listed_with_its_description(lineage: ProjectLineage) -> None:
    tables = run_project(BUNDLED, release_tables()).tables
    listed = set(lineage.columns.select("model", "column_name").iter_rows())
    assert listed == {(m, c) for m, frame in tables.items() for c in frame.columns}
    revenue = lineage.columns.filter(
        (pl.col("model") == "customer_360") & (pl.col("column_name") == "revenue")
    )
    assert revenue["description"].item().startswith("Non-void invoice amounts")
    assert revenue["data_type"].item() == "DOUBLE"
    # Every column except constants has at least one source.
    traced = set(lineage.sources.select("model", "column_name").iter_rows())
    assert listed - traced == set()


def test_lineage_of_a_new_model_file(tmp_path: Path, sample_config: FusionConfig) -> None:
    for model in BUNDLED.models:
        (tmp_path / model.path.name).write_text(model.path.read_text("utf-8"), "utf-8")
    (tmp_path / "vip_contacts.sql").write_text(
        "SELECT t.unified_id, m.email, h.health_score\n"
        "FROM customer_tier AS t\n"
        "JOIN golden_customer_masked AS m ON m.unified_id = t.unified_id\n"
        "JOIN customer_health AS h ON h.unified_id = t.unified_id\n"
        "WHERE t.tier = 'S'",
        encoding="utf-8",
    )
    project = load_project(tmp_path)
    tables = release_tables()
    build = run_project(project, tables)
    result = project_lineage(
        project,
        tables=tables,
        built=build.tables,
        origins=WarehouseColumnSources(sample_config.sources, sample_config.facts),
    )
    assert build.tables["vip_contacts"]["unified_id"].to_list() == ["FU-00000001"]
    edges = result.edges.filter(pl.col("model") == "vip_contacts")
    assert set(edges.select("column_name", "upstream_table", "upstream_column").iter_rows()) == {
        ("unified_id", "customer_tier", "unified_id"),
        ("email", "golden_customer_masked", "email"),
        ("health_score", "customer_health", "health_score"),
    }
    assert ("golden_customer.email", "erp", "电子邮箱") in sources_of(
        result, "vip_contacts", "email"
    )


def test_column_edges_follow_ctes_and_unions() -> None:
    schema = sql_schema(release_tables())
    found = column_edges(BUNDLED.get("customer_360"), schema)
    edges = {(e.column, e.table, e.table_column) for e in found}
    assert ("last_contact_at", "fact_tickets", "occurred_at") in edges  # through a UNION ALL CTE
    assert ("sources_present", "customer_xref", "source_system") in edges
    assert ("unified_id", "golden_customer", "unified_id") in edges


def test_value_maps_table_reverses_the_config(sample_config: FusionConfig) -> None:
    maps = source_value_maps(sample_config.sources)
    tier = maps.filter((pl.col("source_system") == "erp") & (pl.col("field") == "tier"))
    assert set(tier.select("source_code", "canonical_value").iter_rows()) == {
        ("VIP", "S"), ("PRO", "A"), ("STD", "B"),
    }  # fmt: skip
    assert set(tier["source_column"]) == {"客户等级"}


def test_describe_sources_prints_one_chain_per_export_column(lineage: ProjectLineage) -> None:
    lines = describe_sources(lineage.sources, model="customer_360", column="revenue")
    assert lines[0] == "customer_360.revenue"
    assert "  <- fact_invoices.amount <- erp_invoices: erp_invoices.csv [价税合计]" in lines
    assert len(lines) == 5


def test_a_field_matched_on_but_not_golden_is_no_source_of_golden_values() -> None:
    from connectors.config import SourceConfig

    source = SourceConfig.model_validate({
        "name": "crm", "system": "crm", "path": "c.csv", "format": "csv", "record_id": "id",
        "fields": {"name": "full_name", "birth_date": "dob"}, "base_dir": ".",
        "trust": {"default": 0.8},
    })  # fmt: skip
    origins = WarehouseColumnSources([source], [])
    assert {r.column for r in origins.refs("field_candidates", "value")} == {"full_name"}


def test_tables_read_from_parquet_datasets_build_and_trace_as_frames_do(
    tmp_path: Path, sample_config: FusionConfig
) -> None:
    """A run's spilled tables reach the models as datasets DuckDB scans in place."""
    frames = release_tables()
    as_datasets: dict[str, ModelInput] = dict(frames)
    for name in ("field_lineage", "field_candidates", "golden_customer"):
        path = tmp_path / f"{name}.parquet"
        frames[name].write_parquet(path)
        as_datasets[name] = ds.dataset(path, format="parquet")
    origins = WarehouseColumnSources(sample_config.sources, sample_config.facts)

    def build_and_trace(tables: dict[str, ModelInput]) -> tuple[ProjectBuild, ProjectLineage]:
        build = run_project(BUNDLED, tables)
        return build, project_lineage(BUNDLED, tables=tables, built=build.tables, origins=origins)

    (build, lineage), (scanned, scanned_lineage) = (
        build_and_trace(frames),
        build_and_trace(as_datasets),
    )

    assert scanned.tables.keys() == build.tables.keys()
    for name, table in build.tables.items():
        assert_frame_equal(scanned.tables[name], table)
    assert_frame_equal(scanned.test_results, build.test_results)
    assert_frame_equal(scanned_lineage.sources, lineage.sources)
    assert_frame_equal(scanned_lineage.columns, lineage.columns)
    assert lineage.sources["values_won"].sum() > 0
