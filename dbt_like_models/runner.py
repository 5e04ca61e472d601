"""Run a model project over the staged release tables, in an in-memory DuckDB.

The release's tables (polars frames) are registered as DuckDB relations; each
model then becomes a table or a view in dependency order, and its result is
taken back as a polars frame so it is published with the golden tables in the
same atomic release. The connection cannot touch files (external access is
off), so a model can only read what the release holds. After the models, their
declared tests run against the built relations.

Example:
    >>> build = run_project(load_project(), release_tables)  # doctest: +SKIP
    >>> build.tables["customer_360"].columns[:2]  # doctest: +SKIP
    ['unified_id', 'customer_type']
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
from sqlglot import exp

from dbt_like_models.model_tests import failing_rows_query
from dbt_like_models.project import DIALECT, Model, ModelError, ModelTest, Project

TEST_RESULTS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "test": pl.String(),
    "kind": pl.String(),
    "column_name": pl.String(),
    "severity": pl.String(),
    "passed": pl.Boolean(),
    "failures": pl.Int64(),
    "sample": pl.String(),
    "query": pl.String(),
}
SAMPLE_SIZE = 5
# DuckDB's own memory while the models build, when a folder to spill to is given.
# Unbounded, the 1M-record release's models took 1 GiB more than their inputs
# (customer_360's joins, golden_customer_masked); at this bound they spill
# and the release step peaks 0.4 GiB lower, 1.5 s slower.
SPILLING_MEMORY_LIMIT = "256MB"
# A table the models read: a frame, or a Parquet dataset DuckDB scans as it goes
# (a run's spilled tables: pipelines.warehouse.spill), so rows the models skip are never read.
ModelInput: TypeAlias = pl.DataFrame | ds.FileSystemDataset


@dataclass(frozen=True)
class ProjectBuild:
    """What running a project produced.

    Attributes:
        tables: Model name -> its rows, in run order.
        test_results: One row per declared test (``TEST_RESULTS_SCHEMA``).
    """

    tables: dict[str, pl.DataFrame]
    test_results: pl.DataFrame

    def failed_tests(self, *, severity: str = "error") -> pl.DataFrame:
        """The failed tests of one severity."""
        return self.test_results.filter(~pl.col("passed") & (pl.col("severity") == severity))


def run_project(
    project: Project, inputs: Mapping[str, ModelInput], *, spill_to: Path | None = None
) -> ProjectBuild:
    """Build every model over ``inputs`` (table name -> frame or Parquet dataset), then test.

    ``spill_to``: a folder DuckDB may spill to, holding its memory to
    :data:`SPILLING_MEMORY_LIMIT` (None: DuckDB's default, most of the machine).

    Raises:
        ModelError: a model reads a table that is neither a model nor an input,
            a model's SQL fails, a model name shadows an input table, or a test
            names a column the model does not have.
    """
    _check_names(project, inputs)
    tables: dict[str, pl.DataFrame] = {}
    with contextlib.closing(sandboxed_connection(spill_to=spill_to)) as con:
        for name, table in inputs.items():
            con.register(name, _arrow(table))
        for model in project.models:
            tables[model.name] = _build(con, model)
        results = [_run_test(con, model, test) for model in project.models for test in model.tests]
    frame = pl.DataFrame(results, schema=TEST_RESULTS_SCHEMA, orient="row")
    return ProjectBuild(tables=tables, test_results=frame)


def sandboxed_connection(*, spill_to: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that cannot read or write files, on UTC.

    With ``spill_to`` it keeps to :data:`SPILLING_MEMORY_LIMIT` by spilling
    there (its own temporary files only; queries still cannot touch files).
    Without, DuckDB's default would spill to ``.tmp`` in the working directory.
    """
    config: dict[str, str | bool | int | float | list[str]] = {"enable_external_access": False}
    if spill_to is not None:
        config |= {"memory_limit": SPILLING_MEMORY_LIMIT, "temp_directory": str(spill_to)}
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _arrow(table: ModelInput) -> pa.Table | ds.FileSystemDataset:
    """What DuckDB scans: a dataset as it is (only the columns and rows a model reads).

    A frame goes as Arrow with string views, as Polars holds them: no copy (at
    a million customers the default large_string copy was 4.7 GiB).
    """
    if isinstance(table, ds.FileSystemDataset):
        return table
    return table.to_arrow(compat_level=pl.CompatLevel.newest())


def input_schema(table: ModelInput) -> pl.Schema:
    """The columns and Polars types of a model input."""
    if isinstance(table, ds.FileSystemDataset):
        return pl.from_arrow(table.schema.empty_table()).schema  # type: ignore[union-attr]
    return table.schema


def _check_names(project: Project, inputs: Mapping[str, ModelInput]) -> None:
    clashes = sorted(set(project.names) & set(inputs))
    if clashes:
        msg = f"model(s) {', '.join(clashes)} would replace the warehouse table of that name"
        raise ModelError(msg)
    known = set(project.names) | set(inputs)
    for model in project.models:
        missing = [d for d in model.depends_on if d not in known]
        if missing:
            msg = (
                f"model {model.name!r} reads {', '.join(map(repr, missing))}, which is neither "
                f"a model nor a warehouse table (tables: {', '.join(sorted(inputs))})"
            )
            raise ModelError(msg)


def _build(con: duckdb.DuckDBPyConnection, model: Model) -> pl.DataFrame:
    create = exp.Create(
        this=exp.to_table(model.name),
        kind=model.materialized.upper(),
        expression=model.expression.copy(),
    )
    try:
        con.execute(create.sql(DIALECT))
        frame = con.sql(exp.select("*").from_(model.name).sql(DIALECT)).pl()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        msg = f"model {model.name!r} ({model.path.name}) failed: {first}"
        raise ModelError(msg) from None
    duplicated = sorted({c for c in frame.columns if frame.columns.count(c) > 1})
    if duplicated:
        msg = f"model {model.name!r}: column(s) {', '.join(duplicated)} appear twice"
        raise ModelError(msg)
    return frame


def _run_test(con: duckdb.DuckDBPyConnection, model: Model, test: ModelTest) -> tuple[object, ...]:
    query = failing_rows_query(test, model=model.name)
    sql = query.sql(DIALECT)
    try:
        failing = con.sql(sql).pl()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        msg = f"model {model.name!r}: test {test.name!r} cannot run: {first}"
        raise ModelError(msg) from None
    sample = [None if v is None else str(v) for v in failing["value"].head(SAMPLE_SIZE)]
    return (
        model.name,
        test.name,
        test.kind,
        test.column,
        test.severity,
        failing.height == 0,
        failing.height,
        json.dumps(sample, ensure_ascii=False),
        sql,
    )
