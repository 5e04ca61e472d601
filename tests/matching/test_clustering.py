"""Clustering: equals connected components when nothing conflicts; refuses chains."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
import pytest

from matching.clustering import cluster_pairs


def _pairs(edges: list[tuple[int, int, float]]) -> pl.DataFrame:
    probability = [p for _, _, p in edges]
    weight = [float(np.log2(p / (1 - p))) if 0 < p < 1 else (60.0 if p >= 1 else -60.0)
              for p in probability]  # fmt: skip
    return pl.DataFrame(
        {
            "left": [a for a, _, _ in edges],
            "right": [b for _, b, _ in edges],
            "match_weight": weight,
            "match_probability": probability,
        },
        schema={"left": pl.UInt32, "right": pl.UInt32, "match_weight": pl.Float64,
                "match_probability": pl.Float64},
    )  # fmt: skip


def _as_partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(index)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", range(25))
def test_equals_connected_components_without_cannot_links(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    m = int(rng.integers(0, 3 * n))
    edges = {(int(min(a, b)), int(max(a, b))) for a, b in rng.integers(0, n, size=(m, 2)) if a != b}
    scored = [(a, b, float(rng.uniform(0.95, 0.9999))) for a, b in sorted(edges)]
    labels = cluster_pairs(n, _pairs(scored), match_threshold=0.9, cannot_link_probability=0.01)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    assert _as_partition(labels) == {frozenset(c) for c in nx.connected_components(graph)}


def test_weak_link_cannot_chain_two_conflicting_customers() -> None:
    # 0-1 and 2-3 are strong pairs; 1-2 is a link, but 0 and 3 are a confident non-match.
    scored = [(0, 1, 0.9999), (2, 3, 0.9999), (1, 2, 0.95), (0, 3, 0.0001)]
    labels = cluster_pairs(4, _pairs(scored), match_threshold=0.9, cannot_link_probability=0.01)
    assert _as_partition(labels) == {frozenset({0, 1}), frozenset({2, 3})}


def test_strongest_link_wins_the_conflict() -> None:
    # Record 1 is wanted by 0 (strong) and 2 (weaker); 0 and 2 are different customers.
    scored = [(0, 1, 0.99999), (1, 2, 0.93), (0, 2, 0.0001)]
    labels = cluster_pairs(3, _pairs(scored), match_threshold=0.9, cannot_link_probability=0.01)
    assert _as_partition(labels) == {frozenset({0, 1}), frozenset({2})}


def test_labels_are_smallest_member_and_below_threshold_pairs_do_not_link() -> None:
    scored = [(3, 4, 0.99), (1, 2, 0.5)]
    labels = cluster_pairs(5, _pairs(scored), match_threshold=0.9, cannot_link_probability=0.01)
    assert labels.tolist() == [0, 1, 2, 3, 3]


def _reference_clusters(n: int, edges: list[tuple[int, int, float]]) -> set[frozenset[int]]:
    """The definition: strongest link first, refuse a merge across any cannot-link."""
    cannot = {(a, b) for a, b, p in edges if p < 0.01} | {(b, a) for a, b, p in edges if p < 0.01}
    clusters = {i: frozenset({i}) for i in range(n)}
    links = sorted((e for e in edges if e[2] >= 0.9), key=lambda e: (-e[2], e[0], e[1]))
    for a, b, _ in links:
        ca, cb = clusters[a], clusters[b]
        if ca == cb or any((x, y) in cannot for x in ca for y in cb):
            continue
        merged = ca | cb
        for member in merged:
            clusters[member] = merged
    return set(clusters.values())


@pytest.mark.parametrize("seed", range(40))
def test_equals_the_constrained_definition_on_random_graphs_with_conflicts(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 50))
    m = int(rng.integers(0, 3 * n))
    pairs = {(int(min(a, b)), int(max(a, b))) for a, b in rng.integers(0, n, (m, 2)) if a != b}
    # Distinct probabilities: links, cannot-links and pairs in between.
    probabilities = rng.permutation(len(pairs))
    edges = []
    for (a, b), rank in zip(sorted(pairs), probabilities, strict=True):
        kind = rng.random()
        p = 0.9 + 0.099 * (rank + 1) / (len(pairs) + 1) if kind < 0.6 else (
            0.001 if kind < 0.8 else 0.5)  # fmt: skip
        edges.append((a, b, p))
    labels = cluster_pairs(n, _pairs(edges), match_threshold=0.9, cannot_link_probability=0.01)
    assert _as_partition(labels) == _reference_clusters(n, edges)


def _with_weak(edges: list[tuple[int, int, float]], weak: set[tuple[int, int]]) -> pl.DataFrame:
    return _pairs(edges).with_columns(pl.Series("weak_link", [(a, b) in weak for a, b, _ in edges]))


@pytest.mark.parametrize(
    ("bridges", "expected"),
    [
        # one name-only link between two 3-record people: a chain, refused
        ([(2, 3)], [{0, 1, 2}, {3, 4, 5}]),
        # as many name-only links as the smaller cluster has records: one person
        # whose records carry different fields, joined
        ([(0, 3), (1, 4), (2, 5)], [{0, 1, 2, 3, 4, 5}]),
        # two of three records vouch: at least half of the smaller cluster, joined
        ([(0, 3), (1, 4)], [{0, 1, 2, 3, 4, 5}]),
    ],
)
def test_weak_links_never_chain_clusters_of_several_records(
    bridges: list[tuple[int, int]], expected: list[set[int]]
) -> None:
    strong = [(0, 1, 0.9999), (1, 2, 0.9999), (3, 4, 0.9999), (4, 5, 0.9999)]
    weak = [(a, b, 0.97) for a, b in bridges]
    labels = cluster_pairs(
        6, _with_weak(strong + weak, set(bridges)), match_threshold=0.9,
        cannot_link_probability=0.01,
    )  # fmt: skip
    assert _as_partition(labels) == {frozenset(g) for g in expected}


def test_a_weak_link_attaches_a_single_record_once() -> None:
    # Record 6 has only a name; it shares it with a record of each of two people.
    strong = [(0, 1, 0.9999), (1, 2, 0.9999), (3, 4, 0.9999), (4, 5, 0.9999)]
    weak = [(2, 6, 0.98), (3, 6, 0.97)]
    labels = cluster_pairs(
        7, _with_weak(strong + weak, {(2, 6), (3, 6)}), match_threshold=0.9,
        cannot_link_probability=0.01,
    )  # fmt: skip
    assert _as_partition(labels) == {frozenset({0, 1, 2, 6}), frozenset({3, 4, 5})}


def test_a_chain_of_weak_links_between_single_records_is_one_cluster() -> None:
    # Records with a shared rare name and nothing else, found pair by pair.
    weak = [(0, 1, 0.99), (1, 2, 0.99), (2, 3, 0.99)]
    labels = cluster_pairs(
        4, _with_weak(weak, {(0, 1), (1, 2), (2, 3)}), match_threshold=0.9,
        cannot_link_probability=0.01,
    )  # fmt: skip
    assert _as_partition(labels) == {frozenset({0, 1, 2, 3})}


@pytest.mark.parametrize(
    ("name", "email", "birth_date", "weak"),
    [
        (3.4, None, None, True),  # a shared name and nothing else
        (3.4, 0.0, -5.0, True),  # a shared name, the rest silent or against
        (3.4, 6.6, None, False),  # name and e-mail corroborate each other
        (0.4, 0.3, 13.7, True),  # one strong identifier alone is still one piece
        (1.0, 1.0, None, False),  # two pieces at the corroborating minimum
    ],
)
def test_a_link_is_weak_when_fewer_than_two_comparisons_add_evidence(
    name: float, email: float | None, birth_date: float | None, weak: bool
) -> None:
    from matching.linkage import weak_links

    scored = pl.DataFrame(
        {"name_weight": [name], "email_weight": [email], "birth_date_weight": [birth_date],
         "match_weight": [20.0]},
        schema={"name_weight": pl.Float32, "email_weight": pl.Float32,
                "birth_date_weight": pl.Float32, "match_weight": pl.Float64},
    )  # fmt: skip
    assert scored.select(weak_links(scored, corroborating_bits=1.0)).item() is weak
