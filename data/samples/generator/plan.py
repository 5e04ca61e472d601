"""Which entity appears in which export, when, and with current or stale values.

Coverage follows how each system is used: the CRM knows most customers, the
ERP only billed (non-C) accounts and every VIP, the shop mostly individuals,
the helpdesk whoever complained. Changes (new e-mail, phone or address) are
decided here because they only make sense relative to an entity's records:
every changed value is carried by at least one record before the change and
one after it, so both the stale and the current value exist in the exports.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .identity import (
    PersonName,
    Registry,
    cn_address,
    intl_address,
    new_phone,
    person_email,
)
from .vocab import CN_CITIES, INTL_CITIES
from .world import Entity

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
CHANGE_CUTOFF = datetime(2023, 1, 1, tzinfo=UTC)
SOURCES = ("crm", "erp", "ecommerce", "tickets")
# Which changeable fields each export carries at all.
CARRIES = {
    "crm": ("email", "phone", "address"),
    "erp": ("email", "phone", "address"),
    "ecommerce": ("email", "phone", "address"),
    "tickets": ("email", "phone"),
}
TICKET_COUNT_WEIGHTS = (0.40, 0.25, 0.15, 0.10, 0.06, 0.04)


@dataclass
class Plan:
    """One future source record, before any source formatting or noise."""

    entity: Entity
    source: str
    ts: datetime = AS_OF
    stale: bool = False
    protect: set[str] = field(default_factory=set)
    second_account: bool = False


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A minute-aligned instant in [start, end)."""
    minutes = int((end - start).total_seconds() // 60)
    return start + timedelta(minutes=rng.randrange(minutes))


def _erp_probability(entity: Entity) -> float:
    if entity.tier == "S":
        return 1.0
    if entity.tier == "C":
        return 0.0
    if entity.customer_type == "person":
        return 0.08
    return 0.97 if entity.chinese else 0.7


def _coverage(rng: random.Random, entity: Entity) -> list[Plan]:
    """The records one entity leaves in the four exports."""
    plans: list[Plan] = []
    if rng.random() < 0.70:
        plans.append(Plan(entity, "crm"))
    if rng.random() < _erp_probability(entity):
        plans.append(Plan(entity, "erp"))
    if rng.random() < (0.72 if entity.customer_type == "person" else 0.36):
        plans.append(Plan(entity, "ecommerce"))
        if rng.random() < 0.08:
            plans.append(Plan(entity, "ecommerce", second_account=True))
    if rng.random() < 0.40:
        count = rng.choices(range(1, 7), weights=TICKET_COUNT_WEIGHTS)[0]
        plans.extend(Plan(entity, "tickets") for _ in range(count))
    if not plans:
        plans.append(Plan(entity, "crm"))
    return plans


def _default_ts(rng: random.Random, source: str) -> datetime:
    """Each system has its own age profile; part of the CRM was last touched years ago."""
    end = AS_OF - timedelta(days=1)
    if source == "crm":
        if rng.random() < 0.15:
            return _between(rng, datetime(2019, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC))
        return _between(rng, datetime(2021, 1, 1, tzinfo=UTC), end)
    if source == "erp":
        return _between(rng, datetime(2020, 1, 1, tzinfo=UTC), end)
    if source == "ecommerce":
        return _between(rng, datetime(2021, 6, 1, tzinfo=UTC), end)
    return _between(rng, datetime(2019, 1, 1, tzinfo=UTC), end)


def _carried_by(plans: list[Plan], fieldname: str) -> bool:
    return any(fieldname in CARRIES[p.source] for p in plans)


def _partition(
    rng: random.Random, plans: list[Plan], fields: list[str]
) -> tuple[list[Plan], list[Plan], list[str]] | None:
    """Split records into before/after the change so each changed field shows on both sides."""
    while fields:
        for _ in range(20):
            pre_count = rng.randint(1, len(plans) - 1)
            pre_idx = set(rng.sample(range(len(plans)), pre_count))
            pre = [p for i, p in enumerate(plans) if i in pre_idx]
            post = [p for i, p in enumerate(plans) if i not in pre_idx]
            if all(_carried_by(side, f) for side in (pre, post) for f in fields):
                return pre, post, fields
        fields = fields[:-1] if len(fields) > 1 else [f for f in fields if f != "address"]
    return None


def _old_value(rng: random.Random, registry: Registry, entity: Entity, fieldname: str) -> object:
    """The value the entity had before the change: a different but equally valid one."""
    if fieldname == "email":
        person = entity.contact or entity.name
        assert isinstance(person, PersonName)
        return person_email(rng, registry, person, entity.country)
    if fieldname == "phone":
        if entity.chinese:
            city = next(c for c in CN_CITIES if c.name == entity.address.city)
            area = city.area_code
        else:
            intl = next(c for c in INTL_CITIES if c.name == entity.address.city)
            area = rng.choice(intl.area_codes)
        return new_phone(rng, registry, entity.country, area, entity.phone_mobile)
    if entity.chinese:
        city = next(c for c in CN_CITIES if c.name == entity.address.city)
        return cn_address(rng, city, entity.customer_type == "company")
    intl = next(c for c in INTL_CITIES if c.name == entity.address.city)
    return intl_address(rng, intl, entity.customer_type == "company")


def _apply_change(
    rng: random.Random, registry: Registry, entity: Entity, plans: list[Plan]
) -> bool:
    """Make the entity one that moved / changed number or mailbox, if its records allow."""
    fields = rng.choices(("email", "phone", "address"), weights=(0.4, 0.3, 0.3), k=1)
    if rng.random() < 0.2:
        fields.append(rng.choice([f for f in ("email", "phone", "address") if f not in fields]))
    split = _partition(rng, plans, fields)
    if split is None:
        return False
    pre, post, fields = split
    cutoff = CHANGE_CUTOFF
    for plan in pre:
        plan.stale = True
        start = datetime(2020 if plan.source == "erp" else 2019, 1, 1, tzinfo=UTC)
        plan.ts = _between(rng, start, cutoff)
    for plan in post:
        plan.ts = _between(rng, cutoff, AS_OF - timedelta(days=1))
    for f in fields:
        entity.old[f] = _old_value(rng, registry, entity, f)
        carriers = [p for p in post if f in CARRIES[p.source]]
        max(carriers, key=lambda p: p.ts).protect.add(f)
    return True


def plan_records(
    rng: random.Random, registry: Registry, entities: list[Entity], change_rate: float = 0.25
) -> list[Plan]:
    """All source records of all entities, with timestamps and staleness decided."""
    per_entity = [_coverage(rng, e) for e in entities]
    for plans in per_entity:
        for plan in plans:
            plan.ts = _default_ts(rng, plan.source)
    multi = [i for i, plans in enumerate(per_entity) if len(plans) >= 2]
    target = round(change_rate * len(entities))
    changed = 0
    for i in rng.sample(multi, len(multi)):
        if changed >= target:
            break
        changed += _apply_change(rng, registry, entities[i], per_entity[i])
    return [plan for plans in per_entity for plan in plans]
