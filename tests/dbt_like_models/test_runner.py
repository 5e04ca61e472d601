"""Running the models: golden files of every model's output on the small fixture.

The expected outputs live in ``golden/<model>.csv``. They are regenerated only
on purpose, after checking the difference by hand::

    FUSION_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/dbt_like_models/test_runner.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dbt_like_models.project import ModelError, load_project
from dbt_like_models.runner import ProjectBuild, run_project
from tests.dbt_like_models.conftest import GOLDEN_DIR, release_tables

BUNDLED = load_project()
UPDATE = os.environ.get("FUSION_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def build() -> ProjectBuild:
    return run_project(BUNDLED, release_tables())


def as_text(frame: pl.DataFrame) -> str:
    """A stable text form: CSV with the dtypes in a header comment."""
    dtypes = ", ".join(f"{name}: {dtype}" for name, dtype in frame.schema.items())
    return f"# {dtypes}\n{frame.write_csv(float_precision=4)}"


@pytest.mark.parametrize("model", BUNDLED.names)
def test_model_output_matches_golden_file(build: ProjectBuild, model: str) -> None:
    golden = GOLDEN_DIR / f"{model}.csv"
    produced = as_text(build.tables[model])
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(produced, encoding="utf-8")
    assert produced == golden.read_text(encoding="utf-8"), f"{model} differs from {golden}"


def test_customer_360_rolls_facts_up_through_xref(build: ProjectBuild) -> None:
    row = (
        build.tables["customer_360"]
        .filter(pl.col("unified_id") == "FU-00000001")
        .row(0, named=True)
    )
    # Two paid invoices count; the voided one does not. The CRM record adds no facts.
    assert (row["invoices"], row["revenue"]) == (2, 300000.0)
    assert row["sources_present"] == "crm,erp"
    shop = (
        build.tables["customer_360"]
        .filter(pl.col("unified_id") == "FU-00000004")
        .row(0, named=True)
    )
    assert (shop["orders"], shop["revenue"]) == (2, 550.5)  # the refunded order is not revenue
    helpdesk = build.tables["customer_360"].filter(pl.col("unified_id") == "FU-00000006")
    assert helpdesk.select("tickets_open", "tickets_closed").row(0) == (2, 0)


def test_orphan_facts_reach_no_customer_and_are_counted(build: ProjectBuild) -> None:
    total = build.tables["customer_360"]["revenue"].sum()
    assert total == pytest.approx(300000 + 75000 + 550.5)  # not the orphans' 500 and 10
    quality = build.tables["source_quality"]
    orphans = dict(quality.select("source_system", "orphan_facts").iter_rows())
    assert orphans == {"crm": 0, "ecommerce": 1, "erp": 1, "tickets": 0}


def test_customer_tier_keeps_the_source_codes_beside_the_computed_tier(
    build: ProjectBuild,
) -> None:
    tiers = build.tables["customer_tier"]
    first = tiers.filter(pl.col("unified_id") == "FU-00000001").row(0, named=True)
    assert first["tier"] == "S"  # 300k CNY in the last 365 days
    assert first["source_tier_codes"] == "crm:A, erp:VIP"
    assert first["golden_tier"] == "S"
    assert not first["tier_changed"]
    inactive = tiers.filter(pl.col("unified_id") == "FU-00000005").row(0, named=True)
    assert (inactive["tier"], inactive["tier_basis"]) == ("C", "no activity in the last 365 days")


def test_health_components_are_within_0_and_100(build: ProjectBuild) -> None:
    health = build.tables["customer_health"]
    for column in ("recency_score", "ticket_score", "trend_score", "completeness_score"):
        assert health[column].is_between(0, 100).all(), column
    # Two open tickets and no closed one: 0 % resolved, minus 20.
    assert health.filter(pl.col("unified_id") == "FU-00000006")["ticket_score"].item() == 0


def test_masked_view_hides_contact_details(build: ProjectBuild) -> None:
    masked = build.tables["golden_customer_masked"].filter(pl.col("unified_id") == "FU-00000001")
    row = masked.row(0, named=True)
    assert row["email"] == "z•••@jiayi.cn"
    assert row["phone"] == "+86•••67"
    assert row["address"] == "浦东•••"
    assert row["contact_name"] == "张•••"
    assert row["name"] == "上海甲乙科技有限公司"  # a company's name is not personal data
    person = build.tables["golden_customer_masked"].filter(pl.col("unified_id") == "FU-00000003")
    assert person.select("name", "address").row(0) == ("王•••", None)
    assert "tax_id" not in masked.columns


def test_every_declared_test_ran_and_passed(build: ProjectBuild) -> None:
    declared = {(m.name, t.name) for m in BUNDLED.models for t in m.tests}
    results = build.test_results
    assert set(results.select("model", "test").iter_rows()) == declared
    assert results["passed"].all(), results.filter(~pl.col("passed"))


def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.sql").write_text(text, encoding="utf-8")


def test_failing_tests_are_reported_with_failing_values(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tiers",
        """/*
columns:
  tier: {tests: [unique, {accepted_values: {values: [S, A], severity: warn}}]}
  unified_id: {tests: [{relationships: {to: customer_xref, field: unified_id}}]}
*/
SELECT unified_id, coalesce(tier, 'A') AS tier FROM golden_customer
UNION ALL SELECT 'FU-99999999', 'S'""",
    )
    build = run_project(load_project(tmp_path), release_tables())
    results = {r["test"]: r for r in build.test_results.iter_rows(named=True)}
    assert results["unique_tier"]["failures"] == 2  # A and S repeat
    assert sorted(json.loads(results["unique_tier"]["sample"])) == ["A", "S"]
    assert results["accepted_values_tier"]["failures"] == 2  # B and C
    assert results["accepted_values_tier"]["severity"] == "warn"
    dangling = results["relationships_unified_id__customer_xref_unified_id"]
    assert json.loads(dangling["sample"]) == ["FU-99999999"]
    assert set(build.failed_tests()["test"]) == {
        "unique_tier",
        "relationships_unified_id__customer_xref_unified_id",
    }


def test_a_model_reading_an_unknown_table_is_refused_before_running(tmp_path: Path) -> None:
    write(tmp_path, "x", "SELECT * FROM golden_customers")
    with pytest.raises(ModelError, match="'golden_customers', which is neither a model nor"):
        run_project(load_project(tmp_path), release_tables())


def test_a_failing_model_names_itself_and_the_database_error(tmp_path: Path) -> None:
    write(tmp_path, "broken", "SELECT no_such_column FROM golden_customer")
    with pytest.raises(ModelError, match=r"model 'broken' \(broken.sql\) failed: .*no_such_column"):
        run_project(load_project(tmp_path), release_tables())


def test_a_model_may_not_replace_a_warehouse_table(tmp_path: Path) -> None:
    write(tmp_path, "golden_customer", "SELECT 1 AS a")
    with pytest.raises(ModelError, match="would replace the warehouse table"):
        run_project(load_project(tmp_path), release_tables())


def test_a_test_on_a_missing_column_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "m", "/* columns: {nope: {tests: [not_null]}} */ SELECT 1 AS a")
    with pytest.raises(ModelError, match="test 'not_null_nope' cannot run"):
        run_project(load_project(tmp_path), release_tables())


def test_models_cannot_read_files_even_through_a_view(tmp_path: Path) -> None:
    # Parsing refuses table functions; the connection refuses file access as well.
    from dbt_like_models.runner import sandboxed_connection

    con = sandboxed_connection()
    with pytest.raises(Exception, match="disabled by configuration"):
        con.execute("SELECT * FROM read_csv('/etc/passwd')")


def test_a_connection_given_a_spill_folder_is_bounded_and_spills_there(tmp_path: Path) -> None:
    from dbt_like_models.runner import SPILLING_MEMORY_LIMIT, sandboxed_connection

    con = sandboxed_connection(spill_to=tmp_path / "spill")
    [(limit, folder)] = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()
    # More rows than fit under the bound are sorted by spilling to the folder.
    con.execute("SET memory_limit = '64MB'")
    [spilled] = con.execute(
        "SELECT count(*), max(f) FROM "
        "(SELECT md5(range::VARCHAR) AS f FROM range(2000000) ORDER BY f)"
    ).fetchall()
    files = list((tmp_path / "spill").rglob("*"))
    with pytest.raises(Exception, match="disabled by configuration"):
        con.execute("SELECT * FROM read_csv('/etc/passwd')")
    con.close()

    assert folder == str(tmp_path / "spill")
    reference = duckdb.connect(":memory:")
    reference.execute(f"SET memory_limit = '{SPILLING_MEMORY_LIMIT}'")
    assert [(limit,)] == reference.execute("SELECT current_setting('memory_limit')").fetchall()
    largest = max(hashlib.md5(str(i).encode()).hexdigest() for i in range(2_000_000))  # noqa: S324
    assert spilled == (2_000_000, largest)
    assert files  # DuckDB's temporary files went to the folder given


def test_a_bounded_build_equals_an_unbounded_one(build: ProjectBuild, tmp_path: Path) -> None:
    bounded = run_project(BUNDLED, release_tables(), spill_to=tmp_path)

    assert bounded.tables.keys() == build.tables.keys()
    for name, frame in build.tables.items():
        assert bounded.tables[name].equals(frame), name
    assert bounded.test_results.equals(build.test_results)
