"""Fact sources: transactions keyed by a customer source's record IDs.

ERP invoices, web-shop orders and helpdesk tickets are events of a customer
as one system knows it: each row names the customer by that system's record
ID (``KH003791``, ``EC-000003``). The release keeps them per kind
(``fact_invoices``, ``fact_orders``, ``fact_tickets``) with the customer
source's ``source_system`` and ``source_record_id``, so a model rolls them up
to unified customers with one join on ``customer_xref``.

Like customer sources, a fact source is a config entry read with the same
format readers (:mod:`connectors.readers`); rows that cannot be loaded go to
``fact_quarantine`` with a reason naming the column, so
``rows_in == records + quarantine`` holds per fact source. The fact schema is
declared once here; the quality suites derive from it.

Example config entry::

    facts:
      - name: erp_invoices
        kind: invoice                 # invoice | order | ticket
        customer_source: erp          # whose record IDs customer_id holds
        path: erp_invoices.csv
        format: csv
        encoding: gb18030
        fact_id: 发票号码
        customer_id: 客户编号
        occurred_at: {column: 开票日期, format: "%Y/%m/%d %H:%M", timezone: Asia/Shanghai}
        amount: 价税合计
        currency: {constant: CNY}
        status: {column: 状态, map: {已收款: paid, 未收款: open, 已作废: void}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors.canonical import QUARANTINE_SCHEMA
from connectors.config import FieldMapping, FileFormat, TextEncoding, UpdatedAtSpec
from connectors.errors import ConfigError, SchemaDriftError
from connectors.files import entry_files, read_entry_file
from connectors.paths import pattern_outside_roots
from connectors.readers import RawFrame
from connectors.timestamps import UTC_DATETIME, parse_timestamp
from connectors.value_maps import apply_value_map

FactKind = Literal["invoice", "order", "ticket"]
FACT_KINDS: tuple[str, ...] = ("invoice", "order", "ticket")
# The closed status vocabulary of each kind; a config's status map must land in it.
FACT_STATUSES: dict[str, tuple[str, ...]] = {
    "invoice": ("open", "paid", "void"),
    "order": ("completed", "refunded", "cancelled"),
    "ticket": ("open", "closed"),
}
FACT_TABLES: dict[str, str] = {kind: f"fact_{kind}s" for kind in FACT_KINDS}
FACT_QUARANTINE_TABLE = "fact_quarantine"

FACT_SCHEMA: dict[str, pl.DataType] = {
    "fact_source": pl.String(),
    "fact_kind": pl.String(),
    "fact_id": pl.String(),
    # The customer source and its record ID: the join keys of customer_xref.
    "source_system": pl.String(),
    "source_record_id": pl.String(),
    "occurred_at": UTC_DATETIME,
    "amount": pl.Float64(),
    "currency": pl.String(),
    "status": pl.String(),
    "source_file": pl.String(),
    "row_number": pl.Int64(),
}
# Fact columns a config fills from the export (the others are provenance).
MAPPED_FACT_COLUMNS: tuple[str, ...] = (
    "fact_id",
    "source_record_id",
    "occurred_at",
    "amount",
    "currency",
    "status",
)

ColumnName = Annotated[str, Field(min_length=1)]


class FactConfig(BaseModel):
    """One fact export: where it is, how to read it, and which columns mean what.

    ``fact_id`` and ``customer_id`` are columns (dotted paths for JSON);
    ``amount``, ``currency`` and ``status`` are field mappings as for customer
    sources (a column, a constant, a value map). ``status`` values must belong
    to the kind's vocabulary (:data:`FACT_STATUSES`).

    Example:
        >>> fact = FactConfig.model_validate({
        ...     "name": "orders", "kind": "order", "customer_source": "shop",
        ...     "path": "orders.jsonl", "format": "jsonl", "fact_id": "order_id",
        ...     "customer_id": "buyer.id", "base_dir": ".",
        ...     "occurred_at": {"column": "placed_ms", "format": "epoch_ms"},
        ...     "amount": "total.amount",
        ... })
        >>> fact.referenced_columns
        ('order_id', 'buyer.id', 'placed_ms', 'total.amount')
    """

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    name: Annotated[str, Field(min_length=1)]
    kind: FactKind
    customer_source: Annotated[str, Field(min_length=1)]
    path: Annotated[str, Field(min_length=1)]
    format: FileFormat
    encoding: TextEncoding = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    fact_id: ColumnName
    customer_id: ColumnName
    occurred_at: UpdatedAtSpec
    amount: FieldMapping | None = None
    currency: FieldMapping | None = None
    status: FieldMapping | None = None
    base_dir: Path
    data_roots: tuple[Path, ...] = Field(default=(), exclude=True)

    @field_validator("amount", "currency", "status", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        return {"column": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> FactConfig:
        problem = pattern_outside_roots(self.path, base_dir=self.base_dir, roots=self.allowed_roots)
        if problem is not None:
            raise _KeyedError("path", f"{self.path!r} {problem}")
        if self.sheet is not None and self.format != "excel":
            raise _KeyedError("sheet", "only valid with format 'excel'")
        for key in ("amount", "currency", "status"):
            mapping: FieldMapping | None = getattr(self, key)
            if mapping is not None and mapping.derives_presence:
                raise _KeyedError(key, "'present'/'absent' make no sense for a fact column")
            if mapping is not None and mapping.join is not None:
                raise _KeyedError(f"{key}.join", "joining columns is for customer fields only")
        if self.amount is not None and self.amount.map is not None:
            raise _KeyedError("amount.map", "amounts are numbers; a value map makes no sense")
        allowed = FACT_STATUSES[self.kind]
        for path, value in self.status.fixed_outputs() if self.status else ():
            if value not in allowed:
                where = ".".join(("status", *path))
                msg = f"value {value!r} is not a {self.kind} status (allowed: {', '.join(allowed)})"
                raise _KeyedError(where, msg)
        return self

    @property
    def table(self) -> str:
        """The release table this fact source's rows go to."""
        return FACT_TABLES[self.kind]

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        """Folders this fact source may read from."""
        return (self.base_dir, *self.data_roots)

    @property
    def column_of(self) -> dict[str, tuple[str, ...]]:
        """Fact column -> the export columns it is read from (empty for a constant)."""
        columns: dict[str, tuple[str, ...]] = {
            "fact_id": (self.fact_id,),
            "source_record_id": (self.customer_id,),
            "occurred_at": (self.occurred_at.column,),
        }
        for key in ("amount", "currency", "status"):
            mapping: FieldMapping | None = getattr(self, key)
            columns[key] = mapping.source_columns if mapping is not None else ()
        return columns

    @property
    def referenced_columns(self) -> tuple[str, ...]:
        """Every export column the config reads; their absence is schema drift."""
        return tuple(dict.fromkeys(c for cols in self.column_of.values() for c in cols))


class _KeyedError(ValueError):
    """A validation failure at a key below the fact entry (for the message)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def parse_facts(
    raw: Any,
    *,
    base_dir: Path,
    source_names: Sequence[str],
    data_roots: Sequence[Path] = (),
) -> tuple[FactConfig, ...]:
    """Validate the ``facts:`` list of a run config.

    Raises:
        ConfigError: naming each bad fact source and key, e.g.
            ``fact 'erp_invoices': key 'customer_source': unknown source 'erpp'``.
    """
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ConfigError(f"key 'facts': expected a list of fact sources, got {raw!r}")
    problems: list[str] = []
    facts: list[FactConfig] = []
    for index, entry in enumerate(raw, start=1):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        label = f"fact {name!r}" if isinstance(name, str) and name else f"fact #{index}"
        if not isinstance(entry, Mapping):
            problems.append(f"{label}: expected a mapping of keys, got {entry!r}")
            continue
        if "base_dir" in entry or "data_roots" in entry:
            problems.append(f"{label}: key 'base_dir'/'data_roots': unknown key")
            continue
        try:
            fact = FactConfig.model_validate(
                {**entry, "base_dir": base_dir, "data_roots": tuple(data_roots)}
            )
        except ValidationError as exc:
            problems.extend(f"{label}: {_describe(error)}" for error in exc.errors())
            continue
        if fact.customer_source not in source_names:
            known = ", ".join(source_names)
            problems.append(
                f"{label}: key 'customer_source': unknown source {fact.customer_source!r} "
                f"(configured sources: {known})"
            )
        elif any(f.name == fact.name for f in facts):
            problems.append(f"{label}: key 'name': duplicate fact source name")
        else:
            facts.append(fact)
    if problems:
        raise ConfigError("; ".join(problems))
    return tuple(facts)


def _describe(error: Any) -> str:
    loc = [str(p) for p in error["loc"]]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _KeyedError):
        return f"key {'.'.join([*loc, cause.key])!r}: {cause.message}"
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return f"key {'.'.join(loc)!r}: {message}" if loc else message


@dataclass(frozen=True)
class FactBatch:
    """One fact source's rows: loaded (``FACT_SCHEMA``) and quarantined.

    Invariant: ``rows_in == records.height + quarantine.height``.
    """

    records: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    files: tuple[str, ...]


def load_fact_source(fact: FactConfig) -> FactBatch:
    """Read every file of a fact source and map it to fact rows.

    A fact ID seen again (in the same or a later file) is quarantined; the
    first occurrence is kept, since a fact, unlike a customer, is not updated
    by a later save.

    Raises:
        SourceReadError: no file matches, or a file cannot be read at all.
        SchemaDriftError: a file lacks a column the config maps.

    Example:
        >>> batch = load_fact_source(config.facts[0])  # doctest: +SKIP
        >>> batch.rows_in == batch.records.height + batch.quarantine.height  # doctest: +SKIP
        True
    """
    mapped: list[pl.DataFrame] = []
    rows_in = 0
    files = entry_files(fact, kind="fact")
    for path, source_file in files:
        raw = read_entry_file(path, entry=fact, kind="fact", source_file=source_file)
        rows_in += raw.rows_in
        mapped.append(_map_file(raw, fact=fact, source_file=source_file))
    frame = _quarantine_duplicates(pl.concat(mapped))
    good = pl.col("reason").is_null()
    records = frame.filter(good).select(FACT_SCHEMA.keys())
    quarantine = frame.filter(~good).select(QUARANTINE_SCHEMA.keys())
    assert rows_in == records.height + quarantine.height, f"fact {fact.name!r}: rows lost"
    return FactBatch(
        records=records,
        quarantine=quarantine,
        rows_in=rows_in,
        files=tuple(name for _, name in files),
    )


def fact_tables(batches: Mapping[str, FactBatch], *, run_id: str) -> dict[str, pl.DataFrame]:
    """The release tables of all fact sources: one per kind, plus their quarantine.

    Every kind's table is present (empty when no source has that kind), so a
    model may read ``fact_orders`` whatever the config lists.
    """
    tables: dict[str, pl.DataFrame] = {}
    for kind, table in FACT_TABLES.items():
        frames = [b.records.filter(pl.col("fact_kind") == kind) for b in batches.values()]
        combined = pl.concat(frames) if frames else pl.DataFrame(schema=FACT_SCHEMA)
        tables[table] = combined.sort("fact_source", "fact_id")
    quarantine = [b.quarantine for b in batches.values()]
    combined = pl.concat(quarantine) if quarantine else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    tables[FACT_QUARANTINE_TABLE] = combined.with_columns(pl.lit(run_id).alias("run_id")).sort(
        "source_system", "source_file", "row_number"
    )
    return tables


def _text(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text != "").then(text)


def _mapped_text(mapping: FieldMapping | None, *, key: str) -> tuple[pl.Expr, list[pl.Expr]]:
    """A text fact column from its mapping, with the reasons a row cannot be loaded."""
    if mapping is None:
        return pl.lit(None, pl.String), []
    if mapping.constant is not None:
        return pl.lit(mapping.constant, pl.String), []
    chosen = pl.coalesce(_text(c) for c in mapping.source_columns)
    if mapping.map is None:
        return chosen, []
    value, unmapped = apply_value_map(chosen, mapping.map)
    columns = "/".join(mapping.source_columns)
    message = pl.concat_str(pl.lit(f"column {columns!r}: unmapped {key} '"), chosen, pl.lit("'"))
    return value, [pl.when(unmapped).then(message)]


def _amount(mapping: FieldMapping | None) -> tuple[pl.Expr, list[pl.Expr]]:
    if mapping is None:
        return pl.lit(None, pl.Float64), []
    if mapping.constant is not None:
        return pl.lit(mapping.constant).cast(pl.Float64, strict=False), []
    text = pl.coalesce(_text(c) for c in mapping.source_columns)
    number = text.cast(pl.Float64, strict=False)
    number = pl.when(number.is_finite()).then(number)
    columns = "/".join(mapping.source_columns)
    bad = pl.concat_str(pl.lit(f"column {columns!r}: '"), text, pl.lit("' is not a number"))
    return number, [pl.when(text.is_not_null() & number.is_null()).then(bad)]


def _map_file(raw: RawFrame, *, fact: FactConfig, source_file: str) -> pl.DataFrame:
    """One file's rows as fact rows plus ``raw`` and ``reason`` (null when loaded)."""
    failures = raw.failures.with_columns(
        source_system=pl.lit(fact.name), source_file=pl.lit(source_file)
    )
    missing = [c for c in fact.referenced_columns if c not in raw.data.columns]
    if missing and raw.row_number.len() > 0:
        names = ", ".join(map(repr, missing))
        file = (fact.base_dir / source_file).as_posix()
        msg = f"fact {fact.name!r}: column(s) {names} not found in {file}"
        raise SchemaDriftError(msg)
    working = pl.DataFrame(schema=dict.fromkeys(fact.referenced_columns, pl.String))
    if raw.row_number.len() > 0:
        working = raw.data.select(fact.referenced_columns)
    spec = fact.occurred_at
    when_text = _text(spec.column)
    occurred_at = parse_timestamp(when_text, spec=spec)
    amount, amount_reasons = _amount(fact.amount)
    currency, currency_reasons = _mapped_text(fact.currency, key="currency")
    status, status_reasons = _mapped_text(fact.status, key="status")
    bad_time = pl.concat_str(
        pl.lit(f"column {spec.column!r}: '"),
        when_text,
        pl.lit(f"' is not a valid timestamp (format {spec.format!r})"),
    )
    reasons = [
        pl.when(_text(fact.fact_id).is_null()).then(pl.lit(f"missing fact id ({fact.fact_id!r})")),
        pl.when(_text(fact.customer_id).is_null()).then(
            pl.lit(f"missing customer id ({fact.customer_id!r})")
        ),
        pl.when(when_text.is_null()).then(pl.lit(f"missing timestamp ({spec.column!r})")),
        pl.when(when_text.is_not_null() & occurred_at.is_null()).then(bad_time),
        *amount_reasons,
        *currency_reasons,
        *status_reasons,
    ]
    reason = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    mapped = working.select(
        pl.lit(fact.name).alias("fact_source"),
        pl.lit(fact.kind).alias("fact_kind"),
        _text(fact.fact_id).alias("fact_id"),
        pl.lit(fact.customer_source).alias("source_system"),
        _text(fact.customer_id).alias("source_record_id"),
        occurred_at.alias("occurred_at"),
        amount.alias("amount"),
        currency.alias("currency"),
        status.alias("status"),
        pl.lit(source_file).alias("source_file"),
        pl.when(reason != "").then(reason).alias("reason"),
    ).with_columns(row_number=raw.row_number, raw=raw.raw)
    schema = {**FACT_SCHEMA, "raw": pl.String(), "reason": pl.String()}
    # A loaded row names its customer's source; a quarantined one the fact source.
    label = pl.when(pl.col("reason").is_null()).then(pl.lit(fact.customer_source))
    return (
        pl.concat([mapped, failures], how="diagonal")
        .select(pl.col(name).cast(dtype) for name, dtype in schema.items())
        .with_columns(
            fact_source=pl.lit(fact.name), source_system=label.otherwise(pl.lit(fact.name))
        )
        .sort("row_number")
    )


def _quarantine_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Quarantine every loadable row whose fact ID was seen before (file, then row order)."""
    ordinal = "_ordinal"
    loadable = pl.col("reason").is_null()
    key = pl.when(loadable).then(pl.col("fact_id"))
    first_row = pl.col("row_number").first().over(key)
    first_file = pl.col("source_file").first().over(key)
    where = (
        pl.when(first_file == pl.col("source_file"))
        .then(first_row.cast(pl.String))
        .otherwise(pl.concat_str(first_row.cast(pl.String), pl.lit(" of "), first_file))
    )
    message = pl.concat_str(
        pl.lit("duplicate fact id '"), pl.col("fact_id"), pl.lit("' (kept row "), where, pl.lit(")")
    )
    repeated = loadable & (pl.col(ordinal) != pl.col(ordinal).first().over(key))
    return (
        frame.with_row_index(ordinal)
        .with_columns(repeated.alias("_repeated"), message.alias("_message"))
        .with_columns(
            reason=pl.when("_repeated").then("_message").otherwise("reason"),
            source_system=pl.when("_repeated").then("fact_source").otherwise("source_system"),
        )
        .drop(ordinal, "_repeated", "_message")
    )
