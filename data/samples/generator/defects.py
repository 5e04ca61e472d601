"""Rows that a loader must reject, each with a known defect.

They are extra rows (look-alikes of real customers' rows), so removing them
leaves every entity's valid records intact. Each carries ``defect`` and is
listed in ``truth/invalid_rows.csv``; none appears in ``truth/records.csv``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .plan import Plan
from .render import ABSENT, Record, Renderer
from .world import World

# How many rows of each defect each export gets (about 1-2 % of its rows).
DEFECTS: dict[str, dict[str, int]] = {
    "crm": {
        "missing_id": 4,
        "no_name_email_phone": 4,
        "impossible_date": 4,
        "unmapped_code": 4,
        "wrong_field_count": 4,
        "duplicate_id": 5,
    },
    "erp": {
        "missing_id": 3,
        "no_name_email_phone": 3,
        "impossible_date": 3,
        "unmapped_code": 3,
        "invalid_encoding": 3,
    },
    "ecommerce": {"missing_id": 4, "no_name_email_phone": 4, "unmapped_code": 4, "broken_json": 5},
    "tickets": {
        "missing_id": 6,
        "no_name_email_phone": 6,
        "impossible_date": 6,
        "wrong_field_count": 6,
    },
}
IDENTIFYING = {
    # ... and no tax ID, which identifies a customer alone.
    "crm": {"account_name": "", "contact_person": "", "email": "", "phone": "", "tax_id": ""},
    "erp": {"客户名称": "", "联系人": "", "电子邮箱": "", "联系电话": "", "统一社会信用代码": ""},
    "ecommerce": {
        "customer.name": None,
        "customer.company": ABSENT,
        "customer.email": None,
        "customer.phone": None,
    },
    "tickets": {"requester_name": "", "requester_email": "", "requester_phone": "", "company": ""},
}
IMPOSSIBLE_DATES = {
    "crm": (
        "2024-13-45T00:00:00Z",
        "2023-02-30T09:15:00+08:00",
        "2025-04-31T12:00:00Z",
        "2022-00-10T08:00:00Z",
    ),
    "erp": ("2023/02/30 10:00", "2024/13/01 09:00", "2022/04/31 16:20"),
    "tickets": (
        "2024-02-30T08:00:00Z",
        "2023-06-31T10:11:12Z",
        "2025-13-01T00:00:00Z",
        "2021-11-31T23:59:00Z",
        "2024-04-00T07:30:00Z",
        "2022-09-31T15:45:10Z",
    ),
}
UNMAPPED = {
    "crm": ("tier", "Z"),
    "erp": ("客户等级", "GOLD"),
    "ecommerce": ("customer.type", "robot"),
}
DATE_COLUMN = {"crm": "last_modified", "erp": "更新时间", "tickets": "created_at"}
BAD_BYTES_MARK = "@@INVALID-GB18030@@"


def _ghost(
    rng: random.Random, renderer: Renderer, world: World, source: str, times: list[datetime]
) -> Record:
    """A plausible row of some customer, to be broken afterwards."""
    candidates = [e for e in world.entities if source != "erp" or e.tier != "C"]
    entity = rng.choice(candidates)
    return renderer.render(Plan(entity, source, ts=rng.choice(times)))


def _break(rng: random.Random, record: Record, defect: str, index: int) -> None:
    """Apply one defect to a freshly rendered row."""
    source, row = record.source, record.row
    record.defect = defect
    if defect == "no_name_email_phone":
        row.update(IDENTIFYING[source])
    elif defect == "impossible_date":
        options = IMPOSSIBLE_DATES[source]
        row[DATE_COLUMN[source]] = options[index % len(options)]
    elif defect == "unmapped_code":
        column, value = UNMAPPED[source]
        row[column] = value
    elif defect == "invalid_encoding":
        row["客户名称"] = row["客户名称"] + BAD_BYTES_MARK
    elif defect == "wrong_field_count":
        # CRM: an unquoted comma inside the name; tickets: a row cut short.
        record.field_count = "split_name" if source == "crm" else "cut_short"
    elif defect == "broken_json":
        record.truncate_at = rng.uniform(0.45, 0.85)


def make_invalid(rng: random.Random, world: World, valid: list[Record]) -> list[Record]:
    """All deliberately invalid rows of all exports."""
    renderer = Renderer(rng)
    times = sorted(r.ts for r in valid)
    invalid: list[Record] = []
    for source, counts in DEFECTS.items():
        for defect, count in counts.items():
            if defect == "duplicate_id":
                eligible = [r for r in valid if r.source == source and r.ts.year >= 2021]
                invalid.extend(_older_copy(rng, r) for r in rng.sample(eligible, count))
                continue
            for index in range(count):
                record = _ghost(rng, renderer, world, source, times)
                _break(rng, record, defect, index)
                invalid.append(record)
    return invalid


def _older_copy(rng: random.Random, original: Record) -> Record:
    """An earlier save of an existing CRM row that the export failed to deduplicate.

    It gets the record id of ``duplicate_of`` once ids are assigned; the
    newer row is the valid one.
    """
    older_ts = original.ts - timedelta(days=rng.randint(30, 400), minutes=rng.randint(0, 600))
    row = dict(original.row)
    stamp = original.row["last_modified"]
    offset = "Z" if stamp.endswith("Z") else stamp[-6:]
    shifted = older_ts if offset == "Z" else older_ts + timedelta(hours=8)
    row["last_modified"] = shifted.strftime("%Y-%m-%dT%H:%M:%S") + offset
    return Record(
        original.source,
        original.entity_id,
        older_ts,
        row,
        defect="duplicate_id",
        duplicate_of=original,
    )
