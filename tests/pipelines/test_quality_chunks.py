"""A large table validated in row chunks: GX's results of one validation of the whole."""

from __future__ import annotations

import gc
import json
import weakref
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from pipelines.memory import collecting_new_objects_only
from pipelines.quality import chunks, golden_suites, validate
from pipelines.quality.chunks import ChunkPlan, chunk_plan
from pipelines.quality.suites import Expect, Suite
from pipelines.settings import FusionConfig, load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG
from tests.pipelines.test_quality import _one_validation_of_the_whole_frame, _without_ids

ROWS = 2_400


@pytest.fixture(scope="module")
def config() -> FusionConfig:
    return load_fusion_config(SAMPLE_CONFIG)


def lineage_with_failures(seed: int = 7) -> pl.DataFrame:
    """Lineage rows with failures of every expectation of its suite, scattered over the rows.

    Out-of-vocabulary fields, nulls and out-of-range trust come by the dozen
    (more than the 10 failing values GX lists); repeated (unified_id, field)
    pairs come four times, so their list is whole.
    """
    rng = np.random.default_rng(seed)
    fields = np.array(["name", "email", "phone", "tier"])
    frame = pl.DataFrame(
        {
            "unified_id": [f"FU-{i // 4:05d}" for i in range(ROWS)],
            "field": fields[np.arange(ROWS) % 4],
            "source_system": rng.choice(["crm", "erp", "web"], ROWS),
            "source_record_id": [f"R{i}" for i in rng.integers(0, 900, ROWS)],
            "source_column": rng.choice(["name", "mail", "tel"], ROWS),
            "trust_score": rng.uniform(0, 1, ROWS).round(3),
        }
    )

    def some(share: float) -> pl.Expr:
        return pl.lit(rng.uniform(0, 1, ROWS) < share)

    row = pl.int_range(pl.len())
    return frame.with_columns(
        pl.when(some(0.02)).then(pl.lit("colour")).otherwise("field").alias("field"),
        pl.when(some(0.03)).then(None).otherwise("source_system").alias("source_system"),
        pl.when(some(0.01)).then(None).otherwise("source_column").alias("source_column"),
        pl.when(some(0.02)).then(pl.lit(1.5)).otherwise("trust_score").alias("trust_score"),
    ).with_columns(  # (FU-00001, name) three times, (FU-00175, name) twice
        pl.when(row.is_in([4, 5, 6]))
        .then(pl.lit("FU-00001"))
        .when(row.is_in([700, 1_900]))
        .then(pl.lit("FU-00175"))
        .otherwise("unified_id")
        .alias("unified_id"),
        pl.when(row.is_in([4, 5, 6, 700, 1_900]))
        .then(pl.lit("name"))
        .otherwise("field")
        .alias("field"),
    )


def _results_by_kind(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        json.dumps(r["expectation_config"]["kwargs"], sort_keys=True): _without_ids(r)  # type: ignore[misc]
        for r in document["results"]
    }


def test_chunked_validation_gives_the_results_of_one_validation_of_the_whole(
    config: FusionConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = next(s for s in golden_suites(config.sources) if s.name == "field_lineage")
    lineage = lineage_with_failures()
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 500)
    assert chunk_plan(suite.expectations[:1], lineage.height) == ChunkPlan(5, None)

    report = validate({"field_lineage": lineage}, [suite], run_id="r1")

    document = json.loads(report.validations["result_json"].item())
    oracle = _one_validation_of_the_whole_frame(lineage, suite)
    assert (document["success"], document["statistics"]) == (
        oracle["success"],
        oracle["statistics"],
    )
    ours, theirs = _results_by_kind(document), _results_by_kind(oracle)
    assert ours.keys() == theirs.keys()
    listed = 0
    for kwargs, result in ours.items():
        expected = theirs[kwargs]
        if "column_list" in kwargs:
            # Chunks by the first column's hash list repeated pairs chunk by chunk.
            for key in ("partial_unexpected_list", "partial_unexpected_index_list"):
                mine, gx = result["result"].pop(key), expected["result"].pop(key)
                assert sorted(map(json.dumps, mine)) == sorted(map(json.dumps, gx))
            assert result["result"]["unexpected_count"] == 5
        assert result == expected, kwargs
        listed += result["result"]["unexpected_count"] > 10
    assert listed >= 3  # the lists were cut at 10, after rows of more than one chunk


def test_rows_of_a_suite_without_keys_are_named_by_their_position_in_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = pl.DataFrame({"score": [0.5] * 1_000 + [2.0] * 3 + [0.1] * 996 + [3.0]})
    suite = Suite(
        "scores",
        "scores",
        (),
        (
            Expect(
                "ExpectColumnValuesToBeBetween",
                {"column": "score", "min_value": 0, "max_value": 1},
                "error",
            ),
        ),
    )
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 400)

    report = validate({"scores": frame}, [suite], run_id="r1")

    row = report.results.row(0, named=True)
    assert (row["success"], row["unexpected_count"]) == (False, 4)
    assert json.loads(row["unexpected_rows"]) == [1_000, 1_001, 1_002, 1_999]


def test_only_row_wise_and_unique_expectations_over_many_rows_are_chunked(
    config: FusionConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 100)
    golden = next(s for s in golden_suites(config.sources) if s.name == "golden_customer")
    by_kind = {e.kind: e for e in golden.expectations}
    row_count = by_kind["ExpectTableRowCountToBeBetween"]
    unique = by_kind["ExpectColumnValuesToBeUnique"]
    not_null = golden.expectations[golden.expectations.index(unique) - 1]

    assert chunk_plan([not_null], 100) is None  # fits in one chunk
    assert chunk_plan([row_count], 1_000) is None  # counts the whole table
    assert chunk_plan([not_null, unique], 250) == ChunkPlan(3, "unified_id")
    other = Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["name", "unified_id"]})
    assert chunk_plan([unique, other], 1_000) is None  # no one column keeps both's repeats together


def test_hash_chunks_hold_every_row_once_and_equal_values_together() -> None:
    keys = [f"K{i % 37}" for i in range(1_000)]
    rows = pa.table({"key": keys, "position": list(range(1_000))})

    parts = list(ChunkPlan(4, "key").split(rows))

    assert len(parts) == 4
    positions = sorted(p for chunk, _ in parts for p in chunk.column("position").to_pylist())
    assert positions == list(range(1_000))
    for chunk, named in parts:
        assert chunk.column("position").to_pylist() == list(named)
    seen = [set(chunk.column("key").to_pylist()) for chunk, _ in parts]
    assert sum(len(s) for s in seen) == 37  # no key in two chunks


def test_collections_inside_skip_the_objects_alive_on_entry_but_free_new_cycles() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with collecting_new_objects_only():
        assert gc.get_freeze_count() > 0
        Node()
        assert gc.collect() >= 1  # the new cycle, without walking the frozen objects
    assert gc.get_freeze_count() == 0


def test_an_inner_scope_keeps_the_outer_freeze_and_still_frees_new_cycles() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    def scanned(obj: object) -> bool:
        """Would a collection walk ``obj``? Frozen objects are in no generation."""
        return any(o is obj for o in gc.get_objects())

    before_outer = [["alive before the outer scope"]]
    with collecting_new_objects_only():
        before_inner = [["made inside the outer scope"]]
        with collecting_new_objects_only():
            assert not scanned(before_outer)
            assert scanned(before_inner)  # the inner scope froze nothing more
            node = weakref.ref(Node())
            gc.collect()
            assert node() is None
        assert not scanned(before_outer)  # nor thawed the outer's objects
    assert scanned(before_outer)
    assert gc.get_freeze_count() == 0
