"""Step outputs of a CLI run: in the run's scratch folder, read back by the steps that need them."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import polars as pl
import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    JobDefinition,
    asset,
    build_reconstructable_job,
    define_asset_job,
    execute_job,
    in_process_executor,
)
from polars.testing import assert_frame_equal

from pipelines.orchestration import step_outputs
from pipelines.orchestration.runner import run_in_process
from pipelines.orchestration.step_outputs import ScratchIOManager, scratch_io_manager
from pipelines.warehouse import SCRATCH_DIR, Warehouse
from tests.pipelines.conftest import run_samples

ROWS = pl.DataFrame({"id": [3, 1, 2], "name": ["c", "a", None]})
# What the downstream step saw: is the object upstream returned still alive, and its rows.
SEEN: dict[str, object] = {}
MADE: list[weakref.ref[Batch]] = []
# Alive before any run, as the modules and definitions are; tracked by the collector.
LONG_LIVED = [["made at import"]]


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
    SEEN["collections_scan_the_long_lived"] = any(o is LONG_LIVED for o in gc.get_objects())
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
    assert sorted(p.name for p in outputs.iterdir()) == [
        "downstream.pickle", "upstream.frames", "upstream.pickle",
    ]  # fmt: skip
    # The frame inside the output waits in an Arrow file of its own, not in the pickle.
    [frame_file] = (outputs / "upstream.frames").iterdir()
    assert_frame_equal(pl.read_ipc(frame_file), ROWS)


def test_steps_run_with_the_objects_alive_before_the_run_frozen(tmp_path: Path) -> None:
    """Collections in a step skip what was alive before the run; nothing stays frozen after."""
    assert gc.is_tracked(LONG_LIVED)
    job = build_reconstructable_job(
        __name__, "two_step_job", reconstructable_kwargs={"warehouse_dir": str(tmp_path)}
    )

    result = run_in_process(job, run_config={})

    assert result.success
    assert SEEN["collections_scan_the_long_lived"] is False
    assert SEEN["upstream_alive"] is False  # what the run made is still collected
    assert gc.get_freeze_count() == 0
    assert any(o is LONG_LIVED for o in gc.get_objects())


def scheduled_two_step_job(warehouse_dir: str) -> JobDefinition:
    """The two steps as the code location defines its jobs: no runner around them."""
    return Definitions(
        assets=[upstream, downstream],
        jobs=[define_asset_job("two_steps", AssetSelection.all())],
        resources={"io_manager": scratch_io_manager(Warehouse(Path(warehouse_dir)))},
        executor=in_process_executor,
    ).resolve_job_def("two_steps")


def test_a_run_without_the_cli_freezes_what_was_alive_and_leaves_no_scratch(
    tmp_path: Path,
) -> None:
    """What ``dagster job execute`` or the daemon runs gets what ``run_in_process`` gives."""
    warehouse = Warehouse(tmp_path / "warehouse")
    job = build_reconstructable_job(
        __name__,
        "scheduled_two_step_job",
        reconstructable_kwargs={"warehouse_dir": str(warehouse.root)},
    )
    SEEN.clear()

    with DagsterInstance.ephemeral() as instance:
        result = execute_job(job, instance)

    assert result.success
    assert SEEN["collections_scan_the_long_lived"] is False
    assert SEEN["upstream_alive"] is False
    assert_frame_equal(SEEN["rows"], ROWS)  # read back from the scratch folder
    assert gc.get_freeze_count() == 0
    assert not warehouse.step_outputs(result.run_id).exists()


@asset
def failing() -> int:
    msg = "the step fails"
    raise RuntimeError(msg)


def failing_job(warehouse_dir: str) -> JobDefinition:
    return Definitions(
        assets=[failing],
        jobs=[define_asset_job("fails", AssetSelection.all())],
        resources={"io_manager": ScratchIOManager(Warehouse(Path(warehouse_dir)))},
    ).resolve_job_def("fails")


def test_a_failed_run_leaves_nothing_frozen(tmp_path: Path) -> None:
    job = build_reconstructable_job(
        __name__, "failing_job", reconstructable_kwargs={"warehouse_dir": str(tmp_path)}
    )

    result = run_in_process(job, run_config={})

    assert not result.success
    assert gc.get_freeze_count() == 0


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


class Frames:
    """An output holding the same frame twice, a frame in a container, and other objects."""

    def __init__(self, rows: pl.DataFrame) -> None:
        self.first = rows
        self.again = rows
        self.nested = {"typed": _typed_rows(), "count": 3}


def _typed_rows() -> pl.DataFrame:
    """Coded text, zoned time, a sparse list column: types a step output carries."""
    return pl.DataFrame(
        {
            "decision": pl.Series(["match", None, "review"], dtype=pl.Enum(["match", "review"])),
            "rule": pl.Series(["a", "b", "a"], dtype=pl.Categorical),
            "at": pl.Series([0, 1, None]).cast(pl.Datetime("us", "UTC")),
            "ids": [[1, 2], [], None],
        }
    )


def test_frames_in_an_output_read_back_equal_and_shared_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "out.frames"
    path = tmp_path / "out.pickle"
    with path.open("wb") as file:
        step_outputs._FramesToFiles(file, folder).dump(Frames(ROWS))
    with path.open("rb") as file:
        loaded = step_outputs._FramesFromFiles(file, folder).load()

    assert len(list(folder.iterdir())) == 2  # the frame held twice is written once
    assert loaded.first is loaded.again
    assert_frame_equal(loaded.first, ROWS)
    assert_frame_equal(loaded.nested["typed"], _typed_rows())
    assert loaded.nested["count"] == 3
