"""Standardisation with worker processes: same output as the serial loop, work really shipped."""

from __future__ import annotations

import os

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors import load_source
from matching import standardise
from matching.standardise import batch
from matching.standardise.batch import map_distinct, map_distinct_pairs, worker_pool
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG


def tag_with_pid(value: str) -> str:
    """Module level, so worker processes can import it."""
    return f"{value}@{os.getpid()}"


def join_with_pid(left: str, right: str | None) -> str:
    return f"{left}/{right}@{os.getpid()}"


@pytest.fixture
def ship_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send even a handful of distinct values to the workers."""
    monkeypatch.setattr(batch, "PARALLEL_MIN_VALUES", 1)


@pytest.mark.usefixtures("ship_everything")
def test_values_are_mapped_by_other_processes_and_broadcast_back() -> None:
    frame = pl.DataFrame(
        {"a": ["x", "y", "x", None, "z", "上海"], "b": ["CN", None, "CN", "US", "US", "CN"]}
    )
    with worker_pool(2):
        out = frame.select(
            map_distinct(pl.col("a"), tag_with_pid).alias("one"),
            map_distinct_pairs(pl.col("a"), pl.col("b"), join_with_pid, return_dtype=pl.String())
            .alias("two"),
        )  # fmt: skip
    one, two = out["one"].to_list(), out["two"].to_list()
    assert [v.split("@")[0] if v else v for v in one] == ["x", "y", "x", None, "z", "上海"]
    assert [v.split("@")[0] if v else v for v in two] == [
        "x/CN", "y/None", "x/CN", None, "z/US", "上海/CN"
    ]  # fmt: skip
    assert one[0] == one[2]  # one distinct value, mapped once
    pids = {int(v.split("@")[1]) for v in [*one, *two] if v}
    assert os.getpid() not in pids


def test_outside_a_pool_values_are_mapped_in_this_process() -> None:
    out = pl.DataFrame({"a": ["x", "y"]}).select(map_distinct(pl.col("a"), tag_with_pid))
    assert {v.split("@")[1] for v in out["a"]} == {str(os.getpid())}


@pytest.mark.usefixtures("ship_everything")
def test_standardising_the_samples_with_workers_equals_the_serial_run() -> None:
    config = load_fusion_config(SAMPLE_CONFIG)
    records = pl.concat([load_source(s).records for s in config.sources], how="vertical")
    regions = config.default_regions
    serial = standardise(records, default_regions=regions, workers=1)
    parallel = standardise(records, default_regions=regions, workers=2, chunk_rows=1_000)
    assert_frame_equal(parallel, serial)
