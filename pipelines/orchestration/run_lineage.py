"""OpenLineage events written from inside a run, whoever started it.

``fusion run`` used to write the events itself once the job had finished, so a
run the schedule, the sensor or ``dagster job execute`` started wrote none. The
jobs carry these hooks instead (``graph.build_definitions``), so every run of
them appends START and COMPLETE to ``WAREHOUSE/openlineage.jsonl`` when the
publish step succeeds, or START and FAIL, with the failing step's reason, when a
step fails first. One run ends with one terminal event: the jobs run on the
in-process executor, so the hooks of one run share this module's memory, and a
later failure (a check after the publish) adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import HookContext, HookDefinition, failure_hook, success_hook

from lineage.openlineage import OPENLINEAGE_FILE, emit_run_lineage
from pipelines import stages
from pipelines.orchestration.resources import FusionResource

PUBLISH_STEP = "published_warehouse"

# Runs of this process whose terminal event is written.
_ENDED: set[str] = set()


def lineage_written(run_id: str) -> bool:
    """Whether a hook of this process wrote run ``run_id``'s events."""
    return run_id in _ENDED


def emit_for_run(
    fusion: FusionResource, *, run_id: str, started_at: datetime, error: str | None
) -> None:
    """Append the run's START and COMPLETE (or FAIL with ``error``) events, once per run."""
    if run_id in _ENDED:
        return
    _ENDED.add(run_id)
    warehouse = fusion.warehouse()
    emit_run_lineage(
        warehouse.root / OPENLINEAGE_FILE,
        config=fusion.config(),
        run_id=run_id,
        started_at=started_at,
        error=error,
        database=warehouse.database,
    )


def failure_reason(error: BaseException | None) -> str:
    """One line: the innermost cause's message (what ``fusion run`` prints)."""
    while error is not None and error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else "the run failed (see the Dagster logs)"


def _started_at(context: HookContext) -> datetime:
    record = context.instance.get_run_record_by_id(context.run_id)
    if record is not None and record.start_time is not None:
        return datetime.fromtimestamp(record.start_time, tz=UTC)
    return stages.utc_now()


@success_hook(required_resource_keys={"fusion"})
def openlineage_on_publish(context: HookContext) -> None:
    """START and COMPLETE, the outputs read from the release just published."""
    if context.op.name != PUBLISH_STEP:
        return
    emit_for_run(
        context.resources.fusion,
        run_id=context.run_id,
        started_at=_started_at(context),
        error=None,
    )


@failure_hook(required_resource_keys={"fusion"})
def openlineage_on_failure(context: HookContext) -> None:
    """START and FAIL with the first failed step's reason."""
    emit_for_run(
        context.resources.fusion,
        run_id=context.run_id,
        started_at=_started_at(context),
        error=failure_reason(context.op_exception),
    )


RUN_LINEAGE_HOOKS: frozenset[HookDefinition] = frozenset(
    {openlineage_on_publish, openlineage_on_failure}
)
