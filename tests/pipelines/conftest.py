"""Runs of the whole pipeline on the bundled samples, shared by the pipeline tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from pipelines.orchestration.runner import RunOutcome, run_pipeline

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
SAMPLE_CONFIG = SAMPLES / "fusion.yaml"
TRUTH = SAMPLES / "truth"


def run_samples(warehouse: Path, config: Path = SAMPLE_CONFIG) -> RunOutcome:
    """One in-process run of the Dagster graph, quiet."""
    return run_pipeline(config, warehouse, console=Console(quiet=True))


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse published once from the samples."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    run_samples(warehouse)
    return warehouse


@pytest.fixture
def samples_copy(tmp_path: Path) -> Iterator[Path]:
    """A private copy of data/samples (without the truth) that a test may break."""
    target = tmp_path / "samples"
    shutil.copytree(SAMPLES, target, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    return target
