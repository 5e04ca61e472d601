"""A Dagster logger that prints one line per finished step on the terminal.

Dagster's console logger prints a dozen DEBUG lines per step; a data engineer
running ``fusion run`` by hand wants to see the stages go by and what failed.
"""

from __future__ import annotations

import logging

from dagster import InitLoggerContext, logger
from rich.console import Console

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
            verdict = "passed" if data.passed else failed
            self.console.print(f"  {label} {data.asset_check_key.name}: {verdict}")
            return
        if event.event_type_value == "STEP_FAILURE":
            self.console.print(f"  {label} {event.step_key}")
            return
        message = record.getMessage().split(" - ")[-1].splitlines()[0]
        self.console.print(f"  {label} {event.step_key}  [dim]{message}[/]")


def make_progress_logger(console: Console):  # type: ignore[no-untyped-def]
    """A Dagster logger definition writing concise step lines to ``console``."""

    @logger(None, description="One line per finished step, for the fusion CLI.")
    def fusion_progress(_: InitLoggerContext) -> logging.Logger:
        log = logging.Logger("fusion_progress", level=logging.DEBUG)
        log.addHandler(_StepLineHandler(console))
        return log

    return fusion_progress
