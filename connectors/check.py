"""Check a config against its exports before a run: the first rows as mapped, and what fails.

``fusion run`` finds a wrong column name or an unmapped code only after
seconds of start-up and a whole run. :func:`check_config` validates the
``sources:`` of a config file and loads each source through the same code a
run uses (``connectors.load.load_source``), then reports the first rows as
mapped, the rows that would be quarantined and the values that would be
dropped, with their reasons. It imports neither Dagster nor the matching or
pipeline modules, so it answers in about a second on the samples.

Example:
    >>> report = check_config(Path("data/samples/fusion.yaml"), rows=3)  # doctest: +SKIP
    >>> [(s.name, s.rows_in, s.quarantined) for s in report.sources]  # doctest: +SKIP
    [('crm', 1803, 25), ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.canonical import FIELD_NAMES
from connectors.config import SourceConfig
from connectors.config_yaml import read_config_yaml
from connectors.errors import ConfigError, FusionError
from connectors.load import load_source
from connectors.split import parse_split_sources

DEFAULT_ROWS = 5


@dataclass(frozen=True)
class SourceCheck:
    """One source checked against its files.

    Attributes:
        name: The source's name.
        files: The files read.
        rows_in: Data rows read.
        records: The first rows as mapped: record ID and the fields (and
            attributes) the source fills, as text.
        quarantined: How many rows would be quarantined.
        quarantine: The first of them: row number, record ID, reason.
        rejected: How many values would be dropped from kept records.
        rejections: The first of them: record ID, column, value, reason.
        error: Why the source could not be loaded at all (then nothing else is set).
    """

    name: str
    files: tuple[str, ...] = ()
    rows_in: int = 0
    records: pl.DataFrame | None = None
    quarantined: int = 0
    quarantine: pl.DataFrame | None = None
    rejected: int = 0
    rejections: pl.DataFrame | None = None
    error: str | None = None


@dataclass(frozen=True)
class ConfigCheck:
    """A config file checked: its sources, each against its files."""

    path: Path
    sources: tuple[SourceCheck, ...]

    @property
    def ok(self) -> bool:
        """Whether every source loaded (quarantined rows are reported, not failures)."""
        return all(s.error is None for s in self.sources)


def check_config(path: Path, *, rows: int = DEFAULT_ROWS) -> ConfigCheck:
    """Validate a config's sources and load each one, keeping the first ``rows`` of each list.

    Raises:
        ConfigError: the file or its ``sources:`` are invalid (one line naming the
            source and key, as ``fusion run`` would say).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    document = read_config_yaml(path)
    if not isinstance(document, Mapping) or not document.get("sources"):
        raise ConfigError(f"{path}: key 'sources' must list at least one source")
    run = document.get("run") if isinstance(document.get("run"), Mapping) else {}
    roots = [(path.parent / r).resolve() for r in (run or {}).get("data_roots", []) or []]
    sources = parse_split_sources(document["sources"], base_dir=path.parent, data_roots=roots)
    return ConfigCheck(path, tuple(check_source(s, rows=rows) for s in sources))


def check_source(source: SourceConfig, *, rows: int = DEFAULT_ROWS) -> SourceCheck:
    """Load one source and keep the first ``rows`` records, quarantined rows and rejections."""
    try:
        batch = load_source(source)
    except FusionError as error:
        return SourceCheck(source.name, error=str(error))
    filled = [f for f in FIELD_NAMES if f in source.fields]
    records = batch.records.head(rows).select(
        "source_record_id", *filled, *source.attribute_columns
    )
    quarantine = batch.quarantine.head(rows).select("row_number", "source_record_id", "reason")
    rejections = batch.value_rejections.head(rows).select(
        "source_record_id", "source_column", "value", "reason"
    )
    return SourceCheck(
        name=source.name,
        files=batch.files,
        rows_in=batch.rows_in,
        records=records,
        quarantined=batch.quarantine.height,
        quarantine=quarantine,
        rejected=batch.value_rejections.height,
        rejections=rejections,
    )
