"""The same records in any row order match to the same pairs, weights and clusters."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from connectors import load_source
from matching import standardise
from matching.incremental import IndexedMatchResult, match_in_full
from matching.linkage import MatchResult, match_records
from matching.record_order import RECORD_KEYS, key_order
from matching.settings import MatchSettings
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG

# Small caps so the semantic rule keeps only some of many equally near names,
# the choice an index order used to make.
SETTINGS = MatchSettings.model_validate({"blocking": {"semantic_neighbours": 2}})
KEY = pl.concat_str(list(RECORD_KEYS), separator="\x1f")


@pytest.fixture(scope="module")
def std() -> pl.DataFrame:
    """The samples' records, standardised (in key order, as a run gives them)."""
    config = load_fusion_config(SAMPLE_CONFIG)
    records = pl.concat([load_source(s).records for s in config.sources], how="vertical")
    return standardise(records, default_regions=config.default_regions)


def shuffled(std: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``std``'s rows in a seeded random order, ``record_index`` renumbered to match."""
    order = np.random.default_rng(seed).permutation(std.height)
    return std[order].drop("record_index").with_row_index("record_index")


def keyed_pairs(result: MatchResult, std: pl.DataFrame) -> pl.DataFrame:
    """Each scored pair by its records' keys (smaller key first), with its evidence."""
    keys = std.select("record_index", KEY.alias("key"))
    named = result.scored_pairs.join(
        keys.rename({"record_index": "left", "key": "a"}), on="left"
    ).join(keys.rename({"record_index": "right", "key": "b"}), on="right")
    return named.select(
        pl.min_horizontal("a", "b").alias("first"),
        pl.max_horizontal("a", "b").alias("second"),
        "match_weight",
        "decision",
        pl.col("blocking_rules").cast(pl.String),
    ).sort("first", "second")


def keyed_clusters(result: MatchResult, std: pl.DataFrame) -> set[tuple[str, ...]]:
    """The clusters as sets of record keys."""
    members = result.clusters.join(std.select("record_index", KEY.alias("key")), on="record_index")
    grouped = members.group_by("cluster").agg(pl.col("key").sort())
    return {tuple(keys) for keys in grouped["key"].to_list()}


def labels_are_smallest_members(result: MatchResult) -> bool:
    """Every cluster label is its smallest ``record_index``, as matching promises."""
    smallest = result.clusters.group_by("cluster").agg(pl.col("record_index").min())
    return bool((smallest["cluster"] == smallest["record_index"].cast(pl.Int64)).all())


def test_key_order_is_none_for_records_in_key_order(std: pl.DataFrame) -> None:
    assert key_order(std) is None
    key = key_order(shuffled(std, seed=1))
    assert key is not None
    assert np.array_equal(key.order[key.rank], np.arange(std.height))


@pytest.mark.parametrize("seed", [1, 2])
def test_match_records_ignores_the_row_order(std: pl.DataFrame, seed: int) -> None:
    """Before matching ran in key order, a shuffle changed the u sample, the
    semantic rule's ties and so the weights, pairs and clusters."""
    expected = match_records(std, settings=SETTINGS)
    rows = shuffled(std, seed)
    result = match_records(rows, settings=SETTINGS)
    assert keyed_pairs(result, rows).equals(keyed_pairs(expected, std))
    assert keyed_clusters(result, rows) == keyed_clusters(expected, std)
    assert result.model.to_dict() == expected.model.to_dict()
    assert labels_are_smallest_members(result)
    assert result.clusters["record_index"].to_list() == list(range(rows.height))


def test_match_in_full_ignores_the_row_order_and_indexes_the_callers_records(
    std: pl.DataFrame,
) -> None:
    expected = match_in_full(std, settings=SETTINGS, statistics=None)
    rows = shuffled(std, seed=3)
    result = match_in_full(rows, settings=SETTINGS, statistics=None)
    assert isinstance(result, IndexedMatchResult)
    assert keyed_pairs(result, rows).equals(keyed_pairs(expected, std))
    assert keyed_clusters(result, rows) == keyed_clusters(expected, std)
    assert labels_are_smallest_members(result)
    # Row i of the name vectors and the neighbour lists name the caller's record i.
    key = key_order(rows)
    assert key is not None
    assert (result.name_vectors[key.order] != expected.name_vectors).nnz == 0
    neighbours = result.neighbours.select(
        pl.Series(key.rank[result.neighbours["left"].to_numpy()]).alias("left"),
        pl.Series(key.rank[result.neighbours["right"].to_numpy()]).alias("right"),
    )
    assert neighbours.sort("left", "right").equals(
        expected.neighbours.cast(pl.Int64).sort("left", "right")
    )


def test_oversized_clusters_are_reported_under_the_callers_labels(std: pl.DataFrame) -> None:
    """Clusters split at a small size cap: the report names each part by its label in the
    caller's records, and each split cluster by the smallest label of its parts."""
    capped = SETTINGS.model_copy(update={"max_cluster_size": 3})
    expected = match_records(std, settings=capped)
    rows = shuffled(std, seed=4)
    result = match_records(rows, settings=capped)
    assert keyed_clusters(result, rows) == keyed_clusters(expected, std)
    report = result.oversized_clusters
    assert report.height > 0
    columns = ["record_count", "original_record_count", "original_parts", "outcome"]
    assert (
        report.select(columns)
        .sort(columns)
        .equals(expected.oversized_clusters.select(columns).sort(columns))
    )
    sizes = result.clusters.group_by("cluster").len()
    parts = report.join(
        sizes.select(pl.col("cluster").cast(pl.UInt32).alias("record_index"), "len"),
        on="record_index",
    )
    assert parts.height == report.height
    assert (parts["len"] == parts["record_count"]).all()
    smallest_part = report.group_by("original_record_index").agg(pl.col("record_index").min())
    assert (smallest_part["original_record_index"] == smallest_part["record_index"]).all()
