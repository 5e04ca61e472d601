"""What the ``fusion review`` and ``fusion resolve`` commands do, without the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.errors import FusionError
from pipelines.stewardship.store import StewardshipError, StewardshipStore, parse_record_key
from pipelines.warehouse import Warehouse

SHOWN_EVIDENCE = (
    "left_source_system", "left_source_record_id", "right_source_system",
    "right_source_record_id", "match_probability",
)  # fmt: skip
MAX_HOPS = 100


def _current(warehouse_dir: Path, table: str) -> pl.DataFrame:
    frame = Warehouse(Path(warehouse_dir).resolve()).read_table(table)
    if frame is None:
        msg = f"no published warehouse with table {table!r} at {warehouse_dir}"
        raise FusionError(msg)
    return frame


def pending_review(warehouse_dir: Path) -> pl.DataFrame:
    """The current review queue minus pairs a steward decided since it was published."""
    queue = _current(warehouse_dir, "review_queue")
    decided = StewardshipStore(Path(warehouse_dir).resolve()).link_decisions()
    for left, right in (("left", "right"), ("right", "left")):
        queue = queue.join(
            decided.select(
                pl.col(f"{left}_source_system").alias("left_source_system"),
                pl.col(f"{left}_source_record_id").alias("left_source_record_id"),
                pl.col(f"{right}_source_system").alias("right_source_system"),
                pl.col(f"{right}_source_record_id").alias("right_source_record_id"),
            ),
            on=list(SHOWN_EVIDENCE[:4]),
            how="anti",
        )
    levels = [c for c in queue.columns if c.endswith("_level")]
    return queue.select(*SHOWN_EVIDENCE, *levels)


def _require_records(warehouse_dir: Path, *keys: str) -> None:
    xref = _current(warehouse_dir, "customer_xref")
    known = set(zip(xref["source_system"], xref["source_record_id"], strict=True))
    for key in keys:
        if parse_record_key(key) not in known:
            msg = f"record {key!r} is not in the published warehouse"
            raise StewardshipError(msg)


def record_link_decision(
    warehouse_dir: Path, left: str, right: str, *, decision: str, steward: str, reason: str
) -> dict[str, object]:
    """Validate both records exist, then append the decision (under the warehouse lock)."""
    _require_records(warehouse_dir, left, right)
    warehouse = Warehouse(Path(warehouse_dir).resolve())
    with warehouse.lock():
        return StewardshipStore(warehouse.root).record_link(
            left, right, decision=decision, steward=steward, reason=reason
        )


def record_field_override(
    warehouse_dir: Path, unified_id: str, field: str, value: str, *, steward: str, reason: str
) -> dict[str, object]:
    """Validate the customer is live, then append the override (under the warehouse lock)."""
    live = resolve_id(warehouse_dir, unified_id)
    if live.live_id is None:
        msg = f"unified id {unified_id!r} is retired; nothing to override"
        raise StewardshipError(msg)
    warehouse = Warehouse(Path(warehouse_dir).resolve())
    with warehouse.lock():
        return StewardshipStore(warehouse.root).record_override(
            live.live_id, field, value, steward=steward, reason=reason
        )


@dataclass(frozen=True)
class Resolution:
    """Where a unified ID leads: the path of events and the live ID (None if retired)."""

    requested: str
    path: tuple[tuple[str, str, str | None], ...]
    live_id: str | None

    def describe(self) -> str:
        """One line per hop, ending with the live ID or the retirement."""
        lines = [f"{uid} {event} {other or ''}".rstrip() for uid, event, other in self.path]
        if self.live_id is not None:
            lines.append(f"{self.live_id} is live")
        else:
            lines.append(f"{self.requested} is retired: its records left their sources")
        return "\n".join(lines)


def resolve_id(warehouse_dir: Path, unified_id: str) -> Resolution:
    """Follow ``merged_into`` events from ``unified_id`` to the live customer."""
    live = set(_current(warehouse_dir, "golden_customer")["unified_id"].to_list())
    history = _current(warehouse_dir, "unified_id_history")
    if unified_id not in live and unified_id not in set(history["unified_id"].to_list()):
        msg = f"unified id {unified_id!r} was never issued by this warehouse"
        raise FusionError(msg)
    path: list[tuple[str, str, str | None]] = []
    current = unified_id
    for _ in range(MAX_HOPS):
        if current in live:
            return Resolution(unified_id, tuple(path), current)
        merges = history.filter(
            (pl.col("unified_id") == current) & (pl.col("event") == "merged_into")
        ).sort("at")
        if not merges.height:
            break
        successor = merges["other_unified_id"][-1]
        path.append((current, "merged_into", successor))
        current = successor
    return Resolution(unified_id, tuple(path), None)
