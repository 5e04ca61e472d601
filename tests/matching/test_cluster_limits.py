"""matching.cluster_limits: a cluster over max_cluster_size is re-split on its strong links."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matching.cluster_limits import KEPT_OVERSIZED, SPLIT, limit_cluster_sizes
from matching.clustering import cluster_pairs
from matching.linkage import cluster_under_decisions
from matching.settings import MatchSettings


def _edges(links: list[tuple[int, int, bool]], probability: float = 0.99) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "left": [a for a, _, _ in links],
            "right": [b for _, b, _ in links],
            "match_weight": [10.0] * len(links),
            "match_probability": [probability] * len(links),
            "weak_link": [weak for _, _, weak in links],
        },
        schema_overrides={"left": pl.UInt32, "right": pl.UInt32},
    )


def test_an_oversized_cluster_splits_on_its_strong_links_and_reports_its_parts() -> None:
    # Two strongly linked groups {0,1,2} and {3,4}, chained by one weak link 2-3 that
    # attached a single record at a time; record 5 is attached by a weak link only.
    edges = _edges([(0, 1, False), (1, 2, False), (3, 4, False), (2, 3, True), (4, 5, True)])
    labels = np.zeros(7, dtype=np.int64)
    labels[6] = 6
    split, report = limit_cluster_sizes(labels, edges, max_cluster_size=4, match_threshold=0.9)
    assert split.tolist() == [0, 0, 0, 3, 3, 5, 6]
    assert report.rows() == [
        (0, 3, 0, 6, 3, SPLIT),
        (3, 2, 0, 6, 3, SPLIT),
        (5, 1, 0, 6, 3, SPLIT),
    ]


def test_a_part_held_by_strong_links_is_kept_and_reported_over_the_limit() -> None:
    edges = _edges([(0, 1, False), (1, 2, False), (2, 3, False), (3, 4, True)])
    split, report = limit_cluster_sizes(
        np.zeros(5, dtype=np.int64), edges, max_cluster_size=3, match_threshold=0.9
    )
    assert split.tolist() == [0, 0, 0, 0, 4]
    assert report.select("record_count", "outcome").rows() == [(4, KEPT_OVERSIZED), (1, SPLIT)]


def test_links_below_the_threshold_do_not_hold_a_part() -> None:
    edges = _edges([(0, 1, False), (1, 2, False)], probability=0.5)
    split, _ = limit_cluster_sizes(
        np.zeros(3, dtype=np.int64), edges, max_cluster_size=2, match_threshold=0.9
    )
    assert split.tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(5))
def test_clusters_within_the_limit_never_change(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    left = rng.integers(0, n, 600)
    right = rng.integers(0, n, 600)
    keep = left != right
    pairs = pl.DataFrame(
        {
            "left": np.minimum(left, right)[keep].astype(np.uint32),
            "right": np.maximum(left, right)[keep].astype(np.uint32),
            "match_weight": rng.normal(0, 10, keep.sum()),
            "weak_link": rng.random(keep.sum()) < 0.3,
        }
    ).with_columns(match_probability=1 / (1 + 2 ** -pl.col("match_weight")))
    labels = cluster_pairs(n, pairs, match_threshold=0.9, cannot_link_probability=0.01)
    largest = int(np.bincount(labels).max())
    same, report = limit_cluster_sizes(labels, pairs, max_cluster_size=largest, match_threshold=0.9)
    assert same.tolist() == labels.tolist()
    assert report.is_empty()
    if largest > 1:
        smaller, report = limit_cluster_sizes(
            labels, pairs, max_cluster_size=largest - 1, match_threshold=0.9
        )
        sizes = np.bincount(labels)
        untouched = sizes[labels] <= largest - 1
        assert smaller[untouched].tolist() == labels[untouched].tolist()
        # Every part lies inside the cluster it came from.
        frame = pl.DataFrame({"before": labels, "after": smaller})
        assert frame.group_by("after").agg(pl.col("before").n_unique())["before"].max() == 1
        assert report["original_record_count"].min() == largest


def test_matching_applies_the_limit_with_weak_links_read_from_the_evidence() -> None:
    # 0-1-2-3 agree on name and e-mail (strong); 3-4 on the name alone (weak), which
    # attaches record 4 to the cluster. A limit of 3 takes 4 off again and reports both.
    scored = pl.DataFrame(
        {
            "left": [0, 1, 2, 3],
            "right": [1, 2, 3, 4],
            "name_weight": [5.0, 5.0, 5.0, 5.0],
            "email_weight": [8.0, 8.0, 8.0, 0.0],
            "match_weight": [13.0, 13.0, 13.0, 5.0],
            "match_probability": [0.99, 0.99, 0.99, 0.95],
        },
        schema_overrides={"left": pl.UInt32, "right": pl.UInt32},
    )
    std = pl.DataFrame({"record_index": pl.Series(range(5), dtype=pl.UInt32)})
    unlimited = cluster_under_decisions(
        std, scored, steward_decisions=None, settings=MatchSettings()
    )
    assert unlimited.clusters["cluster"].to_list() == [0, 0, 0, 0, 0]
    assert unlimited.oversized_clusters.is_empty()
    limited = cluster_under_decisions(
        std, scored, steward_decisions=None, settings=MatchSettings(max_cluster_size=3)
    )
    assert limited.clusters["cluster"].to_list() == [0, 0, 0, 0, 4]
    assert limited.oversized_clusters.select("record_count", "outcome").rows() == [
        (4, KEPT_OVERSIZED),
        (1, SPLIT),
    ]
    assert limited.scored_pairs.height == scored.height  # the evidence stays


def test_the_default_limit_leaves_the_settings_json_and_hash_as_they_were() -> None:
    assert "max_cluster_size" not in MatchSettings().model_dump()
    assert MatchSettings(max_cluster_size=50).model_dump()["max_cluster_size"] == 50
