"""A tiny staged release the models run on: six customers, their records and facts.

Small enough to check each model's output by hand (the golden files under
``golden/``), with one of everything: a customer known to two systems, one
only to the shop, one only to the helpdesk with open tickets, one with no
activity, an orphan invoice and an orphan order (their customer's record was
quarantined), a voided invoice and a refunded order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from connectors.canonical import QUARANTINE_SCHEMA
from connectors.facts import FACT_SCHEMA
from pipelines.settings import FusionConfig, load_fusion_config

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = REPO / "data" / "samples" / "fusion.yaml"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UTC_US = pl.Datetime("us", "UTC")

GOLDEN_SCHEMA = {
    "unified_id": pl.String, "customer_type": pl.String, "name": pl.String,
    "contact_name": pl.String, "email": pl.String, "phone": pl.String, "address": pl.String,
    "postcode": pl.String, "city": pl.String, "region": pl.String, "country": pl.String,
    "industry": pl.String, "size_band": pl.String, "tax_id": pl.String, "tier": pl.String,
    "source_count": pl.Int64, "record_count": pl.Int64, "trust_score": pl.Float64,
    "first_seen_at": UTC_US, "updated_at": UTC_US,
}  # fmt: skip


def at(text: str) -> datetime:
    """An instant in UTC from ``YYYY-MM-DD HH:MM``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


T0, T1 = at("2024-01-01 00:00"), at("2026-10-01 00:00")
# fmt: off
GOLDEN_ROWS = [
    ("FU-00000001", "company", "上海甲乙科技有限公司", "张伟", "zhang.wei@jiayi.cn",
     "+862161234567", "浦东新区世纪大道100号", "200120", "上海", "上海市", "CN", "Software",
     "50-249", "91310000MA1FL12345", "S", 2, 2, 0.91, T0, T1),
    ("FU-00000002", "company", "Acme Widgets Inc.", "Jane Doe", "jane@acme.example", "+14155550123",
     "120 Market Street", "94105", "San Francisco", "CA", "US", "Manufacturing", "10-49",
     None, "A", 1, 1, 0.8, T0, T1),
    ("FU-00000003", "person", "王芳", None, "wangfang@163.com", "+8613800138000",
     None, None, "杭州", "浙江省", "CN", None, None, None, "B", 2, 2, 0.7, T0, T1),
    ("FU-00000004", "person", "John Smith", None, "john.smith@gmail.com", None,
     "1 High Street", "SW1A 1AA", "London", None, "GB", None, None, None, None, 1, 1, 0.6, T0, T1),
    ("FU-00000005", "company", "北京丙丁物流有限公司", None, None, "+861087654321",
     "朝阳区建国路1号", "100020", "北京", "北京市", "CN", "Logistics", None, None, "C", 1, 1, 0.5,
     T0, T1),
    ("FU-00000006", "person", "李娜", None, "lina@qq.com", None, None, None, None, None, "CN",
     None, None, None, None, 1, 2, 0.55, T0, T1),
]
XREF_ROWS = [
    ("crm", "CRM-000001", "FU-00000001", 1.0), ("erp", "KH000001", "FU-00000001", 0.99),
    ("erp", "KH000002", "FU-00000002", 1.0), ("crm", "CRM-000003", "FU-00000003", 0.97),
    ("tickets", "T-0000001", "FU-00000003", 0.97), ("ecommerce", "EC-000004", "FU-00000004", 1.0),
    ("crm", "CRM-000005", "FU-00000005", 1.0), ("tickets", "T-0000002", "FU-00000006", 0.95),
    ("tickets", "T-0000003", "FU-00000006", 0.95),
]
LINEAGE_ROWS = [  # unified_id, field, value, source_system, source_record_id, source_column
    ("FU-00000001", "name", "上海甲乙科技有限公司", "erp", "KH000001", "客户名称"),
    ("FU-00000001", "email", "zhang.wei@jiayi.cn", "crm", "CRM-000001", "email"),
    ("FU-00000001", "tier", "S", "erp", "KH000001", "客户等级"),
    ("FU-00000002", "name", "Acme Widgets Inc.", "erp", "KH000002", "客户名称"),
    ("FU-00000002", "tier", "A", "erp", "KH000002", "客户等级"),
    ("FU-00000003", "name", "王芳", "crm", "CRM-000003", "account_name"),
    ("FU-00000003", "tier", "B", "crm", "CRM-000003", "tier"),
    ("FU-00000004", "name", "John Smith", "ecommerce", "EC-000004", "customer.name"),
    ("FU-00000005", "tier", "C", "crm", "CRM-000005", "tier"),
    ("FU-00000006", "email", "lina@qq.com", "tickets", "T-0000002", "requester_email"),
]
CANDIDATE_ROWS = [  # unified_id, field, value, source_system, source_record_id, is_winner
    ("FU-00000001", "tier", "A", "crm", "CRM-000001", False),
    ("FU-00000001", "tier", "S", "erp", "KH000001", True),
    ("FU-00000002", "tier", "A", "erp", "KH000002", True),
    ("FU-00000003", "tier", "B", "crm", "CRM-000003", True),
    ("FU-00000005", "tier", "C", "crm", "CRM-000005", True),
]
INVOICE_ROWS = [  # fact_id, record, occurred_at, amount, status
    ("FP2025000001", "KH000001", "2025-11-20 02:00", 180000.0, "paid"),
    ("FP2026000002", "KH000001", "2026-03-02 02:00", 120000.0, "paid"),
    ("FP2026000003", "KH000001", "2026-06-15 02:00", 99999.0, "void"),
    ("FP2024000004", "KH000002", "2024-12-01 02:00", 30000.0, "paid"),
    ("FP2026000005", "KH000002", "2026-09-30 02:00", 45000.0, "open"),
    ("FP2026000006", "KH000009", "2026-05-05 02:00", 500.0, "paid"),
]
ORDER_ROWS = [
    ("SO2026000001", "EC-000004", "2026-02-01 10:00", 300.0, "completed"),
    ("SO2026000002", "EC-000004", "2026-07-01 10:00", 250.5, "completed"),
    ("SO2026000003", "EC-000004", "2026-08-01 10:00", 99.0, "refunded"),
    ("SO2026000004", "EC-000008", "2026-08-02 10:00", 10.0, "completed"),
]
TICKET_ROWS = [
    ("T-0000001", "T-0000001", "2025-06-01 08:00", None, "closed"),
    ("T-0000002", "T-0000002", "2026-10-20 08:00", None, "open"),
    ("T-0000003", "T-0000003", "2026-10-31 08:00", None, "open"),
]
VALUE_MAP_ROWS = [
    ("crm", "tier", "tier", "A", "A"), ("crm", "tier", "tier", "B", "B"),
    ("crm", "tier", "tier", "C", "C"), ("erp", "tier", "客户等级", "PRO", "A"),
    ("erp", "tier", "客户等级", "STD", "B"), ("erp", "tier", "客户等级", "VIP", "S"),
]
# fmt: on


def _facts(
    rows: list[tuple[object, ...]], *, fact_source: str, kind: str, system: str
) -> pl.DataFrame:
    records = [
        {
            "fact_source": fact_source,
            "fact_kind": kind,
            "fact_id": fact_id,
            "source_system": system,
            "source_record_id": record,
            "occurred_at": at(str(when)),
            "amount": amount,
            "currency": None if amount is None else "CNY",
            "status": status,
            "source_file": f"{fact_source}.csv",
            "row_number": number,
        }
        for number, (fact_id, record, when, amount, status) in enumerate(rows, start=1)
    ]
    return pl.DataFrame(records, schema=FACT_SCHEMA)


def release_tables() -> dict[str, pl.DataFrame]:
    """The staged tables the models read."""
    lineage_schema = ["unified_id", "field", "value", "source_system", "source_record_id"]
    return {
        "golden_customer": pl.DataFrame(GOLDEN_ROWS, schema=GOLDEN_SCHEMA, orient="row"),
        "customer_xref": pl.DataFrame(
            XREF_ROWS,
            schema={
                "source_system": pl.String,
                "source_record_id": pl.String,
                "unified_id": pl.String,
                "match_probability": pl.Float64,
            },
            orient="row",
        ),  # fmt: skip
        "field_lineage": pl.DataFrame(
            LINEAGE_ROWS, schema=[*lineage_schema, "source_column"], orient="row"
        ),
        "field_candidates": pl.DataFrame(
            CANDIDATE_ROWS,
            schema={**dict.fromkeys(lineage_schema, pl.String), "is_winner": pl.Boolean},
            orient="row",
        ),
        "quarantine": pl.DataFrame(
            [
                ("erp", "erp_customers.csv", 7, None, "{}", "missing record id"),
                ("ecommerce", "ecommerce_customers.jsonl", 3, None, "{", "invalid JSON"),
            ],
            schema=QUARANTINE_SCHEMA,
            orient="row",
        ),  # fmt: skip
        "fact_invoices": _facts(
            INVOICE_ROWS, fact_source="erp_invoices", kind="invoice", system="erp"
        ),
        "fact_orders": _facts(
            ORDER_ROWS, fact_source="ecommerce_orders", kind="order", system="ecommerce"
        ),
        "fact_tickets": _facts(
            TICKET_ROWS, fact_source="helpdesk_tickets", kind="ticket", system="tickets"
        ),
        "source_value_maps": pl.DataFrame(
            VALUE_MAP_ROWS,
            schema=["source_system", "field", "source_column", "source_code", "canonical_value"],
            orient="row",
        ),
    }


@pytest.fixture
def tables() -> dict[str, pl.DataFrame]:
    """A fresh copy of the fixture tables."""
    return release_tables()


@pytest.fixture(scope="session")
def sample_config() -> FusionConfig:
    """The bundled samples' configuration (sources and facts, for lineage)."""
    return load_fusion_config(SAMPLE_CONFIG)
