"""Match evidence written part by part is the scored pairs keyed and sorted whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from matching import MatchResult
from pipelines import stages
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG


@pytest.fixture(scope="module")
def matched(sample_warehouse: Path) -> tuple[pl.DataFrame, MatchResult]:
    """The samples' standardised records and a fresh match of them."""
    with duckdb.connect(str(sample_warehouse / "golden.duckdb"), read_only=True) as con:
        std = con.sql("SELECT * FROM standardised_records ORDER BY record_index").pl()
    config = load_fusion_config(SAMPLE_CONFIG)
    return std, stages.match(std, config=config)


def _keyed_and_sorted_whole(std: pl.DataFrame, result: MatchResult) -> pl.DataFrame:
    """The evidence the obvious way: join each side's keys and cluster, sort on the text keys."""
    keys = std.select("record_index", "source_system", "source_record_id")
    clusters = result.clusters
    side = {
        s: keys.join(clusters, on="record_index").rename(
            {
                "record_index": s,
                "source_system": f"{s}_source_system",
                "source_record_id": f"{s}_source_record_id",
                "cluster": f"{s}_cluster",
            }
        )
        for s in ("left", "right")
    }
    return (
        result.scored_pairs.join(side["left"], on="left")
        .join(side["right"], on="right")
        .with_columns(
            (pl.col("left_cluster") == pl.col("right_cluster")).alias("same_cluster"),
            pl.lit("r1").alias("run_id"),
        )
        .sort(
            "left_source_system",
            "left_source_record_id",
            "right_source_system",
            "right_source_record_id",
        )  # fmt: skip
    )


def test_parts_stack_to_the_pairs_keyed_and_sorted_whole(
    matched: tuple[pl.DataFrame, MatchResult],
) -> None:
    std, result = matched
    assert result.scored_pairs.height > 20  # several parts of 7 pairs below

    parts = list(stages.match_evidence_parts(std, result, run_id="r1", part_pairs=7))

    assert [p.height for p in parts[:-1]] == [7] * (len(parts) - 1)
    evidence = pl.concat(parts)
    expected = _keyed_and_sorted_whole(std, result)
    assert evidence.height == result.scored_pairs.height
    assert_frame_equal(evidence, expected.select(evidence.columns))
    assert evidence.columns[:4] == [
        "left_source_system", "left_source_record_id",
        "right_source_system", "right_source_record_id",
    ]  # fmt: skip
    assert {"name_level", "name_weight", "email_level"} <= set(evidence.columns)


def test_no_scored_pair_gives_one_empty_part_with_every_column(
    matched: tuple[pl.DataFrame, MatchResult],
) -> None:
    std, result = matched
    nothing = replace(result, scored_pairs=result.scored_pairs.clear())

    parts = list(stages.match_evidence_parts(std, nothing, run_id="r1"))

    whole = list(stages.match_evidence_parts(std, result, run_id="r1"))
    assert len(parts) == 1
    assert parts[0].height == 0
    assert parts[0].schema == whole[0].schema


def test_records_not_numbered_by_row_are_refused(
    matched: tuple[pl.DataFrame, MatchResult],
) -> None:
    std, result = matched
    gapped = std.with_columns(pl.col("record_index") * 2)

    with pytest.raises(ValueError, match="standardised records: record_index is not the row"):
        next(stages.match_evidence_parts(gapped, result, run_id="r1"))
