"""Unified IDs carry over by membership; merges keep the oldest; splits, deletes and
re-appearances are recorded and every retired ID still resolves."""

from __future__ import annotations

import polars as pl
import pytest

from matching.identity import (
    IdAssignment,
    PreviousIdentity,
    assign_unified_ids,
    resolve_unified_ids,
)


def membership(clusters: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_system": ["crm"] * len(clusters),
            "source_record_id": list(clusters),
            "cluster": list(clusters.values()),
        }
    )


def ids_of(result: IdAssignment) -> dict[str, str]:
    return dict(zip(result.records["source_record_id"], result.records["unified_id"], strict=True))


def events(result: IdAssignment) -> list[tuple[str, str, str | None]]:
    return [tuple(r) for r in result.history.rows()]  # type: ignore[misc]


def previous_of(*results: IdAssignment) -> PreviousIdentity:
    """The state a release would publish after the given runs (last one current)."""
    last = results[-1]
    history = pl.concat([r.history for r in results])
    retired = pl.concat([r.retired for r in results])
    return PreviousIdentity(xref=last.records, retired=retired, history=history)


def test_first_run_numbers_clusters_in_label_order() -> None:
    result = assign_unified_ids(membership({"a": 0, "b": 0, "c": 2}))
    assert ids_of(result) == {"a": "FU-00000001", "b": "FU-00000001", "c": "FU-00000002"}
    assert events(result) == [("FU-00000001", "created", None), ("FU-00000002", "created", None)]


def test_identical_membership_keeps_every_id_and_records_nothing() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 0, "c": 2}))
    again = assign_unified_ids(membership({"a": 5, "b": 5, "c": 9}), previous=previous_of(first))
    assert ids_of(again) == ids_of(first)
    assert again.history.height == 0
    assert again.retired.height == 0


def test_new_record_joining_an_existing_customer_keeps_its_id() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 0}))
    second = assign_unified_ids(membership({"a": 0, "b": 0, "new": 0, "other": 3}),
                                previous=previous_of(first))  # fmt: skip
    assert ids_of(second) == {"a": "FU-00000001", "b": "FU-00000001", "new": "FU-00000001",
                              "other": "FU-00000002"}  # fmt: skip


def test_merge_keeps_the_oldest_and_the_other_resolves_to_it() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 1, "c": 2}))
    # A new record 'bridge' links b and c.
    merged = assign_unified_ids(
        membership({"a": 0, "b": 1, "c": 1, "bridge": 1}), previous=previous_of(first)
    )
    assert ids_of(merged)["c"] == ids_of(merged)["bridge"] == "FU-00000002"
    assert events(merged) == [("FU-00000003", "merged_into", "FU-00000002")]
    history = pl.concat([first.history, merged.history])
    assert resolve_unified_ids(pl.Series(["FU-00000003"]), history).to_list() == ["FU-00000002"]


def test_split_keeps_the_id_on_the_original_records_and_restores_a_merged_id() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 0, "c": 2}))
    merged = assign_unified_ids(membership({"a": 0, "b": 0, "c": 0}), previous=previous_of(first))
    assert events(merged) == [("FU-00000002", "merged_into", "FU-00000001")]
    # A steward cannot-link splits c off again: it gets its own ID back.
    split = assign_unified_ids(
        membership({"a": 0, "b": 0, "c": 7}), previous=previous_of(first, merged)
    )
    assert ids_of(split) == {"a": "FU-00000001", "b": "FU-00000001", "c": "FU-00000002"}
    assert events(split) == [("FU-00000002", "split_from", "FU-00000001")]


def test_split_of_an_original_cluster_gives_the_leaving_part_a_new_id() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 0, "c": 0}))
    split = assign_unified_ids(membership({"a": 0, "b": 0, "c": 2}), previous=previous_of(first))
    assert ids_of(split) == {"a": "FU-00000001", "b": "FU-00000001", "c": "FU-00000002"}
    assert events(split) == [("FU-00000002", "split_from", "FU-00000001")]


def test_delete_retires_the_record_and_an_emptied_id() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 0, "c": 2}))
    deleted = assign_unified_ids(membership({"a": 0, "b": 0}), previous=previous_of(first))
    assert deleted.retired.rows() == [("crm", "c", "FU-00000002")]
    assert events(deleted) == [("FU-00000002", "retired", None)]


def test_reappearing_record_gets_its_old_id_back() -> None:
    first = assign_unified_ids(membership({"a": 0, "c": 2}))
    deleted = assign_unified_ids(membership({"a": 0}), previous=previous_of(first))
    back = assign_unified_ids(membership({"a": 0, "c": 1}), previous=previous_of(first, deleted))
    assert ids_of(back)["c"] == "FU-00000002"


def test_new_ids_never_reuse_a_retired_one() -> None:
    first = assign_unified_ids(membership({"a": 0, "b": 1, "c": 2}))
    deleted = assign_unified_ids(membership({"a": 0}), previous=previous_of(first))
    later = assign_unified_ids(membership({"a": 0, "z": 1}), previous=previous_of(first, deleted))
    assert ids_of(later)["z"] == "FU-00000004"


@pytest.mark.parametrize("seed", range(10))
def test_relabelling_clusters_changes_no_id(seed: int) -> None:
    import random

    clusters = {f"r{i}": i % 7 for i in range(30)}
    first = assign_unified_ids(membership(clusters))
    labels = list(range(7))
    random.Random(seed).shuffle(labels)
    relabelled = {k: labels[v] * 10 for k, v in clusters.items()}
    again = assign_unified_ids(membership(relabelled), previous=previous_of(first))
    assert ids_of(again) == ids_of(first)
