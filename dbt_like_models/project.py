"""The model project: one SELECT per ``*.sql`` file, its header, its dependencies.

A model is a file ``NAME.sql`` holding one SELECT (DuckDB dialect) after an
optional YAML header in a leading block comment::

    /*
    materialized: table          # table | view
    description: One row per unified customer with its activity.
    columns:
      unified_id:
        description: The customer.
        tests: [unique, not_null, {relationships: {to: golden_customer, field: unified_id}}]
      tier:
        tests: [{accepted_values: {values: [S, A, B, C], severity: warn}}]
    */
    SELECT ...

Dependencies are the tables the SELECT reads, found in the sqlglot AST (CTE
names excluded), never by pattern matching; a dependency is another model or a
warehouse table. Models are ordered so each runs after what it reads.

Analysts add models without touching the package: the folders a run config
names under ``models_dir:`` are read beside this package's own (``extra``), and
their files are models like the bundled ones (one project, one dependency
order, one name space: a name defined twice is an error).
Nothing here executes SQL: see :mod:`dbt_like_models.runner`.

Example:
    >>> project = load_project()
    >>> project.get("customer_health").depends_on
    ('customer_360', 'golden_customer')
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from connectors.errors import FusionError

MODELS_DIR = Path(__file__).resolve().parent
DIALECT = "duckdb"
TARGET_DIALECTS = ("spark", "postgres", "snowflake")
TEST_KINDS = ("unique", "not_null", "accepted_values", "relationships")
Severity = Literal["error", "warn"]


class ModelError(FusionError):
    """A model file is invalid, or running it failed: names the model and why."""


@dataclass(frozen=True)
class ModelTest:
    """One declarative test of a model column (dbt's generic tests).

    Attributes:
        kind: unique, not_null, accepted_values or relationships.
        column: The model column tested.
        severity: ``error`` stops publishing; ``warn`` is reported.
        values: The accepted values (accepted_values only).
        to: Table whose ``field`` each value must exist in (relationships only).
        field: See ``to``.
    """

    kind: str
    column: str
    severity: Severity = "error"
    values: tuple[str, ...] = ()
    to: str | None = None
    field: str | None = None

    @property
    def name(self) -> str:
        """A stable check name, e.g. ``unique_unified_id``."""
        if self.kind == "relationships":
            return f"relationships_{self.column}__{self.to}_{self.field}"
        return f"{self.kind}_{self.column}"


class _TestArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    severity: Severity = "error"
    values: tuple[str, ...] | None = None
    to: str | None = None
    field: str | None = None


class _ColumnSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = ""
    tests: tuple[str | dict[str, Any], ...] = ()


class _Header(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    materialized: Literal["table", "view"] = "table"
    description: str = ""
    columns: dict[str, _ColumnSpec] = Field(default_factory=dict)

    @field_validator("columns", mode="before")
    @classmethod
    def _empty_columns(cls, value: Any) -> Any:
        return {k: v or {} for k, v in value.items()} if isinstance(value, Mapping) else value


@dataclass(frozen=True)
class Model:
    """One parsed model file.

    Attributes:
        name: The file name without ``.sql``; also its table name.
        path: The file.
        sql: The SELECT, without the header.
        expression: The parsed SELECT (DuckDB dialect).
        materialized: ``table`` or ``view``.
        description: From the header.
        column_descriptions: Column -> description, from the header.
        tests: The declared tests.
        depends_on: Tables read (models or warehouse tables), sorted.
    """

    name: str
    path: Path
    sql: str
    expression: exp.Query
    materialized: str
    description: str
    column_descriptions: Mapping[str, str]
    tests: tuple[ModelTest, ...]
    depends_on: tuple[str, ...]

    def compile(self, dialect: str) -> str:
        """The SELECT transpiled to another dialect with sqlglot.

        Raises:
            ModelError: sqlglot cannot express the model in that dialect.

        Example:
            >>> load_project().get("source_quality").compile("spark")[:6]
            'SELECT'
        """
        try:
            return sqlglot.transpile(
                self.sql,
                read=DIALECT,
                write=dialect,
                pretty=True,
                unsupported_level=ErrorLevel.RAISE,
            )[0]
        except SqlglotError as error:
            first = str(error).strip().splitlines()[0]
            msg = f"model {self.name!r}: cannot be written as {dialect}: {first}"
            raise ModelError(msg) from None


@dataclass(frozen=True)
class Project:
    """Every model of a folder (and of the analysts' folders), in dependency order (ties by name).

    Attributes:
        folder: The package's models folder (or the one a test names).
        models: The models, in run order.
        extra_folders: The analysts' folders read beside ``folder`` (``models_dir:``).
    """

    folder: Path
    models: tuple[Model, ...] = field(default=())
    extra_folders: tuple[Path, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Model names in run order."""
        return tuple(m.name for m in self.models)

    def get(self, name: str) -> Model:
        """The model called ``name``.

        Raises:
            ModelError: there is none.
        """
        for model in self.models:
            if model.name == name:
                return model
        msg = f"no model {name!r} in {self.folder} (models: {', '.join(self.names)})"
        raise ModelError(msg)

    def upstream_models(self, name: str) -> tuple[str, ...]:
        """The models ``name`` reads directly."""
        return tuple(d for d in self.get(name).depends_on if d in self.names)

    def external_tables(self) -> tuple[str, ...]:
        """Warehouse tables some model reads (everything read that is not a model)."""
        read = {d for m in self.models for d in m.depends_on}
        return tuple(sorted(read - set(self.names)))

    def names_mentioned(self, table: str) -> frozenset[str] | None:
        """Every name the models reading ``table`` mention; None if one selects ``*``.

        Columns, tables and aliases alike: a superset of the columns they
        read from it, so a table given with only its columns named here runs
        the models the same.
        """
        readers = [m for m in self.models if table in m.depends_on]
        expressions = [m.expression for m in readers]
        if any(
            isinstance(star.parent, exp.Select | exp.Column)
            for expression in expressions
            for star in expression.find_all(exp.Star)
        ):
            return None
        # Every identifier, not only column references: ``JOIN ... USING (id)`` names
        # its columns with bare identifiers.
        return frozenset(i.name for e in expressions for i in e.find_all(exp.Identifier))


def load_project(folder: Path | None = None, *, extra: Sequence[Path] = ()) -> Project:
    """Parse every ``*.sql`` file of ``folder`` (default: this package) and of ``extra``.

    ``extra``: the analysts' model folders (``models_dir:`` of the run config).

    Raises:
        ModelError: a file is not one SELECT, its header is invalid, an extra
            folder is missing, two files define one model, or the models read
            each other in a cycle.
    """
    folder = MODELS_DIR if folder is None else Path(folder)
    extra_folders = tuple(Path(f) for f in extra)
    paths = sorted(folder.glob("*.sql"))
    for extra_folder in extra_folders:
        if not extra_folder.is_dir():
            msg = f"models folder {extra_folder} not found"
            raise ModelError(msg)
        paths.extend(sorted(extra_folder.glob("*.sql")))
    models = [parse_model(path) for path in paths]
    seen: dict[str, Path] = {}
    for model in models:
        if model.name in seen:
            msg = f"model {model.name!r} is defined twice: {seen[model.name]} and {model.path}"
            raise ModelError(msg)
        seen[model.name] = model.path
    return Project(folder=folder, models=_in_dependency_order(models), extra_folders=extra_folders)


def parse_model(path: Path) -> Model:
    """Parse one model file: header, the single SELECT, what it reads.

    Raises:
        ModelError: naming the file and the problem.
    """
    name = path.stem
    if not name.isidentifier() or name != name.lower():
        msg = f"model file {path.name}: the name must be a lower-case SQL identifier"
        raise ModelError(msg)
    header, sql = _split_header(path.read_text(encoding="utf-8"), path=path)
    expression = _single_select(sql, path=path)
    return Model(
        name=name,
        path=path,
        sql=sql.strip().rstrip(";").strip(),
        expression=expression,
        materialized=header.materialized,
        description=header.description.strip(),
        column_descriptions={c: s.description.strip() for c, s in header.columns.items()},
        tests=tuple(_tests(header, path=path)),
        depends_on=referenced_tables(expression, path=path),
    )


def referenced_tables(expression: exp.Expr, *, path: Path | None = None) -> tuple[str, ...]:
    """The tables a query reads, without its own CTE names.

    Raises:
        ModelError: the query reads a table function (``read_csv('...')``) or a
            qualified name (``other_db.t``): models read warehouse tables only.

    Example:
        >>> sql = "WITH t AS (SELECT * FROM a) SELECT * FROM t JOIN b USING (id)"
        >>> referenced_tables(sqlglot.parse_one(sql))
        ('a', 'b')
    """
    where = f"model file {path.name}" if path else "query"
    ctes = {cte.alias_or_name for cte in expression.find_all(exp.CTE)}
    names: set[str] = set()
    for table in expression.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            msg = f"{where}: reads {table.sql(DIALECT)!r}; models read warehouse tables only"
            raise ModelError(msg)
        if table.db or table.catalog:
            msg = f"{where}: reads qualified table {table.sql(DIALECT)!r}; use the bare table name"
            raise ModelError(msg)
        if table.name not in ctes:
            names.add(table.name)
    return tuple(sorted(names))


def _split_header(text: str, *, path: Path) -> tuple[_Header, str]:
    stripped = text.lstrip()
    if not stripped.startswith("/*"):
        return _Header(), text
    end = stripped.find("*/")
    if end < 0:
        msg = f"model file {path.name}: the header comment never closes ('*/')"
        raise ModelError(msg)
    try:
        raw = yaml.safe_load(stripped[2:end]) or {}
        header = _Header.model_validate(raw)
    except yaml.YAMLError as error:
        msg = f"model file {path.name}: header is not valid YAML: {error}"
        raise ModelError(msg) from None
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        msg = f"model file {path.name}: header key {key!r}: {first['msg']}"
        raise ModelError(msg) from None
    return header, stripped[end + 2 :]


def _single_select(sql: str, *, path: Path) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except SqlglotError as error:
        first = str(error).strip().splitlines()[0]
        msg = f"model file {path.name}: not valid DuckDB SQL: {first}"
        raise ModelError(msg) from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        kinds = ", ".join(type(s).__name__.upper() for s in statements) or "nothing"
        msg = f"model file {path.name}: expected exactly one SELECT, found {kinds}"
        raise ModelError(msg)
    return statements[0]


def _tests(header: _Header, *, path: Path) -> list[ModelTest]:
    tests: list[ModelTest] = []
    for column, spec in header.columns.items():
        for entry in spec.tests:
            kind, args = (entry, {}) if isinstance(entry, str) else _one_item(entry, path=path)
            where = f"model file {path.name}: column {column!r}: test {kind!r}"
            if kind not in TEST_KINDS:
                msg = f"{where}: unknown test (known: {', '.join(TEST_KINDS)})"
                raise ModelError(msg)
            try:
                parsed = _TestArgs.model_validate(args or {})
            except ValidationError as error:
                first = error.errors()[0]
                msg = f"{where}: key {'.'.join(map(str, first['loc']))!r}: {first['msg']}"
                raise ModelError(msg) from None
            if kind == "accepted_values" and not parsed.values:
                raise ModelError(f"{where}: needs 'values'")
            if kind == "relationships" and not (parsed.to and parsed.field):
                raise ModelError(f"{where}: needs 'to' and 'field'")
            tests.append(
                ModelTest(
                    kind=kind,
                    column=column,
                    severity=parsed.severity,
                    values=parsed.values or (),
                    to=parsed.to,
                    field=parsed.field,
                )
            )
    return tests


def _one_item(entry: dict[str, Any], *, path: Path) -> tuple[str, Any]:
    if len(entry) != 1:
        msg = f"model file {path.name}: a test is a name or a one-key mapping, got {entry!r}"
        raise ModelError(msg)
    return next(iter(entry.items()))


def _in_dependency_order(models: list[Model]) -> tuple[Model, ...]:
    """Kahn's algorithm with a name-ordered queue, so the order is deterministic."""
    by_name = {m.name: m for m in models}
    upstream = {m.name: {d for d in m.depends_on if d in by_name} for m in models}
    for name, deps in upstream.items():
        if name in deps:
            raise ModelError(f"model {name!r} reads itself")
    ready = [name for name, deps in upstream.items() if not deps]
    heapq.heapify(ready)
    ordered: list[Model] = []
    while ready:
        name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for other, deps in upstream.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, other)
    if len(ordered) != len(models):
        stuck = sorted(n for n, deps in upstream.items() if deps)
        msg = f"models read each other in a cycle: {', '.join(stuck)}"
        raise ModelError(msg)
    return tuple(ordered)
