"""Unified IDs carry over by membership; merges keep the oldest; splits are recorded."""

from __future__ import annotations

import polars as pl

from matching.identity import assign_unified_ids


def _membership(clusters: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_system": ["crm"] * len(clusters),
            "source_record_id": list(clusters),
            "cluster": list(clusters.values()),
        }
    )


def _xref(ids: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_system": ["crm"] * len(ids),
            "source_record_id": list(ids),
            "unified_id": list(ids.values()),
        }
    )


def _ids(assignment, membership) -> dict[str, str]:  # type: ignore[no-untyped-def]
    joined = membership.join(assignment.cluster_ids, on="cluster")
    return dict(zip(joined["source_record_id"], joined["unified_id"], strict=True))


def test_first_run_numbers_clusters_in_label_order() -> None:
    membership = _membership({"a": 0, "b": 0, "c": 2})
    result = assign_unified_ids(membership, previous_xref=None, issued_ids=None)
    assert _ids(result, membership) == {"a": "FU-00000001", "b": "FU-00000001", "c": "FU-00000002"}
    assert result.history["event"].to_list() == ["created", "created"]


def test_identical_membership_keeps_every_id() -> None:
    membership = _membership({"a": 0, "b": 0, "c": 2})
    previous = _xref({"a": "FU-00000007", "b": "FU-00000007", "c": "FU-00000003"})
    result = assign_unified_ids(membership, previous_xref=previous, issued_ids=None)
    assert _ids(result, membership) == {"a": "FU-00000007", "b": "FU-00000007", "c": "FU-00000003"}
    assert result.history.height == 0


def test_merge_keeps_the_oldest_and_records_merged_into() -> None:
    membership = _membership({"a": 0, "b": 0, "c": 0})
    previous = _xref({"a": "FU-00000005", "b": "FU-00000002", "c": "FU-00000002"})
    result = assign_unified_ids(membership, previous_xref=previous, issued_ids=None)
    assert set(_ids(result, membership).values()) == {"FU-00000002"}
    assert result.history.rows() == [("FU-00000005", "merged_into", "FU-00000002")]


def test_split_keeps_id_on_larger_part_and_new_id_never_reuses_a_retired_one() -> None:
    membership = _membership({"a": 0, "b": 0, "c": 2})
    previous = _xref({"a": "FU-00000004", "b": "FU-00000004", "c": "FU-00000004"})
    issued = pl.Series(["FU-00000001", "FU-00000004", "FU-00000009"])
    result = assign_unified_ids(membership, previous_xref=previous, issued_ids=issued)
    ids = _ids(result, membership)
    assert ids["a"] == ids["b"] == "FU-00000004"
    assert ids["c"] == "FU-00000010"
    assert result.history.rows() == [("FU-00000010", "split_from", "FU-00000004")]


def test_new_record_joining_existing_cluster_keeps_its_id() -> None:
    membership = _membership({"a": 0, "b": 0, "new": 0, "other": 3})
    previous = _xref({"a": "FU-00000001", "b": "FU-00000001"})
    result = assign_unified_ids(membership, previous_xref=previous, issued_ids=None)
    ids = _ids(result, membership)
    assert ids["new"] == "FU-00000001"
    assert ids["other"] == "FU-00000002"
