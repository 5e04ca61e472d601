"""Steps that read some columns of the standardised records decide as if they read them all."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from lineage import build_golden_record
from pipelines import stages
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG


def test_the_golden_steps_columns_give_the_golden_record_of_every_column(
    sample_warehouse: Path,
) -> None:
    with duckdb.connect(str(sample_warehouse / "golden.duckdb"), read_only=True) as con:
        std = con.sql("SELECT * FROM standardised_records").pl()
        xref = con.sql("SELECT source_system, source_record_id, unified_id FROM customer_xref").pl()
    config = load_fusion_config(SAMPLE_CONFIG)
    assert set(stages.GOLDEN_STEP_COLUMNS) < set(std.columns)

    def golden(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        built = build_golden_record(
            records, xref, sources=config.sources, settings=config.survivorship, run_id="r1"
        )
        return built.golden_customer, built.field_candidates

    every_column, step_columns = golden(std), golden(std.select(stages.GOLDEN_STEP_COLUMNS))

    assert every_column[0].height == xref["unified_id"].n_unique()
    assert_frame_equal(step_columns[0], every_column[0])
    assert_frame_equal(step_columns[1], every_column[1])


def test_matching_on_its_columns_matches_as_on_every_column(sample_warehouse: Path) -> None:
    with duckdb.connect(str(sample_warehouse / "golden.duckdb"), read_only=True) as con:
        std = con.sql("SELECT * FROM standardised_records ORDER BY record_index").pl()
    config = load_fusion_config(SAMPLE_CONFIG)
    assert set(stages.MATCHING_COLUMNS) < set(std.columns)

    every_column = stages.match(std, config=config)
    matching_columns = stages.match(std.select(stages.MATCHING_COLUMNS), config=config)

    assert every_column.scored_pairs.height > 0
    assert_frame_equal(matching_columns.scored_pairs, every_column.scored_pairs)
    assert_frame_equal(matching_columns.clusters, every_column.clusters)
    assert matching_columns.model.to_dict() == every_column.model.to_dict()
