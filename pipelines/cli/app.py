"""The ``fusion`` command group and what every subcommand shares."""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

# Off a terminal rich falls back to 80 columns: messages broke mid-sentence and
# ``fusion lineage ... > file`` squeezed the evidence columns to 3 characters.
# There, lines are as long as their content (tables keep their natural width).
UNWRAPPED_WIDTH = 100_000

warehouse_option = click.option(
    "--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True
)


def package_version() -> str:
    """The installed version of the ``fusion`` distribution (``unknown`` when not installed)."""
    try:
        return version("fusion")
    except PackageNotFoundError:
        return "unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_version(), "--version", prog_name="fusion",
                      message="%(prog)s %(version)s")  # fmt: skip
def main() -> None:
    """fusion: many customer exports in, one golden record per customer out."""


def output_console(*, stderr: bool = False, highlight: bool = True) -> Console:
    """The rich Console a command prints through, built when the command runs.

    On a terminal it wraps at the terminal's width; off one (a pipe, a file, a CI
    log) it never wraps a message and lets tables take their natural width, unless
    ``COLUMNS`` asks for a width.

    Example:
        >>> output_console().width >= 80
        True
    """
    console = Console(stderr=stderr, highlight=highlight)
    if console.is_terminal or console.is_jupyter or _columns_set():
        return console
    return Console(stderr=stderr, highlight=highlight, width=UNWRAPPED_WIDTH, soft_wrap=True)


def _columns_set() -> bool:
    return os.environ.get("COLUMNS", "").strip().isdigit()


def fail(command: str, error: object, *, code: int = 1) -> NoReturn:
    """Print the one-line failure of ``fusion COMMAND`` to stderr and exit non-zero."""
    click.echo(f"fusion {command} failed: {error}", err=True)
    sys.exit(code)
