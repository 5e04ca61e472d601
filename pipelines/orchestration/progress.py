"""A Dagster logger that prints one line per finished step, and on a terminal what is running.

Dagster's console logger prints a dozen DEBUG lines per step; a data engineer
running ``fusion run`` by hand wants to see the stages go by, what they counted
and what failed. Each finished step is one line (its duration, then the counts
its asset reported: records, quarantined rows, golden rows...). On a terminal,
the steps running now are shown below those lines with a spinner and their
elapsed time (rich's live progress, cleared when the run ends); redirected to a
file or a pipe, only the whole, unwrapped lines are written.
"""

from __future__ import annotations

import logging
from numbers import Integral
from typing import Any

from dagster import InitLoggerContext, logger
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from pipelines.orchestration.quality_checks import FAILURES_METADATA

SHOWN_EVENTS = {
    "STEP_SUCCESS": "[green]done[/]",
    "STEP_FAILURE": "[red]failed[/]",
    "ASSET_CHECK_EVALUATION": "[cyan]check[/]",
}


RUN_ENDS = frozenset({"RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED", "PIPELINE_SUCCESS"})
# Counts shown after a step's line, at most this many (the first its asset reported).
COUNTS_SHOWN = 4


class _StepLineHandler(logging.Handler):
    def __init__(self, console: Console) -> None:
        super().__init__(level=logging.DEBUG)
        self.console = console
        self.live: Progress | None = None
        self.running: dict[str, TaskID] = {}
        self.counts: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self._started(event.step_key)
            return
        if kind == "ASSET_MATERIALIZATION" and event.step_key:
            self._count(event.step_key, event.event_specific_data.materialization.metadata)
            return
        if kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            self._finished(event.step_key)
        if kind in RUN_ENDS:
            self.stop()
            return
        label = SHOWN_EVENTS.get(event.event_type_value)
        if label is None:
            return
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            severity = getattr(getattr(data, "severity", None), "value", "ERROR")
            failed = "[yellow]warning[/]" if severity == "WARN" else "[red]FAILED[/]"
            verdict = "passed" if data.passed else f"{failed}{_failures(data)}"
            self.console.print(f"  {label} {data.asset_check_key.name}: {verdict}")
            return
        if event.event_type_value == "STEP_FAILURE":
            self.console.print(f"  {label} {event.step_key}")
            return
        message = record.getMessage().split(" - ")[-1].splitlines()[0]
        counts = self.counts.pop(event.step_key, "")
        self.console.print(f"  {label} {event.step_key}  [dim]{message}{counts}[/]")

    def _started(self, step: str) -> None:
        """On a terminal, a spinner and elapsed time for the step until it ends."""
        if not self.console.is_terminal:
            return
        if self.live is None:
            self.live = Progress(
                SpinnerColumn(),
                TextColumn("[cyan]{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.live.start()
        self.running[step] = self.live.add_task(step, total=None)

    def _finished(self, step: str) -> None:
        task = self.running.pop(step, None)
        if task is not None and self.live is not None:
            self.live.remove_task(task)

    def _count(self, step: str, metadata: Any) -> None:
        """Remember the whole-number metadata of the step's asset: `` · records 6,562, ...``."""
        shown = [
            f"{name.replace('_', ' ')} {getattr(value, 'value', value):,}"
            for name, value in (metadata or {}).items()
            if isinstance(getattr(value, "value", None), Integral)
            and not isinstance(value.value, bool)
        ][:COUNTS_SHOWN]
        if shown:
            self.counts[step] = " · " + ", ".join(shown)

    def stop(self) -> None:
        """End the live display (the run ended): the finished lines stay, the spinners go."""
        if self.live is not None:
            self.live.stop()
            self.live = None
            self.running.clear()


def _failures(evaluation: Any) -> str:
    """``: expect_column_values_to_match_regex(phone): 2,214 unexpected``, or nothing.

    The quality suites list their failed expectations in the metadata (without the
    example values, which may be PII); another failed check shows its description.
    """
    listed = (evaluation.metadata or {}).get(FAILURES_METADATA)
    detail = getattr(listed, "value", None) if listed is not None else evaluation.description
    return f": {escape(detail)}" if detail else ""


def make_progress_logger(console: Console):  # type: ignore[no-untyped-def]
    """A Dagster logger definition writing concise step lines to ``console``."""

    @logger(None, description="One line per finished step, for the fusion CLI.")
    def fusion_progress(_: InitLoggerContext) -> logging.Logger:
        log = logging.Logger("fusion_progress", level=logging.DEBUG)
        log.addHandler(_StepLineHandler(console))
        return log

    return fusion_progress
