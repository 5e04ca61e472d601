"""Steward decisions bind every later run: after a retrain (a new model) and a threshold change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from rich.console import Console

from pipelines.orchestration.runner import run_pipeline
from pipelines.stewardship.store import StewardshipStore
from tests.pipelines.conftest import SAMPLES
from tests.pipelines.test_identity_lifecycle import (
    SPLIT_LEFT,
    SPLIT_RIGHT,
    CrmExport,
    Snapshot,
    second_batch,
    with_threshold,
)

pytestmark = pytest.mark.slow

OVERRIDE_KEY = "crm:CRM-000123"
OVERRIDE_NAME = "Steward Corrected Name Ltd"


def _model(warehouse: Path) -> dict[str, object]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        return json.loads(con.sql("SELECT match_model_json FROM run_settings").fetchall()[0][0])


def _assert_decisions_hold(snapshot: Snapshot, must: tuple[str, str], override_id: str) -> None:
    assert snapshot.id_of(SPLIT_LEFT) != snapshot.id_of(SPLIT_RIGHT)  # cannot-link
    assert snapshot.id_of(must[0]) == snapshot.id_of(must[1])  # must-link
    assert snapshot.id_of(OVERRIDE_KEY) == override_id
    golden = snapshot.golden.filter(pl.col("unified_id") == override_id)
    assert golden["name"].item() == OVERRIDE_NAME
    lineage = snapshot.lineage.filter(
        (pl.col("unified_id") == override_id) & (pl.col("field") == "name")
    )
    assert lineage.select("rule", "value").row(0) == ("steward_override", OVERRIDE_NAME)


def test_decisions_survive_a_retrain_and_a_threshold_change(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    config, warehouse, quiet = samples / "fusion.yaml", tmp_path / "wh", Console(quiet=True)
    run_pipeline(config, warehouse, console=quiet)
    first = Snapshot.read(warehouse)
    assert first.id_of(SPLIT_LEFT) == first.id_of(SPLIT_RIGHT)  # the model links them
    singles = (
        first.xref.group_by("unified_id")
        .agg(pl.col("source_record_id").first(), pl.len())
        .filter((pl.col("len") == 1) & pl.col("source_record_id").str.starts_with("CRM-0"))
        .sort("unified_id")["source_record_id"]
        .to_list()
    )
    must = (f"crm:{singles[0]}", f"crm:{singles[1]}")
    override_id = first.id_of(OVERRIDE_KEY)
    store = StewardshipStore(warehouse)
    store.record_link(SPLIT_LEFT, SPLIT_RIGHT, decision="cannot_link", steward="mei",
                      reason="different tax registrations")  # fmt: skip
    store.record_link(*must, decision="must_link", steward="mei", reason="same company")
    store.record_override(override_id, "name", OVERRIDE_NAME, steward="mei",
                          reason="registered name per business licence")  # fmt: skip

    # A new model: learnt again on data with ~10% new and changed records.
    crm = CrmExport(samples / "crm_customers.csv")
    second_batch(crm)
    crm.write()
    model = _model(warehouse)
    run_pipeline(config, warehouse, console=quiet, mode="retrain")
    assert _model(warehouse) != model
    _assert_decisions_hold(Snapshot.read(warehouse), must, override_id)

    # A lower and a higher match threshold, incremental and full.
    with_threshold(config, 0.8)
    run_pipeline(config, warehouse, console=quiet)
    _assert_decisions_hold(Snapshot.read(warehouse), must, override_id)
    config.write_text((SAMPLES / "fusion.yaml").read_text(encoding="utf-8"), "utf-8")
    with_threshold(config, 0.99)
    run_pipeline(config, warehouse, console=quiet, mode="retrain")
    _assert_decisions_hold(Snapshot.read(warehouse), must, override_id)
