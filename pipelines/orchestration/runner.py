"""Run the asset graph in process for the CLI, with progress and a clean failure line.

The job runs through Dagster's ``execute_job`` on the in-process executor, not
``JobDefinition.execute_in_process``: the latter keeps every step's output for
the result object until the run ends (1.4 GiB of source batches, the match
result and the golden customers at 1M records), which the CLI never reads.
Step outputs wait in the run's scratch folder instead (``pipelines.orchestration.step_outputs``).
The executor, the IO manager and the OpenLineage hooks are the jobs' own
(``graph.build_definitions``), so a hand run and a scheduled run cost the same
and write the same events. The run is recorded in the Dagster instance that
``DAGSTER_HOME`` names, so it shows in the UI's run history; without it, in a
throwaway one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from dagster import (
    DagsterEventType,
    DagsterInstance,
    JobDefinition,
    JobExecutionResult,
    build_reconstructable_job,
    execute_job,
    in_process_executor,
)
from rich.console import Console

from connectors.errors import FusionError
from lineage.openlineage import OPENLINEAGE_FILE, emit_run_lineage
from pipelines import stages
from pipelines.memory import collecting_new_objects_only
from pipelines.orchestration.graph import JOBS_BY_MODE, build_definitions
from pipelines.orchestration.progress import make_progress_logger
from pipelines.orchestration.run_lineage import lineage_written
from pipelines.settings import load_fusion_config
from pipelines.warehouse import Warehouse

if TYPE_CHECKING:
    # What ``build_reconstructable_job`` returns; Dagster exports the class under no public name.
    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._utils.error import SerializableErrorInfo


class RunFailedError(FusionError):
    """The run did not publish; the reason is the first step failure."""


@dataclass(frozen=True)
class RunOutcome:
    """Where the published golden record is, and what to try first."""

    run_id: str
    warehouse: Warehouse
    golden_rows: int
    example_id: str
    # One line per cluster above matching.max_cluster_size (oversized_cluster_warnings).
    warnings: tuple[str, ...] = ()

    def summary_text(self) -> str:
        """What a newcomer needs after the first run."""
        db = self.warehouse.database
        warned = "".join(f"warning: {line}\n" for line in self.warnings)
        return (
            f"run {self.run_id} published {self.golden_rows} golden customers\n"
            f"{warned}"
            f"  DuckDB:  {db}\n"
            f"  Parquet: {self.warehouse.parquet_dir}/\n"
            f"  Delta:   {self.warehouse.lake}/ (release {self.warehouse.current_release()})\n"
            "Try:\n"
            f'  .venv/bin/fusion sql --warehouse {self.warehouse.root} "SELECT customer_type, '
            'tier, count(*) AS customers FROM golden_customer GROUP BY ALL ORDER BY ALL"\n'
            f"  .venv/bin/fusion lineage {self.example_id} --warehouse {self.warehouse.root}"
        )


QUALIFIED_CLASS_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception): ")


def _innermost_message(error: SerializableErrorInfo | None) -> str | None:
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return None
    message = error.message.strip().splitlines()[0]
    # Dagster prefixes the (module-qualified) exception class: keep the reason only.
    return QUALIFIED_CLASS_PREFIX.sub("", message, count=1)


def first_failure_reason(result: JobExecutionResult) -> str:
    """One line: the innermost error message of the first failed step."""
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_failure_data:
            message = _innermost_message(event.step_failure_data.error)
            if message is not None:
                return message
    return "the run failed without a step failure (see the Dagster logs)"


def first_hook_error(result: JobExecutionResult) -> str | None:
    """One line for the first hook that raised (the OpenLineage events not written), or None.

    Dagster logs a hook's error and lets the run succeed; ``fusion run`` says so.
    """
    for event in result.all_events:
        if event.event_type == DagsterEventType.HOOK_ERRORED:
            error = getattr(event.event_specific_data, "error", None)
            # Past Dagster's wrappers to the hook's own error, not to the OS error under it.
            while error is not None and error.cls_name.startswith("Dagster") and error.cause:
                error = error.cause
            if error is None:
                return "a hook failed (see the Dagster logs)"
            message = error.message.strip().splitlines()[0]
            return QUALIFIED_CLASS_PREFIX.sub("", message, count=1)
    return None


# The consoles of runs under way, by key: Dagster rebuilds the job from plain
# arguments (``cli_job``), so the console travels as its key.
_CONSOLES: dict[str, Console] = {}


def cli_job(
    config_path: str,
    warehouse_dir: str,
    job_name: str,
    console_key: str,
    as_of: str | None = None,
) -> JobDefinition:
    """The job a CLI run executes, built from arguments Dagster can record and replay.

    ``as_of``: the run clock pinned by ``fusion run --as-of`` (ISO 8601).
    """
    console = _CONSOLES.get(console_key) or Console(stderr=True, highlight=False)
    warehouse = Warehouse(Path(warehouse_dir))
    definitions = build_definitions(
        Path(config_path),
        warehouse.root,
        lock_held_by_caller=True,
        loggers={"fusion_progress": make_progress_logger(console)},
        as_of=as_of,
    )
    return definitions.resolve_job_def(job_name)


class DagsterHomeError(FusionError):
    """``DAGSTER_HOME`` is set but names no usable Dagster instance folder."""


@contextmanager
def run_instance() -> Iterator[DagsterInstance]:
    """The instance ``DAGSTER_HOME`` names (runs show in the UI), else a throwaway one."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        with DagsterInstance.ephemeral() as instance:
            yield instance
        return
    if not Path(home).is_dir():
        msg = f"DAGSTER_HOME={home} is not a folder (create it, or unset DAGSTER_HOME)"
        raise DagsterHomeError(msg)
    with DagsterInstance.get() as instance:
        yield instance


def run_in_process(job: ReconstructableJob, *, run_config: dict[str, Any]) -> JobExecutionResult:
    """Run ``job`` on Dagster's in-process executor; no step output outlives its readers.

    ``run_config`` needs no ``execution`` entry: the fusion jobs name the
    in-process executor themselves, and a job on Dagster's default executor is
    told to run in process here. The objects alive before the run (modules,
    definitions) are frozen, so that the collections each step starts with
    scan only what the run made. Great Expectations is not imported ahead to
    be frozen too: its 92 MiB would then sit under the match step's peak
    (whole run at 1M: 2,418 MiB against 2,347), for about 0.1 s saved per
    collection after the quality step.
    """
    if job.get_definition().executor_def.name != in_process_executor.name:
        run_config = {**run_config, "execution": {"config": {"in_process": {}}}}
    with collecting_new_objects_only(), run_instance() as instance:
        return execute_job(job, instance, run_config=run_config, raise_on_error=False)


def _execute(
    config_path: Path,
    warehouse: Warehouse,
    *,
    job_name: str,
    console: Console,
    allow_retire: bool = False,
    as_of: datetime | None = None,
) -> JobExecutionResult:
    """Run the CLI's job ``job_name``, its progress lines going to ``console``.

    ``allow_retire`` lets the run past the retirement guard (``pipelines.warehouse.retirement``).
    """
    console_key = uuid4().hex
    _CONSOLES[console_key] = console
    job = build_reconstructable_job(
        "pipelines.orchestration.runner",
        "cli_job",
        reconstructable_kwargs={
            "config_path": str(config_path),
            "warehouse_dir": str(warehouse.root),
            "job_name": job_name,
            "console_key": console_key,
            "as_of": None if as_of is None else as_of.isoformat(),
        },
    )
    try:
        run_config: dict[str, Any] = {"loggers": {"fusion_progress": {}}}
        if allow_retire:
            run_config["ops"] = {"unified_ids": {"config": {"allow_retire": True}}}
        result = run_in_process(job, run_config=run_config)
    finally:
        del _CONSOLES[console_key]
    warehouse.drop_scratch(result.run_id)
    return result


def run_pipeline(
    config_path: Path,
    warehouse_dir: Path,
    *,
    console: Console,
    mode: str = "incremental",
    allow_retire: bool = False,
    as_of: datetime | None = None,
) -> RunOutcome:
    """Materialise the whole graph in process and publish; raise on any failure.

    ``mode`` picks the job: ``incremental`` (the default, as the daily schedule)
    or ``full`` (the full rebuild job). ``allow_retire``: retire past the
    guard's shares (``run.max_retire_share``), on purpose. ``as_of`` pins
    the run clock (``pipelines.clock``), e.g. to repeat a published run.
    """
    config = load_fusion_config(config_path)
    warehouse = Warehouse(warehouse_dir.resolve())
    console.print(f"fusion: {len(config.sources)} sources from {config.path}")
    with warehouse.lock() as recovered:
        if recovered is not None:
            console.print(f"fusion: warning: {recovered}")
        started_at = stages.utc_now()
        result = _execute(
            config.path,
            warehouse,
            job_name=JOBS_BY_MODE[mode],
            console=console,
            allow_retire=allow_retire,
            as_of=as_of,
        )
        reason = None if result.success else first_failure_reason(result)
        if reason is not None and not lineage_written(result.run_id):
            # The run failed before any step could (a resource, the run config): the
            # jobs' hooks (``run_lineage``) wrote nothing.
            emit_run_lineage(
                warehouse.root / OPENLINEAGE_FILE,
                config=config,
                run_id=result.run_id,
                started_at=started_at,
                error=reason,
            )
        if reason is not None:
            stages.log_failed_run(
                warehouse,
                run_id=result.run_id,
                started_at=started_at,
                config_hash=config.config_hash,
                reason=reason,
            )
            raise RunFailedError(reason)
    hook_error = first_hook_error(result)
    if hook_error is not None:
        msg = f"run {result.run_id} published, but {hook_error}"
        raise RunFailedError(msg)
    # DuckDB counts and picks the example: the table never comes to Python.
    richest = warehouse.query(
        "SELECT count(*) OVER () AS customers, unified_id FROM golden_customer "
        "ORDER BY source_count DESC, unified_id LIMIT 1",
        frames={},
    )
    if richest is None:
        msg = f"warehouse {warehouse.root}: nothing was published"
        raise RunFailedError(msg)
    return RunOutcome(
        run_id=result.run_id,
        warehouse=warehouse,
        golden_rows=richest["customers"][0] if richest.height else 0,
        example_id=richest["unified_id"][0] if richest.height else "<unified_id>",
        warnings=oversized_cluster_warnings(warehouse),
    )


def oversized_cluster_warnings(warehouse: Warehouse) -> tuple[str, ...]:
    """One line per cluster the published release reports in ``oversized_clusters``.

    ``cluster of 50,000 records above matching.max_cluster_size 1,000: split into
    3 customers (largest 600 records, FU-00000007); 1 part still over the limit,
    published as it is: FU-00000007`` (see ``matching.cluster_limits``).
    """
    # DuckDB hands an empty result to Arrow as no batch at all: count first.
    counted = warehouse.query("SELECT count(*) AS parts FROM oversized_clusters", frames={})
    if counted is None or not counted["parts"][0]:
        return ()
    clusters = warehouse.query(
        "SELECT original_unified_id, any_value(original_record_count) AS size, "
        "any_value(max_cluster_size) AS cap, count(*) AS parts, max(record_count) AS largest, "
        "arg_max(unified_id, record_count) AS largest_id, "
        "list(unified_id ORDER BY unified_id) FILTER (outcome = 'kept_oversized') AS kept "
        "FROM oversized_clusters GROUP BY original_unified_id ORDER BY size DESC, 1",
        frames={},
    )
    if clusters is None:
        return ()
    lines = []
    for row in clusters.iter_rows(named=True):
        head = (
            f"cluster of {row['size']:,} records above matching.max_cluster_size {row['cap']:,}: "
        )
        if row["parts"] > 1:
            head += (
                f"split on its strong links into {row['parts']:,} customers (largest "
                f"{row['largest']:,} records, {row['largest_id']})"
            )
        else:
            head += f"its strong links hold it together ({row['largest_id']})"
        kept = row["kept"] or []
        if kept:
            head += (
                f"; {len(kept)} part(s) still over the limit, published as is: "
                f"{', '.join(kept[:3])}{' ...' if len(kept) > 3 else ''}"
            )
        lines.append(head + " (see oversized_clusters)")
    return tuple(lines)
