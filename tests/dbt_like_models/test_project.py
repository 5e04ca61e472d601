"""Model files: one SELECT each, a YAML header, dependencies from the AST, run order."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from dbt_like_models.project import (
    TARGET_DIALECTS,
    ModelError,
    ModelTest,
    load_project,
    parse_model,
    referenced_tables,
)

BUNDLED = load_project()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.sql"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_models_in_dependency_order() -> None:
    assert BUNDLED.names == (
        "customer_360", "customer_health", "customer_tier", "golden_customer_masked",
        "source_quality",
    )  # fmt: skip
    assert BUNDLED.upstream_models("customer_health") == ("customer_360",)
    assert BUNDLED.upstream_models("customer_tier") == ("customer_360",)
    assert BUNDLED.get("golden_customer_masked").materialized == "view"
    assert BUNDLED.external_tables() == (
        "customer_xref", "fact_invoices", "fact_orders", "fact_tickets", "field_candidates",
        "field_lineage", "golden_customer", "quarantine", "source_value_maps",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT a FROM t", ("t",)),
        ("SELECT * FROM a JOIN b USING (id) LEFT JOIN c ON c.x = a.x", ("a", "b", "c")),
        ("WITH t AS (SELECT * FROM base) SELECT * FROM t", ("base",)),
        ("WITH x AS (SELECT 1 AS v) SELECT v FROM x", ()),
        ("SELECT id FROM a WHERE id IN (SELECT id FROM b)", ("a", "b")),
        ("SELECT id FROM a UNION ALL SELECT id FROM b", ("a", "b")),
        # A CTE and a table of the same name inside it: the inner reference is the table.
        ("WITH orders AS (SELECT * FROM fact_orders) SELECT * FROM orders", ("fact_orders",)),
    ],
)
def test_dependencies_come_from_the_ast(sql: str, expected: tuple[str, ...]) -> None:
    assert referenced_tables(sqlglot.parse_one(sql, read="duckdb")) == expected


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "models read warehouse tables only"),
        ("SELECT * FROM other.golden_customer", "use the bare table name"),
    ],
)
def test_reading_files_or_other_databases_is_refused(sql: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        referenced_tables(sqlglot.parse_one(sql, read="duckdb"))


def test_header_declares_materialisation_descriptions_and_tests(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "vip",
        """/*
materialized: view
description: VIPs.
columns:
  unified_id:
    description: The customer.
    tests: [unique, not_null, {relationships: {to: golden_customer, field: unified_id}}]
  tier:
    tests: [{accepted_values: {values: [S, A], severity: warn}}]
  score:
*/
SELECT unified_id, tier, 1 AS score FROM golden_customer WHERE tier = 'S';
""",
    )
    model = parse_model(path)
    assert (model.name, model.materialized, model.description) == ("vip", "view", "VIPs.")
    assert model.column_descriptions == {"unified_id": "The customer.", "tier": "", "score": ""}
    assert model.depends_on == ("golden_customer",)
    assert model.sql.startswith("SELECT unified_id")
    assert not model.sql.endswith(";")
    assert model.tests == (
        ModelTest("unique", "unified_id"),
        ModelTest("not_null", "unified_id"),
        ModelTest("relationships", "unified_id", to="golden_customer", field="unified_id"),
        ModelTest("accepted_values", "tier", severity="warn", values=("S", "A")),
    )
    assert [t.name for t in model.tests][
        2
    ] == "relationships_unified_id__golden_customer_unified_id"


def test_a_model_without_header_is_a_table_without_tests(tmp_path: Path) -> None:
    model = parse_model(write(tmp_path, "plain", "SELECT 1 AS one"))
    assert (model.materialized, model.tests, model.depends_on) == ("table", (), ())


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("two", "SELECT 1; SELECT 2", "expected exactly one SELECT, found SELECT, SELECT"),
        ("ins", "INSERT INTO golden_customer SELECT * FROM golden_customer", "found INSERT"),
        ("drop", "DROP TABLE golden_customer", "found DROP"),
        ("empty", "/* materialized: table */", "found nothing"),
        ("bad", "SELECT FROM WHERE", "not valid DuckDB SQL"),
        ("Upper", "SELECT 1", "lower-case SQL identifier"),
        ("open", "/* materialized: table\nSELECT 1", "never closes"),
        ("yaml", "/* columns: [\n*/ SELECT 1", "header is not valid YAML"),
        ("key", "/* materialised: table */ SELECT 1", "header key 'materialised'"),
        ("kind", "/* materialized: index */ SELECT 1", "header key 'materialized'"),
        ("test", "/* columns: {a: {tests: [primary_key]}} */ SELECT 1 AS a", "unknown test"),
        ("vals", "/* columns: {a: {tests: [accepted_values]}} */ SELECT 1 AS a", "needs 'values'"),
        ("rel", "/* columns: {a: {tests: [{relationships: {to: t}}]}} */ SELECT 1 AS a",
         "needs 'to' and 'field'"),
        ("sev", "/* columns: {a: {tests: [{unique: {severity: fatal}}]}} */ SELECT 1 AS a",
         "key 'severity'"),
    ],
)  # fmt: skip
def test_invalid_model_files_are_refused_naming_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(ModelError, match=message) as error:
        parse_model(write(tmp_path, name, text))
    assert f"{name}.sql" in str(error.value)


def test_order_is_topological_with_ties_by_name(tmp_path: Path) -> None:
    write(tmp_path, "c", "SELECT * FROM b JOIN a USING (id)")
    write(tmp_path, "b", "SELECT * FROM a")
    write(tmp_path, "a", "SELECT * FROM golden_customer")
    write(tmp_path, "z", "SELECT * FROM golden_customer")
    assert load_project(tmp_path).names == ("a", "b", "c", "z")


def test_a_cycle_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a", "SELECT * FROM b")
    write(tmp_path, "b", "SELECT * FROM a")
    write(tmp_path, "c", "SELECT * FROM golden_customer")
    with pytest.raises(ModelError, match="cycle: a, b"):
        load_project(tmp_path)


def test_unknown_model_name_lists_the_models() -> None:
    with pytest.raises(ModelError, match="customer_360"):
        BUNDLED.get("customer_999")


@pytest.mark.parametrize("dialect", TARGET_DIALECTS)
@pytest.mark.parametrize("model", BUNDLED.names)
def test_every_model_transpiles_and_parses_back(model: str, dialect: str) -> None:
    compiled = BUNDLED.get(model).compile(dialect)
    parsed = sqlglot.parse_one(compiled, read=dialect)
    assert isinstance(parsed, sqlglot.exp.Query)
    # The transpiled query reads the same tables.
    assert referenced_tables(parsed) == BUNDLED.get(model).depends_on


def test_transpiling_to_spark_rewrites_duckdb_functions() -> None:
    spark = BUNDLED.get("customer_health").compile("spark")
    assert "DATEDIFF(DAY, c.last_contact_at, c.as_of)" in spark
    assert "date_diff" not in spark.lower().replace("datediff", "")


def test_names_mentioned_by_the_models_reading_a_table(tmp_path: Path) -> None:
    """What a table given to the models must hold: the names they use, or all for a ``*``."""
    write(tmp_path, "won", "SELECT source_system, count(*) AS n FROM field_lineage GROUP BY 1")
    write(
        tmp_path,
        "joined",
        "SELECT g.name, l.rule FROM golden_customer g JOIN field_lineage l USING (unified_id)",
    )
    write(tmp_path, "everything", "SELECT * FROM customer_xref")
    write(tmp_path, "some", "SELECT x.* FROM quarantine x")
    project = load_project(tmp_path)
    # Table names and aliases come along; only the table's own columns are kept from it.
    assert project.names_mentioned("field_lineage") == {
        "source_system", "n", "field_lineage", "name", "rule", "unified_id", "g", "l",
        "golden_customer",
    }  # fmt: skip
    assert {"name", "rule", "unified_id"} <= project.names_mentioned("golden_customer")
    assert project.names_mentioned("customer_xref") is None
    assert project.names_mentioned("quarantine") is None
    assert project.names_mentioned("not_read") == frozenset()


def test_analyst_folders_add_models_that_read_the_bundled_ones(tmp_path: Path) -> None:
    analysts = tmp_path / "analysts"
    analysts.mkdir()
    write(analysts, "top_tier", "SELECT unified_id FROM customer_tier WHERE tier = 'S'")
    write(analysts, "top_tier_count", "SELECT count(*) AS n FROM top_tier")

    project = load_project(extra=[analysts])

    assert project.extra_folders == (analysts,)
    assert set(project.names) == {*BUNDLED.names, "top_tier", "top_tier_count"}
    assert project.names.index("customer_tier") < project.names.index("top_tier")
    assert project.names.index("top_tier") < project.names.index("top_tier_count")
    assert project.upstream_models("top_tier") == ("customer_tier",)
    assert project.get("top_tier").path == analysts / "top_tier.sql"


def test_an_analyst_model_named_like_a_bundled_one_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "customer_360", "SELECT * FROM golden_customer")
    with pytest.raises(ModelError, match="'customer_360' is defined twice"):
        load_project(extra=[tmp_path])


def test_a_missing_analyst_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="models folder .*nope not found"):
        load_project(extra=[tmp_path / "nope"])
