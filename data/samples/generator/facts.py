"""Transactions keyed by source record IDs: ERP invoices and web-shop orders.

Facts are generated after the customer exports, from their own random stream,
so adding them changes no byte of the customer files. Each system bills the
customer it knows: invoices name ERP record IDs (``KH…``), orders name shop
account IDs (``EC-…``). Volumes follow the true tier (an S customer is billed
far more than a B one) and each customer has one activity trend over the last
three years: steady, growing, declining, or churned (nothing in the last
year), which is what the analyst models should see. Rows of quarantined
customer records get facts too: in real exports the billing system does not
know that the master record is broken, so those facts are orphans.

A few rows carry a defect a loader must quarantine; they are listed in
``truth/invalid_facts.csv``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .output import _csv_line, _write_table
from .plan import AS_OF
from .render import Record
from .world import World

INVOICE_FILE = "erp_invoices.csv"
ORDER_FILE = "ecommerce_orders.jsonl"
INVOICE_COLUMNS = ("发票号码", "客户编号", "开票日期", "价税合计", "币种", "状态")
INVOICE_STATUS_ZH = {"paid": "已收款", "open": "未收款", "void": "已作废"}
SHANGHAI = timezone(timedelta(hours=8))
WINDOW_DAYS = 3 * 365
# Per true tier: (facts per year, lowest amount, highest amount), in CNY.
INVOICE_PROFILE = {
    "S": (6.0, 20_000, 150_000),
    "A": (3.0, 5_000, 50_000),
    "B": (1.2, 800, 12_000),
    "C": (0.5, 200, 3_000),
}
ORDER_PROFILE = {
    "S": (2.5, 500, 8_000),
    "A": (1.8, 200, 4_000),
    "B": (1.0, 80, 1_500),
    "C": (0.6, 30, 600),
}
TRENDS = ("steady", "growing", "declining", "churned")
TREND_WEIGHTS = (0.55, 0.2, 0.15, 0.1)
# Customer records whose ID is missing cannot be billed: nothing names them.
UNBILLABLE_DEFECTS = ("missing_id",)
INVOICE_DEFECTS = {"bad_amount": 3, "impossible_date": 2, "missing_customer": 2, "duplicate_id": 2}
ORDER_DEFECTS = {"bad_amount": 2, "missing_customer": 2, "unmapped_status": 2, "broken_json": 2}


@dataclass
class Fact:
    """One invoice or order before it is written."""

    kind: str
    customer_id: str
    at: datetime
    amount: float
    status: str
    fact_id: str = ""
    defect: str = ""
    row: dict[str, object] = field(default_factory=dict)


def _trend_at(rng: random.Random, trend: str) -> datetime:
    """An instant in the three-year window, placed according to the trend."""
    u = rng.random()
    if trend == "growing":
        share = u**0.5
    elif trend == "declining":
        share = 1 - u**0.5
    elif trend == "churned":
        share = u * (WINDOW_DAYS - 365) / WINDOW_DAYS
    else:
        share = u
    start = AS_OF - timedelta(days=WINDOW_DAYS)
    minutes = int(share * (WINDOW_DAYS * 24 * 60 - 1))
    return start + timedelta(minutes=minutes)


def _count(rng: random.Random, per_year: float) -> int:
    """A count with the given yearly mean over the window (sum of coin flips)."""
    mean = per_year * WINDOW_DAYS / 365
    trials = max(1, round(mean * 2))
    return sum(rng.random() < mean / trials for _ in range(trials))


def _facts_for(rng: random.Random, records: list[Record], world: World, *, kind: str) -> list[Fact]:
    tiers = {e.entity_id: e.tier for e in world.entities}
    trends: dict[str, str] = {}
    profile = INVOICE_PROFILE if kind == "invoice" else ORDER_PROFILE
    facts: list[Fact] = []
    for record in sorted(records, key=lambda r: (r.record_id, r.ts)):
        if record.defect in UNBILLABLE_DEFECTS or record.defect == "duplicate_id":
            continue
        trend = trends.setdefault(record.entity_id, rng.choices(TRENDS, weights=TREND_WEIGHTS)[0])
        per_year, low, high = profile[tiers[record.entity_id]]
        for _ in range(_count(rng, per_year)):
            at = _trend_at(rng, trend)
            amount = round(rng.uniform(low, high), 2)
            facts.append(Fact(kind, record.record_id, at, amount, _status(rng, kind, at)))
    facts.sort(key=lambda f: (f.at, f.customer_id))
    return facts


def _status(rng: random.Random, kind: str, at: datetime) -> str:
    roll = rng.random()
    if kind == "invoice":
        if roll < 0.03:
            return "void"
        recent = at > AS_OF - timedelta(days=60)
        return "open" if recent and roll < 0.7 else "paid"
    if roll < 0.05:
        return "cancelled"
    return "refunded" if roll < 0.12 else "completed"


def _number(facts: list[Fact], *, prefix: str) -> None:
    for position, fact in enumerate(facts, start=1):
        fact.fact_id = f"{prefix}{fact.at:%Y}{position:06d}"


def _invoice_row(fact: Fact) -> dict[str, object]:
    return {
        "发票号码": fact.fact_id,
        "客户编号": fact.customer_id,
        "开票日期": f"{fact.at.astimezone(SHANGHAI):%Y/%m/%d %H:%M}",
        "价税合计": f"{fact.amount:.2f}",
        "币种": "CNY",
        "状态": INVOICE_STATUS_ZH[fact.status],
    }


def _order_row(fact: Fact) -> dict[str, object]:
    return {
        "order_id": fact.fact_id,
        "buyer": {"id": fact.customer_id},
        "placed_ms": int(fact.at.timestamp() * 1000),
        "total": {"amount": fact.amount, "currency": "CNY"},
        "status": fact.status,
    }


def _break(rng: random.Random, facts: list[Fact], defects: dict[str, int]) -> None:
    """Give a few rows a defect; a duplicate is a second copy of an earlier row."""
    for defect, count in defects.items():
        clean = [i for i, f in enumerate(facts) if not f.defect]
        for index in sorted(rng.sample(clean, count), reverse=True):
            fact = facts[index]
            if defect == "duplicate_id":
                copy = Fact(fact.kind, fact.customer_id, fact.at, fact.amount, fact.status)
                copy.fact_id, copy.defect = fact.fact_id, defect
                copy.row = dict(fact.row)
                facts.insert(index + 1 + rng.randrange(3), copy)
                continue
            fact.defect = defect
            _apply_defect(fact, defect)


def _apply_defect(fact: Fact, defect: str) -> None:
    invoice = fact.kind == "invoice"
    if defect == "bad_amount":
        if invoice:
            fact.row["价税合计"] = "待定"
        else:
            fact.row["total"] = {"amount": "TBD", "currency": "CNY"}
    elif defect == "impossible_date":
        fact.row["开票日期"] = f"{fact.at:%Y}/02/30 10:00"
    elif defect == "missing_customer":
        if invoice:
            fact.row["客户编号"] = ""
        else:
            fact.row["buyer"] = {"id": None}
    elif defect == "unmapped_status":
        fact.row["status"] = "lost_in_transit"


def _csv_text(rows: list[dict[str, object]]) -> str:
    lines = [_csv_line(list(INVOICE_COLUMNS))]
    lines += [_csv_line([str(row[c]) for c in INVOICE_COLUMNS]) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def _jsonl_text(facts: list[Fact]) -> str:
    lines = []
    for fact in facts:
        text = json.dumps(fact.row, ensure_ascii=False)
        if fact.defect == "broken_json":
            text = text[: len(text) // 2]
        lines.append(text)
    return "\n".join(lines) + "\n"


def write_facts(
    rng: random.Random, out: Path, world: World, exports: dict[str, list[Record]]
) -> dict[str, int]:
    """Write the two fact files and ``truth/invalid_facts.csv``; return row counts."""
    invoices = _facts_for(rng, exports["erp"], world, kind="invoice")
    orders = _facts_for(rng, exports["ecommerce"], world, kind="order")
    _number(invoices, prefix="FP")
    _number(orders, prefix="SO")
    for fact in invoices:
        fact.row = _invoice_row(fact)
    for fact in orders:
        fact.row = _order_row(fact)
    _break(rng, invoices, INVOICE_DEFECTS)
    _break(rng, orders, ORDER_DEFECTS)
    (out / INVOICE_FILE).write_bytes(_csv_text([f.row for f in invoices]).encode("gb18030"))
    (out / ORDER_FILE).write_bytes(_jsonl_text(orders).encode("utf-8"))
    invalid = [
        [source, name, str(number), fact.fact_id, fact.defect]
        for source, name, facts in (
            ("erp_invoices", INVOICE_FILE, invoices),
            ("ecommerce_orders", ORDER_FILE, orders),
        )
        for number, fact in enumerate(facts, start=1)
        if fact.defect
    ]
    _write_table(
        out / "truth" / "invalid_facts.csv",
        ["fact_source", "source_file", "row_number", "fact_id", "defect"],
        invalid,
    )
    return {INVOICE_FILE: len(invoices), ORDER_FILE: len(orders)}
