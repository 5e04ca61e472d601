"""A Dagster logger that prints one line per finished step on the terminal.

Dagster's console logger prints a dozen DEBUG lines per step; a data engineer
running ``fusion run`` by hand wants to see the stages go by and what failed.
"""

from __future__ import annotations

import logging
from typing import Any

from dagster import InitLoggerContext, logger
from rich.console import Console
from rich.markup import escape

from pipelines.orchestration.quality_checks import FAILURES_METADATA

SHOWN_EVENTS = {
    "STEP_SUCCESS": "[green]done[/]",
    "STEP_FAILURE": "[red]failed[/]",
    "ASSET_CHECK_EVALUATION": "[cyan]check[/]",
}


class _StepLineHandler(logging.Handler):
    def __init__(self, console: Console) -> None:
        super().__init__(level=logging.DEBUG)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
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
        self.console.print(f"  {label} {event.step_key}  [dim]{message}[/]")


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
