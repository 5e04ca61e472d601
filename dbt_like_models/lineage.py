"""Column lineage of the models, chained back to the columns of the source exports.

Two links make the chain:

1. model column -> the table columns it is computed from, by
   ``sqlglot.lineage`` over the model's SELECT (CTEs, joins and unions
   followed; a model reading a model is followed into that model);
2. warehouse column -> source export columns, from the run configuration:
   ``golden_customer.email`` comes from each source's mapping of ``email``
   (``crm.email``, ``erp.电子邮箱`` ...), a fact column from its fact source's
   mapping. ``field_lineage`` adds how many golden values each source column
   actually won in this release.

A column computed without reading any column (``count(*)``) depends on the
rows of its tables, written as column ``*``: rows of a fact table lead to the
export's fact ID column, rows of ``customer_xref`` to the record ID columns.

Example:
    >>> edges = column_edges(project.get("customer_360"), schema)  # doctest: +SKIP
    >>> {(e.table, e.table_column) for e in edges if e.column == "revenue"}  # doctest: +SKIP
    {('fact_invoices', 'amount'), ('fact_invoices', 'status'), ('fact_orders', 'amount'), ...}
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow.dataset as ds
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage

from connectors.canonical import GOLDEN_FIELDS
from connectors.config import FieldMapping, SourceConfig
from connectors.facts import FACT_TABLES, FactConfig
from dbt_like_models.project import DIALECT, Model, ModelError, Project
from dbt_like_models.runner import ModelInput, input_schema

ALL_ROWS = "*"
EDGES_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "column_name": pl.String(),
    "upstream_table": pl.String(),
    "upstream_column": pl.String(),
    "upstream_kind": pl.String(),
}
SOURCES_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "column_name": pl.String(),
    "via_table": pl.String(),
    "via_column": pl.String(),
    "source": pl.String(),
    "source_kind": pl.String(),
    "source_file": pl.String(),
    "source_column": pl.String(),
    "note": pl.String(),
    "values_won": pl.Int64(),
}
COLUMNS_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "column_name": pl.String(),
    "position": pl.Int64(),
    "data_type": pl.String(),
    "description": pl.String(),
    "materialized": pl.String(),
}
_SQL_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.UInt32: "UINTEGER",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Datetime: "TIMESTAMPTZ",
    pl.Date: "DATE",
}


@dataclass(frozen=True)
class ColumnEdge:
    """A model column computed from a column of a table it reads (or its rows: ``*``)."""

    model: str
    column: str
    table: str
    table_column: str


@dataclass(frozen=True)
class SourceRef:
    """Where a warehouse column's values come from in the exports.

    ``kind`` is ``customer_source`` or ``fact_source`` (``file`` and usually
    ``column`` set), ``config`` (the run configuration itself, e.g. a value
    map) or ``derived`` (computed by fusion: match probabilities, trust).
    """

    source: str
    kind: str
    file: str | None
    column: str | None
    note: str = ""


def sql_schema(tables: Mapping[str, ModelInput]) -> dict[str, dict[str, str]]:
    """Table -> column -> SQL type, the schema sqlglot qualifies columns against."""
    return {
        name: {c: _SQL_TYPES.get(type(t), "VARCHAR") for c, t in input_schema(table).items()}
        for name, table in tables.items()
    }


def column_edges(model: Model, schema: Mapping[str, Mapping[str, str]]) -> list[ColumnEdge]:
    """Every (model column -> table column) edge of one model, by sqlglot's lineage.

    The result depends only on the SQL and the schema of the tables it reads,
    so it is computed once per process for each such pair (every run of a
    long-lived process, a test session or a Dagster code server, reuses it).

    Raises:
        ModelError: sqlglot cannot trace the model (e.g. an unnamed expression).
    """
    read = {t: dict(schema[t]) for t in model.depends_on if t in schema}
    key = json.dumps(read, sort_keys=True)
    return list(_traced_edges(model.name, model.sql, key))


@functools.lru_cache(maxsize=256)
def _traced_edges(name: str, sql: str, schema_json: str) -> tuple[ColumnEdge, ...]:
    schema: dict[str, dict[str, str]] = json.loads(schema_json)
    try:
        nodes = lineage(None, sql, schema=schema, dialect=DIALECT)
    except SqlglotError as error:
        first = str(error).strip().splitlines()[0]
        msg = f"model {name!r}: cannot trace column lineage: {first}"
        raise ModelError(msg) from None
    edges: set[ColumnEdge] = set()
    for column, node in nodes.items():
        for table, table_column in _leaves(node, schema):
            edges.add(ColumnEdge(name, column, table, table_column))
    return tuple(sorted(edges, key=lambda e: (e.column, e.table, e.table_column)))


def _leaves(node: Node, schema: Mapping[str, Mapping[str, str]]) -> set[tuple[str, str]]:
    """The (table, column) pairs at the bottom of one column's lineage graph."""
    found: set[tuple[str, str]] = set()
    for step in node.walk():
        if isinstance(step.expression, exp.Table):
            found.add((step.expression.name, step.name.split(".")[-1]))
        elif not step.downstream and not _reads_columns(step.expression):
            # count(*) or a constant: it depends on the rows of the tables in its FROM.
            for table in step.source.find_all(exp.Table):
                if table.name in schema:
                    found.add((table.name, ALL_ROWS))
    return found


def _reads_columns(expression: exp.Expr) -> bool:
    return any(True for _ in expression.find_all(exp.Column))


def source_value_maps(sources: Sequence[SourceConfig]) -> pl.DataFrame:
    """Every value map of the config as rows: the code a source uses for a canonical value.

    Lets a model show ``erp:VIP`` beside the canonical tier ``S``.
    """
    rows = [
        (s.name, field, "/".join(m.source_columns), code, value)
        for s in sources
        for field, m in s.fields.items()
        for code, value in (m.map or {}).items()
        if value is not None
    ]
    schema = ["source_system", "field", "source_column", "source_code", "canonical_value"]
    return pl.DataFrame(rows, schema=dict.fromkeys(schema, pl.String), orient="row").sort(schema)


class WarehouseColumnSources:
    """Warehouse column -> the export columns behind it, from the run configuration."""

    def __init__(self, sources: Sequence[SourceConfig], facts: Sequence[FactConfig]) -> None:
        self._sources = tuple(sources)
        self._facts = tuple(facts)

    def refs(self, table: str, column: str) -> tuple[SourceRef, ...]:
        """Where ``table.column`` comes from (``derived`` when fusion computes it)."""
        fact_kinds = {t: k for k, t in FACT_TABLES.items()}
        if table in fact_kinds:
            return self._fact(fact_kinds[table], column)
        if table == "source_value_maps":
            return (SourceRef("config", "config", None, None, "value maps of the sources"),)
        keyed = table in ("golden_customer", "customer_xref", "field_lineage", "field_candidates")
        if keyed and column in (ALL_ROWS, "source_record_id", "unified_id"):
            return self._record_ids()
        if table == "golden_customer":
            if column in GOLDEN_FIELDS:
                return self._field(column)
            if column in ("source_count", "record_count"):
                return self._record_ids()
            if column in ("first_seen_at", "updated_at"):
                return self._updated_at()
        if table in ("field_lineage", "field_candidates"):
            if column == "value":
                # Only golden fields have candidates (birth_date is matched on, never kept).
                return tuple(r for f in GOLDEN_FIELDS for r in self._field(f))
            if column in ("source_updated_at", "confirmed_at"):
                return self._updated_at()
        if table == "quarantine" and column == "raw":
            return tuple(
                SourceRef(s.name, "customer_source", s.path, None, "the whole rejected row")
                for s in self._sources
            )
        return (SourceRef("fusion", "derived", None, None, f"{table}.{column} is computed"),)

    def _record_ids(self) -> tuple[SourceRef, ...]:
        return tuple(
            SourceRef(s.name, "customer_source", s.path, s.record_id, "record id")
            for s in self._sources
        )

    def _updated_at(self) -> tuple[SourceRef, ...]:
        return tuple(
            SourceRef(s.name, "customer_source", s.path, s.updated_at.column, "last modified")
            for s in self._sources
            if s.updated_at is not None
        )

    def _field(self, field: str) -> tuple[SourceRef, ...]:
        refs: list[SourceRef] = []
        for source in self._sources:
            mapping = source.fields.get(field)
            if mapping is not None:
                refs.extend(_mapping_refs(source.name, "customer_source", source.path, mapping))
        return tuple(refs)

    def _fact(self, kind: str, column: str) -> tuple[SourceRef, ...]:
        refs: list[SourceRef] = []
        for fact in (f for f in self._facts if f.kind == kind):
            if column == ALL_ROWS:
                refs.append(SourceRef(fact.name, "fact_source", fact.path, fact.fact_id, "fact id"))
                continue
            mapping: FieldMapping | None = getattr(fact, column, None)
            if column in ("amount", "currency", "status") and mapping is not None:
                refs.extend(_mapping_refs(fact.name, "fact_source", fact.path, mapping))
            elif column in fact.column_of and fact.column_of[column]:
                refs.extend(
                    SourceRef(fact.name, "fact_source", fact.path, c)
                    for c in fact.column_of[column]
                )
            else:
                note = f"{column} is set by fusion from the fact config"
                refs.append(SourceRef(fact.name, "config", fact.path, None, note))
        return tuple(refs)


def _mapping_refs(name: str, kind: str, path: str, mapping: FieldMapping) -> list[SourceRef]:
    if mapping.constant is not None:
        return [SourceRef(name, kind, path, None, f"constant {mapping.constant!r}")]
    note = "value map" if mapping.map else "present/absent" if mapping.derives_presence else ""
    return [SourceRef(name, kind, path, c, note) for c in mapping.source_columns]


@dataclass(frozen=True)
class ProjectLineage:
    """The lineage tables of a built project."""

    columns: pl.DataFrame
    edges: pl.DataFrame
    sources: pl.DataFrame


def project_lineage(
    project: Project,
    *,
    tables: Mapping[str, ModelInput],
    built: Mapping[str, pl.DataFrame],
    origins: WarehouseColumnSources,
) -> ProjectLineage:
    """Lineage of every model column: direct edges and the export columns at the end.

    Args:
        project: The models.
        tables: The warehouse tables the models read (for their schema, and
            ``field_lineage`` for the values each source column won).
        built: The models' own results (for their schema).
        origins: Warehouse column -> export columns.
    """
    schema = sql_schema({**tables, **built})
    edges = {m.name: column_edges(m, schema) for m in project.models}
    won = _values_won(tables.get("field_lineage"))
    column_rows = [
        (m.name, c, i, schema[m.name][c], m.column_descriptions.get(c, ""), m.materialized)
        for m in project.models
        for i, c in enumerate(built[m.name].columns, start=1)
    ]
    edge_rows = [
        (e.model, e.column, e.table, e.table_column, "model" if e.table in built else "table")
        for model_edges in edges.values()
        for e in model_edges
    ]
    source_rows: set[tuple[object, ...]] = set()
    for model in project.models:
        for column in built[model.name].columns:
            for table, table_column in _warehouse_columns(model.name, column, edges, built):
                for ref in origins.refs(table, table_column):
                    count = won.get((table_column, ref.source, ref.column or ""))
                    source_rows.add(
                        (model.name, column, table, table_column, ref.source, ref.kind,
                         ref.file, ref.column, ref.note,
                         count if table == "golden_customer" else None)
                    )  # fmt: skip
    return ProjectLineage(
        columns=pl.DataFrame(column_rows, schema=COLUMNS_SCHEMA, orient="row"),
        edges=pl.DataFrame(edge_rows, schema=EDGES_SCHEMA, orient="row").sort(
            "model", "column_name"
        ),
        sources=pl.DataFrame(
            sorted(source_rows, key=_sort_key), schema=SOURCES_SCHEMA, orient="row"
        ),
    )


def _sort_key(row: tuple[object, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in row)


def _warehouse_columns(
    model: str,
    column: str,
    edges: Mapping[str, list[ColumnEdge]],
    built: Mapping[str, pl.DataFrame],
) -> set[tuple[str, str]]:
    """The warehouse (non-model) columns a model column derives from, through models."""
    found: set[tuple[str, str]] = set()
    stack = [(model, column)]
    seen: set[tuple[str, str]] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        name, col = current
        targets = [e for e in edges[name] if e.column == col]
        if col == ALL_ROWS:
            # The rows of a model: what its row-counting columns read, else its key (first column).
            targets = [e for e in edges[name] if e.table_column == ALL_ROWS] or [
                e for e in edges[name] if e.column == built[name].columns[0]
            ]
        for edge in targets:
            if edge.table in built:
                stack.append((edge.table, edge.table_column))
            else:
                found.add((edge.table, edge.table_column))
    return found


# Columns project_lineage reads from a warehouse table besides what the models read.
LINEAGE_READS: dict[str, tuple[str, ...]] = {
    "field_lineage": ("field", "source_system", "source_column"),
}


def _values_won(field_lineage: ModelInput | None) -> dict[tuple[str, str, str], int]:
    """(field, source_system, source_column) -> golden values won in this release."""
    if field_lineage is None:
        return {}
    keys = LINEAGE_READS["field_lineage"]
    rows = (
        pl.scan_parquet(field_lineage.files)
        if isinstance(field_lineage, ds.FileSystemDataset)
        else field_lineage.lazy()
    )
    counts = rows.group_by(*keys).len().collect(engine="streaming")
    return {(f, s, c or ""): n for f, s, c, n in counts.iter_rows()}


def describe_sources(sources: pl.DataFrame, *, model: str, column: str | None = None) -> list[str]:
    """Human-readable chains of ``model_column_sources`` rows, one line per source column.

    Example:
        >>> describe_sources(frame, model="customer_360", column="revenue")[1]  # doctest: +SKIP
        '  <- fact_invoices.amount <- erp_invoices: erp_invoices.csv [价税合计]'
    """
    rows = sources.filter(pl.col("model") == model)
    if column is not None:
        rows = rows.filter(pl.col("column_name") == column)
    lines: list[str] = []
    for (name,), group in rows.group_by("column_name", maintain_order=True):
        lines.append(f"{model}.{name}")
        for row in group.iter_rows(named=True):
            where = (
                f"{row['source']}: {row['source_file']}" if row["source_file"] else row["source"]
            )
            what = f" [{row['source_column']}]" if row["source_column"] else ""
            extra = [row["note"]] if row["note"] else []
            if row["values_won"] is not None:
                extra.append(f"{row['values_won']} golden values won")
            tail = f" ({'; '.join(extra)})" if extra else ""
            via = f"{row['via_table']}.{row['via_column']}"
            lines.append(f"  <- {via} <- {where}{what}{tail}")
    return lines
