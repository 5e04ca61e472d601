"""The ``fusion`` command group and what every subcommand shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

warehouse_option = click.option(
    "--warehouse", "warehouse_dir", type=click.Path(path_type=Path), required=True
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """fusion: many customer exports in, one golden record per customer out."""


def fail(command: str, error: object, *, code: int = 1) -> NoReturn:
    """Print the one-line failure of ``fusion COMMAND`` to stderr and exit non-zero."""
    click.echo(f"fusion {command} failed: {error}", err=True)
    sys.exit(code)
