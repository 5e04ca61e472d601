"""Shared fixtures: build a source config and its export file in tmp_path."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors.config import SourceConfig, parse_sources
from connectors.load import SourceBatch, load_source

MakeSource = Callable[..., SourceConfig]
LoadRows = Callable[..., SourceBatch]
WriteCsv = Callable[..., Path]


def base_entry() -> dict[str, Any]:
    """A minimal valid source entry; tests override what they exercise."""
    return {
        "name": "crm",
        "system": "crm",
        "path": "export.csv",
        "format": "csv",
        "record_id": "id",
        "fields": {"name": "name"},
        "trust": {"default": 0.8},
    }


@pytest.fixture
def make_source(tmp_path: Path) -> MakeSource:
    """``make_source(**overrides)``: a validated SourceConfig rooted at tmp_path."""

    def make(**overrides: Any) -> SourceConfig:
        return parse_sources([{**base_entry(), **overrides}], base_dir=tmp_path)[0]

    return make


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """``write_csv(rows, name=..., encoding=..., delimiter=...)`` via the csv module."""

    def write(
        rows: Sequence[Sequence[str]],
        *,
        name: str = "export.csv",
        encoding: str = "utf-8",
        delimiter: str = ",",
    ) -> Path:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=delimiter).writerows(rows)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return write


@pytest.fixture
def load_rows(make_source: MakeSource, write_csv: WriteCsv) -> LoadRows:
    """``load_rows(rows, **config_overrides)``: write rows as export.csv and load them."""

    def run(rows: list[list[str]], **overrides: Any) -> SourceBatch:
        write_csv(rows)
        return load_source(make_source(**overrides))

    return run
