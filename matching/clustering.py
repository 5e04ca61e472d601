"""Clustering matched pairs without chaining unrelated customers.

Plain connected components let one weak or wrong link join two large groups
(Splink's clusters "chain into giants"). Here links are merged strongest first
(union-find), and two clusters are never merged if any scored pair between
them is a confident non-match: a cannot-link. A branch 分公司 linked to its
parent by name alone stays apart once its different tax id and phone have
voted against the parent's other records.

A weak link (``weak_link``: one piece of evidence alone, such as a shared
name with nothing else present) may attach a single record to a cluster, but
never joins two clusters of several records: on historical_50k, 27 name-only
links between records that had nothing else chained 15 people into one
54-record cluster.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from matching.unique import sorted_unique


class _ConstrainedUnionFind:
    """Union-find whose merges are refused when the two sets hold a cannot-link."""

    def __init__(self, n: int, cannot_link: dict[int, set[int]]) -> None:
        self.parent = list(range(n))
        self.members: dict[int, set[int]] = {}
        self.forbidden: dict[int, set[int]] = {i: set(others) for i, others in cannot_link.items()}

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def _members(self, root: int) -> set[int]:
        return self.members.get(root, {root})

    def size(self, x: int) -> int:
        return len(self._members(self.find(x)))

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        members_a, members_b = self._members(ra), self._members(rb)
        if len(members_a) < len(members_b):
            ra, rb, members_a, members_b = rb, ra, members_b, members_a
        forbidden_a = self.forbidden.get(ra, set())
        forbidden_b = self.forbidden.get(rb, set())
        if not forbidden_a.isdisjoint(members_b) or not forbidden_b.isdisjoint(members_a):
            return False
        self.parent[rb] = ra
        self.members[ra] = members_a | members_b
        self.members.pop(rb, None)
        if forbidden_a or forbidden_b:
            self.forbidden[ra] = forbidden_a | forbidden_b
        self.forbidden.pop(rb, None)
        return True


def _merge_on_weak_links(forest: _ConstrainedUnionFind, weak: pl.DataFrame) -> None:
    """Weak links, after every strong one: they attach single records, or join two
    clusters of several records only when many of their records vouch for it.

    Links are grouped by the pair of clusters they join (as the strong links left
    them), most links first. A group joins a single record to a cluster; it joins
    two larger clusters only with at least two links and at least half as many
    links as the smaller cluster has records: one person's records split by
    which fields they carry share the name record by record, while a stray
    namesake bridges two people through one or two links.
    """
    if not weak.height:
        return
    left = weak["left"].to_list()
    right = weak["right"].to_list()
    counts: dict[tuple[int, int], int] = {}
    for a, b in zip(left, right, strict=True):
        ra, rb = forest.find(a), forest.find(b)
        if ra != rb:
            key = (min(ra, rb), max(ra, rb))
            counts[key] = counts.get(key, 0) + 1
    for (ra, rb), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        smaller = min(forest.size(ra), forest.size(rb))
        if smaller == 1 or (count >= 2 and 2 * count >= smaller):
            forest.union(ra, rb)


def components(n_records: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected component of every record over the given edges (scipy, in C)."""
    graph = sp.coo_matrix(
        (np.ones(len(left), dtype=np.int8), (left, right)), shape=(n_records, n_records)
    )
    _, component = connected_components(graph, directed=False)
    return component  # int32: half the bytes of int64 in every gather below


def smallest_member(groups: np.ndarray) -> np.ndarray:
    """Per position, the smallest position holding the same group id."""
    frame = pl.DataFrame({"g": groups, "i": np.arange(len(groups), dtype=np.int64)})
    return frame.select(pl.col("i").min().over("g"))["i"].to_numpy()


def cluster_pairs(
    n_records: int,
    scored_pairs: pl.DataFrame,
    *,
    match_threshold: float,
    cannot_link_probability: float,
) -> np.ndarray:
    """Cluster label (the smallest record_index of the cluster) for every record.

    Only a component of the link graph that holds a cannot-link between two
    of its own records, or a weak link, can differ from plain connected components, so the
    components are found in bulk (scipy) and the strongest-first constrained
    union-find runs on the conflicted ones alone: the same clusters as running
    it everywhere, at a cost that grows with the conflicts, not with the pairs.

    Args:
        n_records: Number of records (record_index runs 0..n-1).
        scored_pairs: ``left``, ``right``, ``match_weight``, ``match_probability``
            and optionally ``weak_link`` (see the module docstring; absent: none is weak).
        match_threshold: Pairs at or above this probability are links.
        cannot_link_probability: Pairs below this probability forbid a merge.

    Returns:
        Array of length ``n_records``; records in one cluster share a label.

    Example:
        >>> pairs = pl.DataFrame({"left": [0, 1], "right": [1, 2],
        ...     "match_weight": [10.0, -20.0], "match_probability": [0.999, 0.0]})
        >>> cluster_pairs(3, pairs, match_threshold=0.9, cannot_link_probability=0.01).tolist()
        [0, 0, 2]
    """
    if n_records == 0:
        return np.zeros(0, dtype=np.int64)
    # Record indices stay in their 32-bit types: most of the 6.5M pairs at 1M records
    # are cannot-links, and 64-bit copies of them added 0.2 GiB to matching's peak.
    weak = (
        pl.col("weak_link").fill_null(False)
        if "weak_link" in scored_pairs.columns
        else pl.lit(False)
    )
    links = scored_pairs.select(
        "left", "right", "match_weight", "match_probability", weak.alias("weak_link")
    ).filter(pl.col("match_probability") >= match_threshold)
    link_left = links["left"].to_numpy()
    link_right = links["right"].to_numpy()
    component = components(n_records, link_left, link_right)
    cannot = scored_pairs.select("left", "right").filter(
        scored_pairs["match_probability"] < cannot_link_probability
    )
    cannot_left = cannot["left"].to_numpy()
    cannot_right = cannot["right"].to_numpy()
    inside = component[cannot_left] == component[cannot_right]
    weak_links = links["weak_link"].to_numpy()
    conflicted = sorted_unique(
        np.concatenate([component[cannot_left[inside]], component[link_left[weak_links]]])
    )
    labels = smallest_member(component)
    if len(conflicted) == 0:
        return labels
    in_conflict = np.isin(component, conflicted)
    cannot_link: dict[int, set[int]] = {}
    for left, right in zip(
        cannot_left[inside].tolist(), cannot_right[inside].tolist(), strict=True
    ):
        cannot_link.setdefault(left, set()).add(right)
        cannot_link.setdefault(right, set()).add(left)
    conflicted_links = links.filter(pl.lit(in_conflict[link_left])).sort(
        ["match_weight", "left", "right"], descending=[True, False, False]
    )
    forest = _ConstrainedUnionFind(n_records, cannot_link)
    strong = conflicted_links.filter(~pl.col("weak_link"))
    for left, right in zip(strong["left"].to_list(), strong["right"].to_list(), strict=True):
        forest.union(left, right)
    _merge_on_weak_links(forest, conflicted_links.filter(pl.col("weak_link")))
    members = np.flatnonzero(in_conflict)
    roots = np.arange(n_records, dtype=np.int64)
    roots[members] = [forest.find(int(i)) for i in members]
    # Give conflicted records group ids that cannot collide with component ids.
    groups = np.where(in_conflict, roots + n_records, component)
    return smallest_member(groups)
