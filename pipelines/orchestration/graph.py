"""The asset graph for one configuration: assets, checks, job, schedule, sensors.

``pipelines.orchestration.definitions`` (the code location) and the CLI both call
``build_definitions``, so a scheduled run and a hand run execute the same graph
the same way: on Dagster's in-process executor, with step outputs waiting in the
run's scratch folder (``step_outputs.ScratchIOManager``) and the OpenLineage
events written by the jobs' hooks (``run_lineage``). Dagster's defaults (a
process per step, outputs pickled under ``.dagster_storage``) made a scheduled
run on the samples take minutes where ``fusion run`` took seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    LoggerDefinition,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from dbt_like_models.project import load_project
from pipelines import stages
from pipelines.orchestration.assets import build_assets
from pipelines.orchestration.invariant_checks import build_invariant_checks
from pipelines.orchestration.model_assets import build_model_assets, build_model_checks
from pipelines.orchestration.quality_checks import build_quality_checks
from pipelines.orchestration.resources import FusionResource
from pipelines.orchestration.run_lineage import RUN_LINEAGE_HOOKS
from pipelines.orchestration.step_outputs import scratch_io_manager
from pipelines.settings import FusionConfig, load_fusion_config
from pipelines.warehouse import Warehouse

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "data" / "samples" / "fusion.yaml"
DEFAULT_WAREHOUSE = REPO_ROOT / "warehouse"
JOB_NAME = "fusion_incremental"
FULL_REBUILD_JOB_NAME = "fusion_full_rebuild"
RETRAIN_JOB_NAME = "fusion_retrain"
JOBS_BY_MODE = {
    "incremental": JOB_NAME,
    "full": FULL_REBUILD_JOB_NAME,
    "retrain": RETRAIN_JOB_NAME,
}


def landing_files_cursor(landing_dir: Path) -> str:
    """A cursor naming every file in the landing folder with its size and mtime."""
    if not landing_dir.is_dir():
        return ""
    entries = sorted(
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in landing_dir.iterdir()
        if p.is_file()
    )
    return "|".join(entries)


def build_definitions(
    config_path: Path,
    warehouse_dir: Path,
    *,
    lock_held_by_caller: bool = False,
    loggers: Mapping[str, LoggerDefinition] | None = None,
    as_of: str | None = None,
) -> Definitions:
    """Assets, checks, job, schedule and sensors for one configuration.

    ``as_of``: the run clock pinned for the runs of these definitions (ISO 8601).
    """
    config: FusionConfig = load_fusion_config(config_path)
    assets = build_assets(config)
    release_asset = next(a for a in assets if a.key.path[-1] == "release_tables")
    checks = build_invariant_checks(release_asset)
    # SQL models (one asset per dbt_like_models/*.sql and per file of the config's
    # models_dir folders, with their tests as checks) and
    # the data-quality suites, whose ERROR checks gate publishing like the invariants.
    project = load_project(extra=config.models_dirs)
    assets = [*assets, *build_model_assets(project, release_asset=release_asset)]
    checks = [
        *checks,
        *build_model_checks(project, release_asset=release_asset),
        build_quality_checks(release_asset, sources=config.sources, facts=config.facts),
    ]
    resource_settings: dict[str, object] = {
        "config_path": str(config.path),
        "warehouse_dir": str(warehouse_dir),
        "lock_held_by_caller": lock_held_by_caller,
        "as_of": as_of,
    }
    job = define_asset_job(
        JOB_NAME,
        selection=AssetSelection.all(),
        hooks=RUN_LINEAGE_HOOKS,
        description="The daily run: reuses unchanged records and the current match model.",
    )
    full_rebuild = define_asset_job(
        FULL_REBUILD_JOB_NAME,
        selection=AssetSelection.all(),
        hooks=RUN_LINEAGE_HOOKS,
        description="Standardise and match every record again with the current match model.",
        config={"resources": {"fusion": {"config": {**resource_settings, "mode": "full"}}}},
    )
    retrain = define_asset_job(
        RETRAIN_JOB_NAME,
        selection=AssetSelection.all(),
        hooks=RUN_LINEAGE_HOOKS,
        description="A full rebuild that also learns a new match model.",
        config={"resources": {"fusion": {"config": {**resource_settings, "mode": "retrain"}}}},
    )
    daily = ScheduleDefinition(
        name="fusion_daily",
        job=job,
        cron_schedule="0 2 * * *",
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
    )
    landing_dir = config.landing_dir

    @sensor(job=job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED)
    def new_export_sensor(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        """Request a run when files in the landing folder appear or change."""
        if landing_dir is None:
            return SkipReason("run.landing_dir is not configured")
        cursor = landing_files_cursor(landing_dir)
        if not cursor or cursor == context.cursor:
            return SkipReason(f"no new files in {landing_dir}")
        context.update_cursor(cursor)
        return RunRequest(run_key=cursor)

    warehouse = Warehouse(warehouse_dir.resolve())

    @run_failure_sensor(
        monitored_jobs=[job, full_rebuild, retrain], default_status=DefaultSensorStatus.RUNNING
    )
    def log_failed_runs(context: RunFailureSensorContext) -> None:
        """Failed scheduled runs are logged beside the warehouse; the release stays."""
        warehouse.drop_scratch(context.dagster_run.run_id)
        stages.log_failed_run(
            warehouse,
            run_id=context.dagster_run.run_id,
            started_at=stages.utc_now(),
            config_hash=config.config_hash,
            reason=context.failure_event.message or "run failed",
        )

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[job, full_rebuild, retrain],
        default_status=DefaultSensorStatus.RUNNING,
    )
    def drop_finished_scratch(context: RunStatusSensorContext) -> None:
        """A published run's spilled tables go once its last check has read them."""
        warehouse.drop_scratch(context.dagster_run.run_id)

    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[job, full_rebuild, retrain],
        schedules=[daily],
        sensors=[new_export_sensor, log_failed_runs, drop_finished_scratch],
        loggers=dict(loggers) if loggers else None,
        # What `fusion run` always used: one process, steps in dependency order.
        executor=in_process_executor,
        resources={
            "fusion": FusionResource(
                config_path=str(config.path),
                warehouse_dir=str(warehouse_dir),
                lock_held_by_caller=lock_held_by_caller,
                as_of=as_of,
            ),
            "io_manager": scratch_io_manager(warehouse),
        },
    )
