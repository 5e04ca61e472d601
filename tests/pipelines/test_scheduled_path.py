"""The code location's jobs run as ``fusion run`` does: same executor, IO manager and lineage.

A run the schedule, the sensor or ``dagster job execute`` starts is Dagster's
``execute_job`` on the job exactly as the code location defines it, with no
run config; that is what these tests execute.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    JobDefinition,
    build_reconstructable_job,
    execute_job,
)
from openlineage.client.event_v2 import RunState
from polars.testing import assert_frame_equal

from lineage.openlineage_validate import read_events
from pipelines.orchestration.graph import JOB_NAME, JOBS_BY_MODE, build_definitions
from pipelines.orchestration.runner import RunFailedError
from pipelines.settings import load_fusion_config
from pipelines.warehouse import SCRATCH_DIR
from tests.pipelines.conftest import SAMPLE_CONFIG, run_samples

# Compared between the two paths: what a run decides, without the run's own ID.
COMPARED = {
    "golden_customer": "unified_id",
    "customer_xref": "source_system, source_record_id",
    "customer_tier": "unified_id",
}


def code_location_job(config_path: str, warehouse_dir: str, job_name: str) -> JobDefinition:
    """The job as ``pipelines.definitions`` builds it for FUSION_CONFIG / FUSION_WAREHOUSE."""
    return build_definitions(Path(config_path), Path(warehouse_dir)).resolve_job_def(job_name)


def execute_scheduled(config: Path, warehouse: Path, instance: DagsterInstance) -> str:
    """Run the incremental job as the daemon or ``dagster job execute`` would; its run ID."""
    job = build_reconstructable_job(
        __name__,
        "code_location_job",
        reconstructable_kwargs={
            "config_path": str(config),
            "warehouse_dir": str(warehouse),
            "job_name": JOB_NAME,
        },
    )
    result = execute_job(job, instance, raise_on_error=False)
    return result.run_id


def _table(warehouse: Path, table: str, order: str) -> pl.DataFrame:
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        frame = con.sql(f"SELECT * FROM {table} ORDER BY {order}").pl()
    return frame.drop([c for c in frame.columns if c.endswith("run_id")])


def _fact_files() -> set[str]:
    return {Path(f.base_dir / f.path).name for f in load_fusion_config(SAMPLE_CONFIG).facts}


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A persistent Dagster instance folder, telemetry off (no network in tests)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_every_job_runs_in_process_on_the_scratch_io_manager(tmp_path: Path) -> None:
    defs = build_definitions(SAMPLE_CONFIG, tmp_path / "wh")
    for name in JOBS_BY_MODE.values():
        job = defs.resolve_job_def(name)
        assert job.executor_def.name == "in_process", name
        assert job.resource_defs["io_manager"].description is not None
        assert "scratch" in job.resource_defs["io_manager"].description
        assert {h.name for h in job.hook_defs} == {
            "openlineage_on_publish",
            "openlineage_on_failure",
        }


@pytest.mark.slow
def test_a_scheduled_run_publishes_what_fusion_run_does_with_its_lineage(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    with DagsterInstance.ephemeral() as instance:
        run_id = execute_scheduled(SAMPLE_CONFIG, warehouse, instance)
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.status == DagsterRunStatus.SUCCESS

    for table, order in COMPARED.items():
        assert_frame_equal(_table(warehouse, table, order), _table(sample_warehouse, table, order))
    # Its step outputs and spilled tables went with the run, as fusion run's do.
    assert list((warehouse / SCRATCH_DIR).iterdir()) == []
    assert not (warehouse / ".dagster_storage").exists()

    start, complete = read_events(warehouse / "openlineage.jsonl")
    assert (start.eventType, complete.eventType) == (RunState.START, RunState.COMPLETE)
    assert complete.run.runId == run_id
    cli_start, cli_complete = read_events(sample_warehouse / "openlineage.jsonl")[-2:]
    assert cli_complete.eventType == RunState.COMPLETE
    # The same inputs (source files and fact exports) and the same published tables.
    inputs = sorted(d.name for d in complete.inputs or [])
    assert inputs == sorted(d.name for d in cli_complete.inputs or [])
    assert _fact_files() <= {Path(name).name for name in inputs}
    assert len(inputs) == len(load_fusion_config(SAMPLE_CONFIG).sources) + len(_fact_files())
    tables = sorted(d.name for d in complete.outputs or [])
    assert tables == sorted(d.name for d in cli_complete.outputs or [])
    assert "main.golden_customer" in tables


@pytest.mark.slow
def test_fusion_run_is_recorded_in_the_instance_dagster_home_names(
    dagster_home: Path, tmp_path: Path
) -> None:
    outcome = run_samples(tmp_path / "wh")

    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert [(r.run_id, r.job_name, r.status) for r in runs] == [
        (outcome.run_id, JOB_NAME, DagsterRunStatus.SUCCESS)
    ]


def test_a_failed_scheduled_run_writes_the_fail_event_fusion_run_writes(
    samples_copy: Path, tmp_path: Path
) -> None:
    config = samples_copy / "fusion.yaml"
    _drop_erp_tier_column(samples_copy)

    with pytest.raises(RunFailedError) as failed:
        run_samples(tmp_path / "by_hand", config)
    with DagsterInstance.ephemeral() as instance:
        execute_scheduled(config, tmp_path / "scheduled", instance)

    by_hand = read_events(tmp_path / "by_hand" / "openlineage.jsonl")
    scheduled = read_events(tmp_path / "scheduled" / "openlineage.jsonl")
    assert [e.eventType for e in scheduled] == [RunState.START, RunState.FAIL]
    assert [e.eventType for e in by_hand] == [RunState.START, RunState.FAIL]
    reasons = [(e.run.facets or {})["errorMessage"].message for e in (by_hand[1], scheduled[1])]
    assert reasons[0] == reasons[1] == str(failed.value)
    assert "客户等级" in reasons[1]
    assert _fact_files() <= {Path(d.name).name for d in scheduled[0].inputs or []}


@pytest.mark.slow
def test_fusion_run_says_when_the_release_published_but_its_lineage_was_not_written(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "wh"
    (warehouse / "openlineage.jsonl").mkdir(parents=True)  # a folder where the file goes

    with pytest.raises(RunFailedError) as failed:
        run_samples(warehouse)

    message = str(failed.value)
    assert message.startswith("run ")
    assert "published, but OpenLineage events could not be written to" in message
    assert (warehouse / "golden.duckdb").exists()


def _drop_erp_tier_column(samples: Path) -> None:
    """The ERP export loses its tier column (客户等级), so reading it fails."""
    erp = samples / "erp_customers.csv"
    lines = erp.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
    drop = lines[0].decode("gb18030").split(",").index("客户等级")
    rewritten = [b",".join(c for i, c in enumerate(row.split(b",")) if i != drop) for row in lines]
    erp.write_bytes(b"\n".join(rewritten))
