"""Incremental runs reuse unchanged work and agree exactly with a full rebuild."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from rich.console import Console

from connectors import load_source
from matching import standardise
from pipelines import stages
from pipelines.incremental import (
    KEYS,
    Baseline,
    standardise_in_parts,
    standardise_incrementally,
    with_content_hash,
)
from pipelines.orchestration.runner import run_pipeline
from pipelines.settings import load_fusion_config
from pipelines.warehouse import Warehouse
from pipelines.warehouse.spill import SpillFolder
from tests.matching.conftest import canonical_frame
from tests.pipelines.conftest import SAMPLE_CONFIG, SAMPLES
from tests.pipelines.test_identity_lifecycle import CrmExport, second_batch

REGIONS = {"crm": "CN"}
ROWS = [
    {"source_record_id": "1", "name": "上海星辰貿易有限公司", "phone": "021-6123 4567"},
    {"source_record_id": "2", "name": "Northwind Logistics Inc.", "email": "Ops@Northwind.example"},
    {"source_record_id": "3", "name": "王伟", "phone": "138 0013 8000"},
]


def _without_hash(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("content_hash").sort("record_index")


def test_incremental_standardisation_equals_standardising_everything() -> None:
    first = standardise_incrementally(
        canonical_frame(ROWS), baseline=Baseline(), default_regions=REGIONS
    )
    changed = [*ROWS[:2], {**ROWS[2], "phone": "139 0013 8000"},
               {"source_record_id": "0", "name": "Harbor Foods GmbH"}]  # fmt: skip
    again = standardise_incrementally(
        canonical_frame(changed),
        baseline=Baseline(standardised=first.records),
        default_regions=REGIONS,
    )
    assert (again.reused, again.standardised) == (2, 2)
    everything = standardise(canonical_frame(changed), default_regions=REGIONS)
    assert _without_hash(again.records).select(everything.columns).equals(everything)


def test_each_standardised_record_carries_its_own_input_content_hash() -> None:
    rows = [ROWS[2], ROWS[0], {"source_record_id": "10", "name": "Harbor Foods GmbH"}, ROWS[1]]
    records = canonical_frame(rows)

    std = standardise_incrementally(records, baseline=Baseline(), default_regions=REGIONS).records

    by_key = std.select(*KEYS, "content_hash").join(
        with_content_hash(records).select(*KEYS, pl.col("content_hash").alias("expected")), on=KEYS
    )
    assert by_key.height == len(rows)
    assert by_key.filter(pl.col("content_hash") != pl.col("expected")).is_empty()
    assert by_key["content_hash"].n_unique() == len(rows)


def test_a_standardiser_that_loses_the_key_order_is_refused() -> None:
    def reversed_standardise(records: pl.DataFrame, **kwargs: object) -> pl.DataFrame:
        std = standardise(records, default_regions=REGIONS)
        return std.reverse()

    with pytest.raises(ValueError, match="key order"):
        standardise_incrementally(
            canonical_frame(ROWS),
            baseline=Baseline(),
            default_regions=REGIONS,
            standardiser=reversed_standardise,
        )


def test_standardising_in_parts_gives_the_records_of_standardising_at_once() -> None:
    config = load_fusion_config(SAMPLE_CONFIG)
    records = pl.concat([load_source(s).records for s in config.sources], how="vertical")
    regions = config.default_regions
    whole = standardise_incrementally(records, baseline=Baseline(), default_regions=regions)

    parts = list(standardise_in_parts(records, default_regions=regions, chunk_rows=7))

    assert len(parts) == -(-records.height // 7) > 1
    assert_frame_equal(pl.concat(parts), whole.records)


def test_the_standardise_step_spills_the_records_it_would_hold(tmp_path: Path) -> None:
    """Streamed part by part to the scratch folder or standardised whole: the same file rows."""
    config = load_fusion_config(SAMPLE_CONFIG)
    batches = {s.name: load_source(s) for s in config.sources}
    whole = stages.standardise_batches(batches, config=config, baseline=Baseline())
    expected = SpillFolder(tmp_path / "whole").write("standardised_records", whole.records)

    spilled = stages.spill_standardised(
        batches, config=config, baseline=Baseline(), spill=SpillFolder(tmp_path / "parts")
    )

    assert (spilled.reused, spilled.standardised) == (0, whole.records.height)
    assert_frame_equal(spilled.records.rows(), expected.rows())
    again = stages.spill_standardised(
        batches,
        config=config,
        baseline=Baseline(standardised=whole.records),
        spill=SpillFolder(tmp_path / "again"),
    )
    assert (again.reused, again.standardised) == (whole.records.height, 0)
    assert_frame_equal(again.records.rows(), expected.rows())


def _xref(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        return con.sql(
            "SELECT source_system, source_record_id, unified_id FROM customer_xref "
            "ORDER BY source_system, source_record_id"
        ).pl()


def _model(warehouse: Path) -> dict[str, object]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        return json.loads(con.sql("SELECT match_model_json FROM run_settings").fetchall()[0][0])


@pytest.mark.slow
def test_incremental_batch_gives_the_clusters_and_ids_of_a_full_rebuild(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    config, warehouse, quiet = samples / "fusion.yaml", tmp_path / "wh", Console(quiet=True)
    run_pipeline(config, warehouse, console=quiet)
    model = _model(warehouse)
    crm = CrmExport(samples / "crm_customers.csv")
    _, new = second_batch(crm)
    crm.write()

    run_pipeline(config, warehouse, console=quiet)  # incremental: the daily job
    incremental = _xref(warehouse)
    assert _model(warehouse) == model  # the batch did not move the model
    run_pipeline(config, warehouse, console=quiet, mode="full")
    assert _xref(warehouse).equals(incremental)
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        quarantined = con.sql("SELECT count(*) FROM quarantine").fetchall()[0][0]
    assert incremental.height + quarantined == 6_643 + new  # every row of the batch accounted for

    run_pipeline(config, warehouse, console=quiet, mode="retrain")
    assert _model(warehouse) != model  # learnt again, on the new data


def _tables(warehouse: Path, *names: str) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        return {name: con.sql(f'SELECT * FROM "{name}"').pl() for name in names}


@pytest.mark.slow
def test_incremental_carries_unchanged_golden_records_over_exactly(tmp_path: Path) -> None:
    """A batch that does not move the latest update: golden records equal a full rebuild's."""
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    config, warehouse, quiet = samples / "fusion.yaml", tmp_path / "wh", Console(quiet=True)
    run_pipeline(config, warehouse, console=quiet)
    crm = CrmExport(samples / "crm_customers.csv")
    originals = [r for r in crm.rows if r[0].startswith("CRM-0")]
    email = crm.header.index("email")
    for row in originals[:40]:  # changed, same timestamp
        row[email] = "changed." + row[email] if row[email] else "someone@example.org"
    crm.rows.extend([[f"CRM-7{i:05d}", *row[1:]] for i, row in enumerate(originals[100:400])])
    crm.rows = [r for r in crm.rows if r[0] not in {o[0] for o in originals[500:520]}]
    crm.write()
    rebuilt = tmp_path / "wh-full"
    shutil.copytree(warehouse, rebuilt, symlinks=True)
    base = Warehouse(warehouse).current_release()
    run_pipeline(config, warehouse, console=quiet)
    run_pipeline(config, rebuilt, console=quiet, mode="full")
    names = _table_names(warehouse)
    assert names == _table_names(rebuilt)
    incremental, full = _tables(warehouse, *names), _tables(rebuilt, *names)
    runs = incremental["field_lineage"]["run_id"].n_unique()
    assert runs == 2  # most customers were carried over, the touched ones recomputed
    for name in names - NOT_COMPARED:
        a, b = _comparable(incremental[name]), _comparable(full[name])
        assert a.equals(b), name
    # Published as changes to the release it read: the frozen name statistics are
    # the base release's Delta version, the changed tables new versions of theirs, and
    # every Parquet mirror equals its table (hash columns stored signed, bit for bit).
    then = Warehouse(warehouse).manifest(str(base))
    now = Warehouse(warehouse).manifest(str(Warehouse(warehouse).current_release()))
    assert then is not None
    assert now is not None
    assert now.tables["name_idf"] == then.tables["name_idf"]
    for changed in ("golden_customer", "standardised_records"):
        assert now.tables[changed].path == then.tables[changed].path
        assert now.tables[changed].version > then.tables[changed].version
    for name in names:
        mirror = _unsigned_as(
            pl.read_parquet(warehouse / "parquet" / f"{name}.parquet"), incremental[name]
        )
        assert _comparable(mirror, keep_runs=True).equals(
            _comparable(incremental[name], keep_runs=True)
        ), name


def _unsigned_as(mirror: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """The mirror's signed copies of unsigned columns as the table's types (64 bits: bitwise)."""
    return mirror.with_columns(
        pl.col(c).reinterpret(signed=False)
        if kind == pl.UInt64
        else pl.col(c).list.eval(pl.element().reinterpret(signed=False))
        if kind == pl.List(pl.UInt64)
        else pl.col(c).cast(kind)
        for c, kind in table.schema.items()
        if mirror.schema[c] != kind
    )


# Tables that name the run or its timing, or count what it did (an incremental run
# reports no skipped blocks: it did not recount them).
NOT_COMPARED = {"pipeline_runs", "run_provenance", "run_settings", "quality_validations",
                "blocking_report"}  # fmt: skip
RUN_COLUMNS = ("run_id", "retired_run_id", "at", "retired_at", "as_of")


def _table_names(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        return {row[0] for row in con.execute("SHOW TABLES").fetchall()}


def _comparable(frame: pl.DataFrame, *, keep_runs: bool = False) -> pl.DataFrame:
    """Columns by name, rows sorted; without the columns naming the run unless ``keep_runs``."""
    if not keep_runs:
        frame = frame.drop(RUN_COLUMNS, strict=False)
    frame = frame.select(sorted(frame.columns))
    plain = [c for c, t in frame.schema.items() if not isinstance(t, (pl.List, pl.Struct))]
    zoned = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    frame = frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))
    return frame.sort(plain, nulls_last=True)
