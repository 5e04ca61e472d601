"""Declarative model tests become sqlglot-built queries returning the failing rows."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from dbt_like_models.model_tests import failing_rows_query
from dbt_like_models.project import ModelTest

CASES = [
    {
        "test": ModelTest("not_null", "tier"),
        "sql": "SELECT tier AS value FROM m WHERE tier IS NULL",
        "failing": [None],
    },
    {
        "test": ModelTest("unique", "tier"),
        "sql": "SELECT tier AS value FROM m WHERE NOT tier IS NULL GROUP BY tier "
        "HAVING COUNT(*) > 1",
        "failing": ["S"],
    },
    {
        "test": ModelTest("accepted_values", "tier", values=("S", "A")),
        "sql": "SELECT tier AS value FROM m WHERE NOT tier IS NULL "
        "AND NOT CAST(tier AS TEXT) IN ('S', 'A')",
        "failing": ["it's"],
    },
    {
        "test": ModelTest("relationships", "tier", to="parent", field="code"),
        "sql": "SELECT tier AS value FROM m WHERE NOT tier IS NULL "
        "AND NOT tier IN (SELECT code FROM parent WHERE NOT code IS NULL)",
        "failing": ["it's"],
    },
]


@pytest.mark.parametrize("case", CASES, ids=[c["test"].kind for c in CASES])
def test_query_text_and_failing_rows(case: dict) -> None:  # type: ignore[type-arg]
    query = failing_rows_query(case["test"], model="m")
    assert query.sql("duckdb") == case["sql"]
    con = duckdb.connect()
    m = pl.DataFrame({"tier": ["S", "S", "A", None, "it's"]})  # noqa: F841 (read by DuckDB)
    parent = pl.DataFrame({"code": ["S", "A", None]})  # noqa: F841
    failing = con.sql(case["sql"]).pl()["value"].to_list()
    assert sorted(failing, key=str) == sorted(case["failing"], key=str)


def test_identifiers_and_values_are_quoted_by_the_ast() -> None:
    test = ModelTest("accepted_values", "order", values=("a'b",))
    assert failing_rows_query(test, model="select").sql("duckdb") == (
        """SELECT "order" AS value FROM "select" WHERE NOT "order" IS NULL """
        """AND NOT CAST("order" AS TEXT) IN ('a''b')"""
    )
