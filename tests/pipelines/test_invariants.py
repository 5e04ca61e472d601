"""Invariant checks over staged tables, in memory or spilled."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.quality.invariants import golden_values_have_lineage, probabilities_in_range
from pipelines.warehouse import StagedTable
from pipelines.warehouse.spill import SpillFolder

GOLDEN = pl.DataFrame(
    {
        "unified_id": ["FU-1", "FU-2", "FU-3"],
        "name": ["Acme", "Bo Li", None],
        "email": [None, "bo@example.com", "c@example.com"],
        "trust_score": [0.5, 1.0, 0.0],
    }
)
LINEAGE = pl.DataFrame(
    {
        "unified_id": ["FU-1", "FU-2", "FU-2", "FU-2", "FU-3"],
        "field": ["name", "name", "name", "email", "email"],
        "source_record_id": ["C1", "C2", "E2", "W2", "W3"],
        "source_column": ["name", "name", "name", "mail", None],
    }
)


def _staged(frame: pl.DataFrame, name: str, *, spilled: bool, tmp_path: Path) -> StagedTable:
    return SpillFolder(tmp_path).write(name, frame) if spilled else frame


@pytest.mark.parametrize("spilled", [False, True])
def test_golden_values_without_lineage_and_repeated_rows_are_counted(
    spilled: bool, tmp_path: Path
) -> None:
    tables = {
        "golden_customer": _staged(GOLDEN, "golden_customer", spilled=spilled, tmp_path=tmp_path),
        "field_lineage": _staged(LINEAGE, "field_lineage", spilled=spilled, tmp_path=tmp_path),
    }

    result = golden_values_have_lineage(tables)

    # FU-3's email names no source column; FU-2's name has two rows.
    assert not result.passed
    assert result.metadata == {"golden_values": 4, "missing": 1, "repeated": 1}
    fixed = LINEAGE.with_columns(pl.col("source_column").fill_null("mail")).unique(
        ["unified_id", "field"], keep="first", maintain_order=True
    )
    assert golden_values_have_lineage({**tables, "field_lineage": fixed}).passed


@pytest.mark.parametrize("spilled", [False, True])
def test_repeated_lineage_rows_are_counted_for_fields_the_golden_record_lacks(
    spilled: bool, tmp_path: Path
) -> None:
    fixed = LINEAGE.with_columns(pl.col("source_column").fill_null("mail")).unique(
        ["unified_id", "field"], keep="first", maintain_order=True
    )
    extra = pl.DataFrame(
        {
            "unified_id": ["FU-1", "FU-1", "FU-2", "FU-3", "FU-3"],
            "field": ["segment", "segment", "segment", None, None],
            "source_record_id": ["C1", "E1", "C2", "C3", "E3"],
            "source_column": ["seg", "seg", "seg", "x", "x"],
        }
    )
    lineage = pl.concat([fixed, extra])
    tables = {
        "golden_customer": _staged(GOLDEN, "golden_customer", spilled=spilled, tmp_path=tmp_path),
        "field_lineage": _staged(lineage, "field_lineage", spilled=spilled, tmp_path=tmp_path),
    }

    result = golden_values_have_lineage(tables)

    # FU-1 has two 'segment' rows; FU-3 has two rows naming no field.
    assert result.metadata == {"golden_values": 4, "missing": 0, "repeated": 2}
    assert not result.passed


def test_a_probability_outside_zero_and_one_is_counted(tmp_path: Path) -> None:
    evidence = pl.DataFrame({"match_probability": [0.2, 1.2], "left": ["a", "b"]})
    tables = {
        "golden_customer": GOLDEN,
        "match_evidence": SpillFolder(tmp_path).write("match_evidence", evidence),
    }

    result = probabilities_in_range(tables)

    assert not result.passed
    assert result.metadata == {"out_of_range": 1}
