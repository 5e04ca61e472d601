"""Spilled tables: what waits on disk reads back, publishes and builds as the frames did."""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lineage import build_golden_record
from pipelines import stages
from pipelines.settings import load_fusion_config
from pipelines.stewardship.store import OVERRIDE_SCHEMA, apply_field_overrides
from pipelines.warehouse import SCRATCH_DIR, SCRATCH_MAX_AGE_S, StagedTable, Warehouse
from pipelines.warehouse.spill import SpilledGolden, SpillFolder, spill_batch
from tests.pipelines.conftest import SAMPLE_CONFIG

AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _frame() -> pl.DataFrame:
    """Text, coded text, a zoned timestamp, nulls, floats and a boolean."""
    return pl.DataFrame(
        {
            "unified_id": ["FU-2", "FU-1", "FU-3"],
            "decision": pl.Series(["match", "review", None], dtype=pl.Categorical),
            "at": [AT, None, AT],
            "probability": [0.25, 0.5, None],
            "winner": [True, False, None],
        }
    )


def _published(warehouse: Warehouse, release: str) -> tuple[list[tuple[str, str]], pl.DataFrame]:
    """The DuckDB column types and rows of table ``t`` in a release."""
    database = warehouse.root / "releases" / release / "golden.duckdb"
    with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
        types = [(row[0], row[1]) for row in con.execute('DESCRIBE "t"').fetchall()]
        rows = con.sql('SELECT * FROM "t"').pl()
    return types, rows


def test_a_spilled_table_reads_back_its_rows_with_coded_text_as_text(tmp_path: Path) -> None:
    spilled = SpillFolder(tmp_path / "scratch").write("t", _frame().lazy())

    assert spilled.columns == ("unified_id", "decision", "at", "probability", "winner")
    expected = _frame().with_columns(pl.col("decision").cast(pl.String))
    assert_frame_equal(spilled.rows(), expected)
    assert_frame_equal(
        spilled.rows(["probability", "unified_id"]), expected[["probability", "unified_id"]]
    )


def test_parts_written_one_by_one_read_back_as_their_stack(tmp_path: Path) -> None:
    parts = [_frame().slice(0, 2), _frame().slice(2, 1), _frame().clear()]

    spilled = SpillFolder(tmp_path).write_parts("t", iter(parts))

    expected = pl.concat(parts).with_columns(pl.col("decision").cast(pl.String))
    assert_frame_equal(spilled.rows(), expected)


def test_parts_with_other_columns_or_no_part_are_refused(tmp_path: Path) -> None:
    spill = SpillFolder(tmp_path)
    with pytest.raises(ValueError, match="a part has columns"):
        spill.write_parts("t", iter([_frame(), _frame().drop("winner")]))
    with pytest.raises(ValueError, match="no part to write"):
        spill.write_parts("t", iter([]))


def test_publishing_a_spilled_table_equals_publishing_its_frame(tmp_path: Path) -> None:
    """Same DuckDB types and rows, same Parquet mirror; the scratch file can go afterwards."""
    warehouse = Warehouse(tmp_path / "warehouse")
    spill = warehouse.scratch("run-1")
    warehouse.publish({"t": _frame()}, release="r1")
    warehouse.publish({"t": spill.write("t", _frame())}, release="r2")
    spill.remove()

    frame_types, frame_rows = _published(warehouse, "r1")
    spilled_types, spilled_rows = _published(warehouse, "r2")
    assert spilled_types == frame_types
    # A published table's rows come in no particular order (Delta's writer may reorder them).
    assert_frame_equal(spilled_rows.sort("unified_id"), frame_rows.sort("unified_id"))
    mirrors = [
        pl.read_parquet(warehouse.root / "releases" / r / "parquet" / "t.parquet").sort(
            "unified_id"
        )
        for r in ("r1", "r2")
    ]
    assert_frame_equal(mirrors[1], mirrors[0])
    assert not spill.folder.exists()


def test_publish_keeps_the_run_scratch_and_drops_killed_runs_old_scratch(tmp_path: Path) -> None:
    """The checks that do not gate publishing read the run's spilled tables after it."""
    warehouse = Warehouse(tmp_path / "warehouse")
    old, young = warehouse.scratch("killed-long-ago"), warehouse.scratch("still-running")
    for spill in (old, young):
        spill.write("t", _frame())
    stale = time.time() - SCRATCH_MAX_AGE_S - 60
    os.utime(old.folder, (stale, stale))
    spill = warehouse.scratch("run-1")
    tables: dict[str, StagedTable] = {
        "golden_customer": spill.write("golden_customer", _frame()),
        "quarantine": _frame(),
    }

    with warehouse.lock():
        stages.publish_release(
            warehouse, tables, rows_in={}, run_id="run-1", started_at=AT, config_hash="c"
        )

    assert sorted(p.name for p in (warehouse.root / SCRATCH_DIR).iterdir()) == [
        "run-1",
        "still-running",
    ]
    assert warehouse.read_table("golden_customer") is not None
    warehouse.drop_scratch("run-1")
    assert sorted(p.name for p in (warehouse.root / SCRATCH_DIR).iterdir()) == ["still-running"]
    # The published table does not share the fate of the file it was read from.
    assert warehouse.read_table("golden_customer") is not None


def test_a_failed_run_drops_its_scratch(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    spill = warehouse.scratch("run-1")
    spill.write("t", _frame())

    stages.log_failed_run(warehouse, run_id="run-1", started_at=AT, config_hash=None, reason="x")

    assert not spill.folder.exists()


def test_a_spilled_golden_build_equals_the_whole_build_with_overrides(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    """Built range by range (a few hundred records each), overrides applied per range."""
    config = load_fusion_config(SAMPLE_CONFIG)
    warehouse = Warehouse(sample_warehouse)
    std = warehouse.read_table("standardised_records")
    xref = warehouse.read_table("customer_xref")
    history = warehouse.read_table("unified_id_history")
    assert std is not None
    assert xref is not None
    assert history is not None
    ids = xref["unified_id"].unique().sort()
    overrides = pl.DataFrame(
        {
            "override_id": ["o1", "o2"],
            "unified_id": [ids[3], ids[-2]],
            "field": ["tier", "email"],
            "value": ["S", "steward@example.com"],
            "steward": ["ann", "bo"],
            "reason": ["contract", "called"],
            "decided_at": [AT, AT],
        },
        schema=OVERRIDE_SCHEMA,
    )
    whole = apply_field_overrides(
        build_golden_record(
            std, xref, sources=config.sources, settings=config.survivorship, run_id="r"
        ),
        overrides,
        history=history,
        run_id="r",
    )
    identity = stages.Identity(xref=xref, history=history, retired=xref.clear())

    spilled = stages.build_golden(
        std,
        identity,
        config=config,
        run_id="r",
        spill=SpillFolder(tmp_path),
        overrides=overrides,
        part_records=500,
    )

    assert isinstance(spilled, SpilledGolden)
    assert_frame_equal(spilled.golden_customer, whole.golden_customer)
    expected = whole.field_candidates.with_columns(pl.col(pl.Categorical).cast(pl.String))
    assert_frame_equal(spilled.field_candidates.rows(), expected)
    assert spilled.golden_customer.filter(pl.col("unified_id") == ids[3])["tier"].item() == "S"


def test_a_spilled_source_batch_loads_back_as_it_was_read(tmp_path: Path) -> None:
    """Records from the scratch file, same types and rows; quarantine, counts and files kept."""
    source = load_fusion_config(SAMPLE_CONFIG).sources[0]
    batch = stages.load_one_source(source)

    spilled = spill_batch(batch, name=f"source_{source.name}_records", spill=SpillFolder(tmp_path))
    loaded = spilled.loaded()

    assert spilled.records.path.parent == tmp_path
    assert_frame_equal(loaded.records, batch.records)
    assert_frame_equal(loaded.quarantine, batch.quarantine)
    assert (loaded.rows_in, loaded.files) == (batch.rows_in, batch.files)
