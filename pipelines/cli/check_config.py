"""``fusion check-config``: a config checked against the first rows of its exports, fast."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.errors import FusionError
from pipelines.cli.app import fail


@click.command("check-config")
@click.argument("config_path", type=click.Path(path_type=Path))
@click.option("--rows", default=5, show_default=True, type=click.IntRange(min=0),
              help="Rows shown per source: records, quarantined rows, dropped values.")  # fmt: skip
def check_config(config_path: Path, rows: int) -> None:
    """Validate CONFIG and show, per source, the first rows as mapped and what would fail.

    Reads every source the way `fusion run` does (no warehouse is touched) and
    exits non-zero when the config is invalid or a source cannot be read.
    """
    import polars as pl

    from connectors.check import check_config as check

    try:
        report = check(config_path, rows=rows)
    except FusionError as error:
        fail("check-config", error)
    with pl.Config(tbl_rows=rows, tbl_cols=-1, fmt_str_lengths=40, tbl_width_chars=160,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):  # fmt: skip
        for source in report.sources:
            if source.error is not None:
                click.echo(f"source {source.name!r}: ERROR {source.error}\n")
                continue
            click.echo(
                f"source {source.name!r}: {source.rows_in} rows in {', '.join(source.files)}; "
                f"{source.quarantined} quarantined, {source.rejected} values dropped"
            )
            for title, frame in (
                ("mapped", source.records),
                ("quarantined", source.quarantine),
                ("values dropped", source.rejections),
            ):
                if frame is not None and frame.height:
                    click.echo(f"{title}:\n{frame}")
            click.echo("")
    if not report.ok:
        fail("check-config", "a source could not be read (see above)")
    click.echo(f"{config_path}: OK ({len(report.sources)} sources)")
