"""Step outputs of a CLI run: in the run's scratch folder, read back by the steps that need them."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import polars as pl
import pytest
from dagster import (
    AssetSelection,
    Definitions,
    JobDefinition,
    asset,
    build_reconstructable_job,
    define_asset_job,
)
from polars.testing import assert_frame_equal

from pipelines import step_outputs
from pipelines.runner import run_in_process
from pipelines.step_outputs import ScratchIOManager
from pipelines.warehouse import SCRATCH_DIR, Warehouse
from tests.pipelines.conftest import run_samples

ROWS = pl.DataFrame({"id": [3, 1, 2], "name": ["c", "a", None]})
# What the downstream step saw: is the object upstream returned still alive, and its rows.
SEEN: dict[str, object] = {}
MADE: list[weakref.ref[Batch]] = []


class Batch:
    """A stand-in for a large step output; weakly referenceable, so a test sees it go."""

    def __init__(self, rows: pl.DataFrame) -> None:
        self.rows = rows


@asset
def upstream() -> Batch:
    batch = Batch(ROWS.clone())
    MADE.append(weakref.ref(batch))
    return batch


@asset
def downstream(upstream: Batch) -> int:
    gc.collect()
    SEEN["upstream_alive"] = MADE[-1]() is not None
    SEEN["rows"] = upstream.rows
    return upstream.rows.height


def two_step_job(warehouse_dir: str) -> JobDefinition:
    """Rebuilt by Dagster from the warehouse folder, as the CLI's job is."""
    return Definitions(
        assets=[upstream, downstream],
        jobs=[define_asset_job("two_steps", AssetSelection.all())],
        resources={"io_manager": ScratchIOManager(Warehouse(Path(warehouse_dir)))},
    ).resolve_job_def("two_steps")


def test_outputs_wait_on_disk_and_no_step_keeps_them(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    job = build_reconstructable_job(
        __name__, "two_step_job", reconstructable_kwargs={"warehouse_dir": str(warehouse.root)}
    )

    result = run_in_process(job, run_config={})

    assert result.success
    # The object upstream returned is gone: the downstream step read a copy from disk.
    assert SEEN["upstream_alive"] is False
    assert_frame_equal(SEEN["rows"], ROWS)
    outputs = warehouse.step_outputs(result.run_id)
    assert sorted(p.name for p in outputs.iterdir()) == ["downstream.pickle", "upstream.pickle"]


def test_a_cli_run_leaves_no_scratch_behind(tmp_path: Path) -> None:
    outcome = run_samples(tmp_path / "warehouse")

    assert outcome.golden_rows > 0
    assert list((tmp_path / "warehouse" / SCRATCH_DIR).iterdir()) == []


@asset
def other_upstream() -> int:
    return 2


@asset
def two_inputs(upstream: Batch, other_upstream: int) -> int:
    return upstream.rows.height * other_upstream


def three_step_job(warehouse_dir: str) -> JobDefinition:
    return Definitions(
        assets=[upstream, other_upstream, two_inputs],
        jobs=[define_asset_job("three_steps", AssetSelection.all())],
        resources={"io_manager": ScratchIOManager(Warehouse(Path(warehouse_dir)))},
    ).resolve_job_def("three_steps")


def test_free_memory_is_handed_back_once_per_reading_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before a step loads its inputs, not before each input: one step reads two here."""
    calls: list[int] = []
    monkeypatch.setattr(step_outputs, "release_free_memory", lambda: calls.append(1))
    job = build_reconstructable_job(
        __name__, "three_step_job", reconstructable_kwargs={"warehouse_dir": str(tmp_path)}
    )

    result = run_in_process(job, run_config={})

    assert result.success
    assert len(calls) == 1
