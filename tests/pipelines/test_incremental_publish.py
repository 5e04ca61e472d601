"""Publishing on top of a base release gives the release a complete publish gives, atomically."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.faults import FAULT_ACTION, FAULT_AT
from pipelines.warehouse import (
    KEPT,
    DerivedDelta,
    DerivedTable,
    TableDelta,
    Warehouse,
    WarehouseError,
    rows_named,
    table_height,
    table_rows,
)

BEFORE = {
    "golden_customer": pl.DataFrame(
        {"unified_id": ["FU-1", "FU-2", "FU-3"], "name": ["Ada", "Bo", "Cy"], "n": [1, 2, 3]}
    ),
    "standardised_records": pl.DataFrame(
        {
            "source_system": ["crm", "crm", "erp"],
            "source_record_id": ["1", "2", "1"],
            "record_index": [0, 1, 2],
            "name": ["ada", "bo", "cy"],
        }
    ),
    "name_idf": pl.DataFrame({"ngram": ["ad", "bo"], "idf": [1.5, 2.5]}),
    "gone_next_time": pl.DataFrame({"x": [1]}),
    "small": pl.DataFrame({"x": [1, 2]}),
}
AFTER = {
    # FU-2 recomputed, FU-3 retired, FU-4 new; FU-1 carried over.
    "golden_customer": pl.DataFrame(
        {"unified_id": ["FU-1", "FU-2", "FU-4"], "name": ["Ada", "Bob", "Di"], "n": [1, 20, 4]}
    ),
    # crm:0 new (every index moves), crm:2 changed, erp:1 deleted.
    "standardised_records": pl.DataFrame(
        {
            "source_system": ["crm", "crm", "crm"],
            "source_record_id": ["0", "1", "2"],
            "record_index": [0, 1, 2],
            "name": ["zed", "ada", "bob"],
        }
    ),
    "name_idf": BEFORE["name_idf"],
    "small": pl.DataFrame({"x": [3]}),
}
PLAN = {
    "golden_customer": TableDelta(
        ("unified_id",),
        removed=pl.DataFrame({"unified_id": ["FU-2", "FU-3"]}),
        added=AFTER["golden_customer"].filter(pl.col("unified_id") != "FU-1"),
    ),
    "standardised_records": TableDelta(
        ("source_system", "source_record_id"),
        removed=pl.DataFrame({"source_system": ["crm", "erp"], "source_record_id": ["2", "1"]}),
        added=AFTER["standardised_records"].filter(pl.col("source_record_id") != "1"),
        updated=pl.DataFrame(
            {"source_system": ["crm"], "source_record_id": ["1"], "record_index": [1]}
        ),
    ),
    "name_idf": KEPT,
}


def _release(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every table of the current release, sorted, and its Parquet mirror checked against it."""
    tables = {}
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        for (name,) in con.execute("SHOW TABLES").fetchall():
            frame = con.sql(f'SELECT * FROM "{name}"').pl()
            tables[name] = frame.sort(frame.columns)
    for name, frame in tables.items():
        mirror = pl.read_parquet(warehouse / "parquet" / f"{name}.parquet")
        assert mirror.sort(mirror.columns).equals(frame), name
    return tables


def _same(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> bool:
    return left.keys() == right.keys() and all(left[k].equals(right[k]) for k in left)


def _published(root: Path, tables: dict[str, object], *, base: str | None = None) -> Warehouse:
    warehouse = Warehouse(root)
    with warehouse.lock():
        warehouse.publish(tables, release=f"r{len(list(root.glob('releases/*')))}", base=base)  # type: ignore[arg-type]
    return warehouse


def test_changes_on_a_base_release_equal_a_complete_publish(tmp_path: Path) -> None:
    complete = _published(tmp_path / "complete", AFTER)
    warehouse = _published(tmp_path / "delta", BEFORE)
    base = warehouse.current_release()
    _published(tmp_path / "delta", {**AFTER, **PLAN}, base=base)
    assert warehouse.current_release() != base
    assert _same(_release(warehouse.root), _release(complete.root))


def test_changes_are_new_delta_versions_and_a_kept_table_is_the_base_version(
    tmp_path: Path,
) -> None:
    warehouse = _published(tmp_path / "wh", BEFORE)
    base = str(warehouse.current_release())
    _published(warehouse.root, {**AFTER, **PLAN}, base=base)
    before, after = warehouse.manifest(base), warehouse.manifest(str(warehouse.current_release()))
    assert before is not None
    assert after is not None
    assert after.tables["name_idf"] == before.tables["name_idf"]
    (linked,) = (warehouse.parquet_dir / "name_idf.parquet").iterdir()
    (stored,) = after.tables["name_idf"].files
    assert linked.stat().st_ino == Path(stored).stat().st_ino
    assert "gone_next_time" not in after.tables
    changed = after.tables["golden_customer"]
    assert changed.path == before.tables["golden_customer"].path
    assert changed.version > before.tables["golden_customer"].version
    # The base's version of the table is still there to read (time travel).
    then = pl.read_delta(changed.path, version=before.tables["golden_customer"].version)
    assert then.sort("unified_id").equals(BEFORE["golden_customer"])


def test_changes_need_the_current_release_as_base(tmp_path: Path) -> None:
    warehouse = _published(tmp_path / "wh", BEFORE)
    with pytest.raises(ValueError, match="no base release"):
        _published(warehouse.root, {**AFTER, **PLAN})
    with pytest.raises(WarehouseError, match="no longer current"):
        _published(warehouse.root, {**AFTER, **PLAN}, base="an-older-release")
    with pytest.raises(WarehouseError, match="lacks tables"):
        _published(warehouse.root, {"other": KEPT}, base=warehouse.current_release())


def test_a_failure_while_writing_changes_leaves_the_base_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = _published(tmp_path / "wh", BEFORE)
    base = warehouse.current_release()
    before = _release(warehouse.root)
    database = warehouse.root / "releases" / str(base) / "golden.duckdb"
    stamp = database.stat().st_mtime_ns
    monkeypatch.setenv(FAULT_AT, "publish:mid_write")
    monkeypatch.setenv(FAULT_ACTION, "enospc")
    with pytest.raises(WarehouseError, match="No space left"):
        _published(warehouse.root, {**AFTER, **PLAN}, base=base)
    assert warehouse.current_release() == base
    assert database.stat().st_mtime_ns == stamp
    assert _same(_release(warehouse.root), before)
    assert not list((warehouse.root / "releases").glob(".staging-*"))


def _renamed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("n") > 1).select("unified_id", "name")


def _derived(source: dict[str, pl.DataFrame]) -> DerivedTable:
    """A table of the golden customers with n > 1, as a query and as its polars rows."""
    return DerivedTable(
        "SELECT unified_id, name FROM golden_customer WHERE n > 1",
        lambda: _renamed(source["golden_customer"]).lazy(),
        ("unified_id", "name"),
    )


def test_a_derived_table_is_written_from_the_tables_of_its_own_release(tmp_path: Path) -> None:
    """Whole or on a base release (after the changes), as the rows its polars twin gives."""
    expected = _renamed(AFTER["golden_customer"])
    complete = _published(tmp_path / "complete", {**AFTER, "busy": _derived(AFTER)})
    warehouse = _published(tmp_path / "delta", {**BEFORE, "busy": _derived(BEFORE)})
    assert _release(warehouse.root)["busy"].equals(_renamed(BEFORE["golden_customer"]))
    base = warehouse.current_release()
    _published(tmp_path / "delta", {**AFTER, **PLAN, "busy": _derived(AFTER)}, base=base)
    for root in (complete.root, warehouse.root):
        assert _release(root)["busy"].equals(expected.sort("unified_id", "name"))
    assert _same(_release(warehouse.root), _release(complete.root))
    assert table_rows({"busy": _derived(AFTER)}, "busy", ["name"]).to_series().to_list() == [
        "Bob",
        "Di",
    ]
    assert table_height(_derived(AFTER)) == 2
    # Readers that name what they use get those columns, in the table's order, or one to count.
    assert rows_named(_derived(AFTER), {"name", "not_a_column"}).columns == ["name"]
    assert rows_named(AFTER["golden_customer"], {"n", "unified_id"}).columns == ["unified_id", "n"]
    assert rows_named(AFTER["golden_customer"], set()).shape == (3, 1)


def test_a_derived_table_recomputed_for_changed_keys_equals_it_derived_whole(
    tmp_path: Path,
) -> None:
    """FU-2 recomputed, FU-3 retired, FU-4 new: only their rows are derived again."""
    complete = _published(tmp_path / "complete", {**AFTER, "busy": _derived(AFTER)})
    warehouse = _published(tmp_path / "delta", {**BEFORE, "busy": _derived(BEFORE)})
    changed = pl.DataFrame({"unified_id": ["FU-2", "FU-3", "FU-4"]})
    partial = DerivedDelta(_derived(AFTER).query, ("unified_id",), changed)
    _published(warehouse.root, {**AFTER, **PLAN, "busy": partial}, base=warehouse.current_release())
    assert _release(warehouse.root)["busy"]["unified_id"].to_list() == ["FU-2", "FU-4"]
    assert _same(_release(warehouse.root), _release(complete.root))
    with pytest.raises(WarehouseError, match="lacks tables"):
        _published(warehouse.root, {"other": partial}, base=warehouse.current_release())
