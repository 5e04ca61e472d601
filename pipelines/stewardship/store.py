"""Steward decisions: stored beside the releases, applied by every later run.

Decisions live in ``DIR/stewardship.duckdb``, an append-only log that the
``fusion review`` commands write (under the warehouse lock) and every run
reads; each release also carries a copy as ``steward_link_decisions`` and
``steward_field_overrides``, so the warehouse shows which decisions shaped it.
Nothing is ever updated in place: the latest decision on a pair or a field
wins, and the older ones stay as the audit trail.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from connectors.canonical import GOLDEN_FIELDS
from connectors.errors import FusionError
from lineage import GoldenRecord
from lineage.golden import FIELD_ORDER
from matching.identity import resolve_unified_ids
from matching.steward import DECISIONS

STORE_NAME = "stewardship.duckdb"
STEWARD_SOURCE = "steward"
STEWARD_RULE = "steward_override"

LINK_SCHEMA: dict[str, pl.DataType] = {
    "decision_id": pl.String(),
    "left_source_system": pl.String(),
    "left_source_record_id": pl.String(),
    "right_source_system": pl.String(),
    "right_source_record_id": pl.String(),
    "decision": pl.String(),
    "steward": pl.String(),
    "reason": pl.String(),
    "decided_at": pl.Datetime("us", "UTC"),
}
OVERRIDE_SCHEMA: dict[str, pl.DataType] = {
    "override_id": pl.String(),
    "unified_id": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "steward": pl.String(),
    "reason": pl.String(),
    "decided_at": pl.Datetime("us", "UTC"),
}
TABLES = {"steward_link_decisions": LINK_SCHEMA, "steward_field_overrides": OVERRIDE_SCHEMA}


class StewardshipError(FusionError):
    """A steward decision is incomplete or names something that does not exist."""


def parse_record_key(text: str) -> tuple[str, str]:
    """'crm:CRM-000123' -> ('crm', 'CRM-000123').

    Example:
        >>> parse_record_key("erp:KH003791")
        ('erp', 'KH003791')
    """
    source, sep, record = text.partition(":")
    if not sep or not source or not record:
        msg = f"record {text!r}: expected SOURCE:RECORD_ID, e.g. crm:CRM-000123"
        raise StewardshipError(msg)
    return source, record


@dataclass(frozen=True)
class StewardshipStore:
    """The decision log of one warehouse folder."""

    root: Path

    @property
    def path(self) -> Path:
        """The DuckDB file holding every decision."""
        return self.root / STORE_NAME

    def _read(self, table: str) -> pl.DataFrame:
        empty = pl.DataFrame(schema=TABLES[table])
        if not self.path.exists():
            return empty
        with contextlib.closing(duckdb.connect(str(self.path), read_only=True)) as con:
            names = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            if table not in names:
                return empty
            frame = con.sql(f"SELECT * FROM {table} ORDER BY decided_at").pl()
        return frame.with_columns(pl.col("decided_at").dt.convert_time_zone("UTC"))

    def link_decisions(self) -> pl.DataFrame:
        """Every must-link / cannot-link decision, oldest first."""
        return self._read("steward_link_decisions")

    def field_overrides(self) -> pl.DataFrame:
        """Every golden field override, oldest first."""
        return self._read("steward_field_overrides")

    def _append(self, table: str, row: dict[str, object]) -> None:
        frame = pl.DataFrame([row], schema=TABLES[table])
        self.root.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(duckdb.connect(str(self.path))) as con:
            con.register("incoming", frame.to_arrow())
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
            con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
            con.execute("CHECKPOINT")

    def record_link(
        self, left: str, right: str, *, decision: str, steward: str, reason: str
    ) -> dict[str, object]:
        """Append a must-link / cannot-link decision between two source records."""
        if decision not in DECISIONS:
            msg = f"decision {decision!r}: expected one of {', '.join(DECISIONS)}"
            raise StewardshipError(msg)
        _require_text(steward=steward, reason=reason)
        (ls, lr), (rs, rr) = parse_record_key(left), parse_record_key(right)
        if (ls, lr) == (rs, rr):
            msg = f"record {left!r} cannot be linked to itself"
            raise StewardshipError(msg)
        row: dict[str, object] = {
            "decision_id": str(uuid.uuid4()),
            "left_source_system": ls,
            "left_source_record_id": lr,
            "right_source_system": rs,
            "right_source_record_id": rr,
            "decision": decision,
            "steward": steward,
            "reason": reason,
            "decided_at": datetime.now(UTC),
        }
        self._append("steward_link_decisions", row)
        return row

    def record_override(
        self, unified_id: str, field: str, value: str, *, steward: str, reason: str
    ) -> dict[str, object]:
        """Append a golden field override; it wins survivorship from the next run on."""
        if field not in GOLDEN_FIELDS:
            msg = f"field {field!r}: expected one of {', '.join(GOLDEN_FIELDS)}"
            raise StewardshipError(msg)
        _require_text(steward=steward, reason=reason)
        row: dict[str, object] = {
            "override_id": str(uuid.uuid4()),
            "unified_id": unified_id,
            "field": field,
            "value": value,
            "steward": steward,
            "reason": reason,
            "decided_at": datetime.now(UTC),
        }
        self._append("steward_field_overrides", row)
        return row


def _require_text(**values: str) -> None:
    for name, value in values.items():
        if not value or not value.strip():
            msg = f"--{name} is required: every decision says who made it and why"
            raise StewardshipError(msg)


def review_queue(evidence: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Scored pairs in the uncertain band that no steward has decided yet."""
    return (
        evidence.lazy()
        .filter((pl.col("decision") == "review") & pl.col("steward_decision").is_null())
        .sort("match_probability", "left_source_record_id", "right_source_record_id")
        .collect()
    )


def apply_field_overrides(
    golden: GoldenRecord, overrides: pl.DataFrame, *, history: pl.DataFrame | None, run_id: str
) -> GoldenRecord:
    """Steward overrides win survivorship; lineage names the steward and the rule.

    An override made on an ID that was later merged follows it to the live ID.
    """
    if not overrides.height:
        return golden
    live = set(golden.golden_customer["unified_id"].to_list())
    latest = (
        overrides.with_columns(resolve_unified_ids(overrides["unified_id"], history))
        .filter(pl.col("unified_id").is_in(list(live)))
        .sort("decided_at")
        .unique(["unified_id", "field"], keep="last", maintain_order=True)
    )
    if not latest.height:
        return golden
    customers = golden.golden_customer
    for field in latest["field"].unique().sort().to_list():
        values = latest.filter(pl.col("field") == field).select(
            "unified_id", pl.col("value").alias("_v")
        )
        customers = (
            customers.join(values, on="unified_id", how="left")
            .with_columns(pl.coalesce("_v", field).alias(field))
            .drop("_v")
        )
    steward_rows = latest.select(
        "unified_id",
        "field",
        "value",
        pl.lit(STEWARD_SOURCE).alias("source_system"),
        pl.col("override_id").alias("source_record_id"),
        pl.col("steward").alias("source_column"),
        pl.col("decided_at").alias("source_updated_at"),
        pl.lit(1.0).alias("trust_score"),
        pl.lit(STEWARD_RULE).alias("rule"),
        pl.lit(run_id).alias("run_id"),
    )
    keys = ["unified_id", "field"]
    # The lineage follows: an overridden winner stops winning, the steward's value wins.
    reason = pl.format("steward override by {}: {}", "steward", "reason")
    overridden = latest.select(*keys, reason.alias("_reason"))
    candidates = (
        golden.field_candidates.join(overridden, on=keys, how="left")
        .with_columns(
            pl.when(pl.col("_reason").is_not_null() & pl.col("is_winner"))
            .then(pl.col("_reason"))
            .otherwise(pl.col("lost_because"))
            .alias("lost_because"),
            (pl.col("is_winner") & pl.col("_reason").is_null()).alias("is_winner"),
        )
        .drop("_reason")
    )
    # In survivorship's order (customer, field), each steward row after its field's
    # candidates: a range of customers gets the order the whole population gets.
    field_order = pl.col("field").replace_strict(FIELD_ORDER, return_dtype=pl.UInt32)
    candidates = pl.concat(
        [candidates, steward_rows.with_columns(pl.lit(True).alias("is_winner"))],
        how="diagonal_relaxed",
    ).sort(pl.col("unified_id"), field_order, maintain_order=True)
    return GoldenRecord(
        golden_customer=customers.select(golden.golden_customer.columns),
        field_candidates=candidates.select(golden.field_candidates.columns),
    )
