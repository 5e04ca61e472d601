"""An incremental run never holds the release's large tables whole in their published form.

At 1M records the daily run peaked at 10.7 GiB against a full rebuild's 2.5 GiB
(BENCHMARKS.md, issue 30): the stored pairs came back as text, were copied
whole three times, and the carried field candidates were loaded into memory.
These tests pin the bounded forms: the stored pairs load with categorical
labels, the carried scores are gathered once into the result, and the merged
candidates go to the scratch folder part by part.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rich.console import Console

from lineage import GoldenRecord
from matching.incremental import _carried_and_rescored
from pipelines.incremental import Baseline, IncrementalGolden, combine_golden
from pipelines.orchestration.runner import run_pipeline
from pipelines.settings import load_fusion_config
from pipelines.warehouse import Warehouse
from pipelines.warehouse.spill import SpilledTable, SpillFolder
from tests.pipelines.conftest import SAMPLES


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config, warehouse) after a first run of the samples."""
    root = tmp_path_factory.mktemp("released")
    samples = root / "samples"
    shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    run_pipeline(samples / "fusion.yaml", root / "wh", console=Console(quiet=True))
    return samples / "fusion.yaml", root / "wh"


def _baseline(released: tuple[Path, Path]) -> Baseline:
    config, warehouse = released
    return Baseline.read(
        Warehouse(warehouse), config=load_fusion_config(config), mode="incremental"
    )


def test_the_stored_pairs_load_with_their_labels_categorical(
    released: tuple[Path, Path],
) -> None:
    index = _baseline(released).load_index()
    assert index is not None
    pairs = index.scored_pairs
    assert pairs.height > 0
    text = [c for c, t in pairs.schema.items() if t == pl.String]
    assert text == []  # 6.5M pairs' labels as text were 1.5 GiB at 1M records
    assert pairs.schema["decision"] == pl.Categorical()
    assert pairs.schema["left"] == pairs.schema["right"] == pl.UInt32
    levels = [c for c in pairs.columns if c.endswith("_level")]
    assert levels
    assert set(pairs["decision"].cast(pl.String).unique()) <= {"match", "review", "non_match"}


def test_carried_scores_and_rescored_pairs_merge_as_one_sorted_frame() -> None:
    """Gathered column by column, the result is the concatenation sorted by (left, right)."""
    rng = np.random.default_rng(3)
    level = pl.Enum(["no", "yes", "implied_by_blocking", "missing"])
    n = 50
    stored = pl.DataFrame(
        {
            "left": rng.integers(0, 1_000, n),
            "right": rng.integers(1_000, 2_000, n),
            "name_level": rng.choice(["no", "yes", "missing"], n),
            "name_weight": rng.normal(size=n).astype(np.float32),
            "match_weight": rng.normal(size=n),
        },
        schema_overrides={"left": pl.UInt32, "right": pl.UInt32},
    ).with_columns(pl.col("name_level").cast(pl.Categorical))
    rows = np.sort(rng.choice(n, 30, replace=False))
    # This run's numbering of the carried pairs: unique (left, right), apart from the rescored.
    carried = pl.DataFrame(
        {"left": np.arange(30) * 3, "right": np.arange(30) * 3 + 1, "row": rows},
        schema={"left": pl.UInt32, "right": pl.UInt32, "row": pl.Int64},
    )
    rescored = pl.DataFrame(
        {
            "left": [4, 0, 90],
            "right": [5, 2, 91],
            "name_level": ["yes", "no", "missing"],
            "name_weight": [1.0, -1.0, 0.0],
            "match_weight": [2.0, -2.0, 0.5],
        },
        schema={
            "left": pl.UInt32,
            "right": pl.UInt32,
            "name_level": level,
            "name_weight": pl.Float32,
            "match_weight": pl.Float64,
        },
    )
    merged = _carried_and_rescored(stored, carried, rescored)
    expected = pl.concat(
        [
            stored[rows]
            .with_columns(carried["left"], carried["right"])
            .select(rescored.columns)
            .cast(rescored.schema),  # type: ignore[arg-type]
            rescored,
        ]
    ).sort("left", "right")
    assert merged.schema == rescored.schema
    assert merged.equals(expected)


def test_carried_candidates_are_merged_into_the_scratch_folder_in_release_order(
    released: tuple[Path, Path], tmp_path: Path
) -> None:
    """Carried customers' rows plus recomputed ones: the release's table again, spilled."""
    _, warehouse = released
    baseline = _baseline(released)
    previous = baseline.golden
    assert previous is not None
    store = Warehouse(warehouse)
    ids = previous.unified_ids.sort()
    recomputed = ids.gather_every(7)  # as if these customers' records changed
    carried = ids.filter(~ids.is_in(recomputed.implode()))
    wanted = recomputed.to_frame("unified_id")
    fresh = GoldenRecord(
        golden_customer=store.read_rows("golden_customer", release=previous.release, keys=wanted),
        field_candidates=store.read_rows(
            "field_candidates", release=previous.release, keys=wanted
        ).sample(fraction=1.0, shuffle=True, seed=5),  # the merge sorts them
    )
    golden = combine_golden(previous, carried, fresh, spill=SpillFolder(tmp_path / "spill"))
    assert isinstance(golden, IncrementalGolden)
    assert isinstance(golden.field_candidates, SpilledTable)  # not a frame held by the run
    published = store.read_table("field_candidates")
    assert published is not None
    merged = golden.field_candidates.rows().select(published.columns)
    assert merged.equals(published.cast(merged.schema))  # type: ignore[arg-type]
    customers = store.read_table("golden_customer")
    assert customers is not None
    assert golden.golden_customer.select(customers.columns).equals(customers)
