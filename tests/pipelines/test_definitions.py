"""The Dagster code location loads, and its sensor reacts to new exports."""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance, build_sensor_context

from pipelines.orchestration.graph import JOB_NAME, JOBS_BY_MODE, build_definitions
from tests.pipelines.conftest import SAMPLE_CONFIG


def test_code_location_loads_with_every_asset_check_schedule_and_sensor(tmp_path: Path) -> None:
    from pipelines.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    names = {key.path[-1] for key in graph.get_all_asset_keys()}
    assert {
        "source_crm", "source_erp", "source_ecommerce", "source_tickets",
        "standardised_records", "match_result", "unified_ids", "golden_record",
        "match_tables", "release_tables", "published_warehouse",
    } <= names  # fmt: skip
    checks = {key.name for key in graph.asset_check_keys}
    assert checks >= {  # plus the model tests and the data-quality suites (test_models.py)
        "every_row_accounted_for", "unified_ids_consistent",
        "golden_values_have_lineage", "probabilities_in_range",
    }  # fmt: skip
    for name in JOBS_BY_MODE.values():
        assert defs.resolve_job_def(name).name == name
    assert JOBS_BY_MODE["incremental"] == JOB_NAME  # what the schedule and the sensor run
    daily = defs.resolve_schedule_def("fusion_daily")
    assert daily.cron_schedule == "0 2 * * *"
    assert daily.job_name == JOB_NAME
    assert defs.resolve_sensor_def("new_export_sensor").job_name == JOB_NAME
    assert defs.resolve_sensor_def("new_export_sensor") is not None
    upstream = graph.get(
        next(k for k in graph.get_all_asset_keys() if k.path[-1] == "published_warehouse")
    )
    assert [k.path[-1] for k in upstream.parent_keys] == ["release_tables"]


def test_sensor_requests_a_run_when_a_file_lands(tmp_path: Path) -> None:
    config = tmp_path / "fusion.yaml"
    landing = tmp_path / "landing"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("landing_dir: landing", f"landing_dir: {landing}"), "utf-8")
    defs = build_definitions(config, tmp_path / "wh")
    sensor = defs.resolve_sensor_def("new_export_sensor")
    with DagsterInstance.ephemeral() as instance:
        empty = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert empty.run_requests == []
        assert empty.skip_message
        assert "no new files" in empty.skip_message
        landing.mkdir()
        (landing / "crm_2026-11-22.csv").write_text("customer_id\n1\n", encoding="utf-8")
        tick = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert len(tick.run_requests) == 1
        cursor = tick.cursor
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
        assert again.run_requests == []


def test_golden_record_asset_carries_column_lineage_to_source_columns() -> None:
    from dagster import AssetKey

    from pipelines.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    golden = graph.get(AssetKey("golden_record"))
    lineage = golden.metadata["dagster/column_lineage"]
    name_deps = {(d.asset_key.path[-1], d.column_name) for d in lineage.deps_by_column["name"]}
    expected = {
        ("source_erp", "客户名称"),
        ("source_crm", "account_name"),
        ("source_ecommerce", "customer.company"),
        ("source_tickets", "company"),
    }
    assert expected <= name_deps
    tier_sources = {d.asset_key.path[-1] for d in lineage.deps_by_column["tier"]}
    assert tier_sources == {"source_crm", "source_erp"}
