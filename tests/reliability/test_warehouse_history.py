"""The warehouse knows its own history (issue 28, case 3): a missing or broken ``current``
falls back to the newest intact release, and the ID ledger means no unified ID is issued twice."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from pipelines.orchestration.runner import run_pipeline
from pipelines.warehouse import LEDGER_NAME, Warehouse, WarehouseError
from tests.reliability.conftest import read_tables, two_source_samples

CLOCK = datetime(2026, 11, 1, tzinfo=UTC)
KEYS = ["source_system", "source_record_id"]
NEW_CUSTOMER = (
    "CRM-800001,Company,Halcyon Brightwater Ltd,Nora Quill,nora@halcyon-brightwater.example,"
    "+44 20 7946 0999,1 Quill Lane,EC1A 1BB,London,London,United Kingdom,Retail,10-49,,B,"
    "2026-10-01T00:00:00Z\n"
)


def _run(config: Path, warehouse: Path) -> str:
    """One pinned run; what it printed."""
    out = io.StringIO()
    run_pipeline(config, warehouse, console=Console(file=out, width=400), as_of=CLOCK)
    return out.getvalue()


def _ids(warehouse: Path) -> pl.DataFrame:
    return read_tables(warehouse)["customer_xref"].select(*KEYS, "unified_id").sort(KEYS)


def _sequence(ids: pl.Series) -> pl.Series:
    return ids.str.strip_prefix("FU-").cast(pl.Int64)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Samples (CRM and e-commerce, 30 lines) published once: a warehouse to copy."""
    root = tmp_path_factory.mktemp("history")
    config = two_source_samples(root / "data", lines=30)
    _run(config, root / "wh")
    return root


def _copy(published: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(published, tmp_path / "copy", symlinks=True)
    return tmp_path / "copy" / "data" / "fusion.yaml", tmp_path / "copy" / "wh"


@pytest.mark.slow
def test_missing_current_continues_from_the_release_on_disk(
    published: Path, tmp_path: Path
) -> None:
    config, warehouse = _copy(published, tmp_path)
    before = _ids(warehouse)
    release = Warehouse(warehouse).current_release()
    (warehouse / "current").unlink()
    with (config.parent / "crm_customers.csv").open("a", encoding="utf-8") as handle:
        handle.write(NEW_CUSTOMER)

    printed = _run(config, warehouse)

    assert f"warning: warehouse {warehouse}: 'current' is missing; continuing from {release}" in (
        printed.replace("\n", "")
    )
    after = _ids(warehouse)
    kept = after.join(before, on=KEYS, suffix="_before")
    assert kept.height == before.height
    assert kept["unified_id"].equals(kept["unified_id_before"])  # unchanged customers keep IDs
    new = after.join(before, on=KEYS, how="anti")["unified_id"]
    assert new.len() == 1
    assert _sequence(new).item() > _sequence(before["unified_id"]).max()  # no ID reissued
    history = read_tables(warehouse)["unified_id_history"]
    created = history.filter(pl.col("event") == "created")["unified_id"]
    assert created.n_unique() == created.len()


@pytest.mark.slow
def test_corrupt_current_database_falls_back_and_the_ledger_keeps_its_ids(
    published: Path, tmp_path: Path
) -> None:
    """Release 2 gives a new customer an ID, then its golden.duckdb is corrupted. The next
    run falls back to release 1, with a warning, and gives that customer a newer ID: the
    one release 2 published is never issued again (the ledger remembers it)."""
    config, warehouse = _copy(published, tmp_path)
    first = Warehouse(warehouse).current_release()
    with (config.parent / "crm_customers.csv").open("a", encoding="utf-8") as handle:
        handle.write(NEW_CUSTOMER)
    _run(config, warehouse)
    second_ids = _ids(warehouse)
    issued = second_ids.filter(pl.col("source_record_id") == "CRM-800001")["unified_id"].item()
    ledger = json.loads((warehouse / LEDGER_NAME).read_text(encoding="utf-8"))
    assert ledger["highest_unified_id"] == second_ids["unified_id"].max() == issued
    database = warehouse / "current" / "golden.duckdb"
    database.write_bytes(b"this is not a DuckDB file" * 100)

    printed = _run(config, warehouse).replace("\n", "")

    assert "golden.duckdb does not open" in printed
    assert f"continuing from {first}, the newest intact release" in printed
    third = _ids(warehouse)
    reissued = third.filter(pl.col("source_record_id") == "CRM-800001")["unified_id"].item()
    assert _sequence(pl.Series([reissued])).item() > _sequence(pl.Series([issued])).item()
    untouched = third.filter(pl.col("source_record_id") != "CRM-800001")
    assert untouched.equals(second_ids.filter(pl.col("source_record_id") != "CRM-800001"))


@pytest.mark.slow
def test_the_ledger_outlives_every_release(published: Path, tmp_path: Path) -> None:
    """All releases and ``current`` deleted: the run starts afresh, but past the ledger."""
    config, warehouse = _copy(published, tmp_path)
    highest = _sequence(_ids(warehouse)["unified_id"]).max()
    assert isinstance(highest, int)
    shutil.rmtree(warehouse / "releases")
    (warehouse / "current").unlink()

    _run(config, warehouse)

    assert _sequence(_ids(warehouse)["unified_id"]).min() == highest + 1


def test_no_intact_release_fails_in_one_line(published: Path, tmp_path: Path) -> None:
    config, warehouse = _copy(published, tmp_path)
    (warehouse / "current" / "golden.duckdb").write_bytes(b"\0" * 4096)
    with pytest.raises(WarehouseError) as failure:
        _run(config, warehouse)
    message = str(failure.value)
    assert "\n" not in message
    assert "golden.duckdb does not open" in message
    assert "none of the 0 other release(s) under releases/ is intact" in message


def test_dangling_current_is_repaired_under_the_lock(published: Path, tmp_path: Path) -> None:
    _, warehouse = _copy(published, tmp_path)
    store = Warehouse(warehouse)
    release = store.current_release()
    (warehouse / "current").unlink()
    (warehouse / "current").symlink_to(Path("releases") / "19700101T000000-gone")
    (warehouse / "golden.duckdb").unlink()
    with store.lock() as warning:
        assert warning is not None
        assert "'current' points to releases/19700101T000000-gone, which does not exist" in warning
    assert store.current_release() == release
    assert store.read_table("golden_customer") is not None  # the stable path works again
    with store.lock() as again:
        assert again is None


def test_ledger_is_raised_atomically_and_never_lowered(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    assert store.reserved_unified_ids() == 0
    store.reserve_unified_ids(41, run_id="r1")
    store.reserve_unified_ids(7, run_id="r2")
    assert store.reserved_unified_ids() == 41
    document = json.loads((tmp_path / LEDGER_NAME).read_text(encoding="utf-8"))
    assert document["highest_unified_id"] == "FU-00000041"
    assert document["run_id"] == "r1"
    assert [p.name for p in tmp_path.iterdir()] == [LEDGER_NAME]  # no temporary file left
    (tmp_path / LEDGER_NAME).write_text("{", encoding="utf-8")
    with pytest.raises(WarehouseError, match="unified_id_ledger.json is unreadable"):
        store.reserved_unified_ids()


def test_abandoned_run_whose_release_was_published_is_logged_with_its_run_id(
    published: Path, tmp_path: Path
) -> None:
    """A run killed after its swap but before its log line: the lock file still names it,
    and its release names its run (run_settings), so the abandoned entry carries the ID."""
    _, warehouse = _copy(published, tmp_path)
    store = Warehouse(warehouse)
    run_id = read_tables(warehouse)["run_settings"]["run_id"].item()
    holder = {"pid": 1, "host": "elsewhere", "started_at": "2026-11-01", "release": None}
    (warehouse / ".lock").write_text(json.dumps(holder) + "\n", encoding="utf-8")
    with store.lock():
        pass
    abandoned = store.read_run_log()[-1]
    assert abandoned["status"] == "abandoned"
    assert abandoned["run_id"] == run_id
    assert "had been published but the run was not logged" in str(abandoned["reason"])
