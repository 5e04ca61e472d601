"""Turn a planned record into a row of one export, with that system's habits.

Each source has its own field coverage, name conventions, phone style, value
codes and timestamp format (all matching ``fusion.yaml``). On top of those
systematic differences, a minority of records get a random variation (typo,
abbreviation, script, case, a missing field). Name changes that make a
record hard to match are only allowed while the record still carries a
current e-mail or phone, so every true duplicate stays findable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from . import noise
from .identity import Address, PersonName
from .plan import Plan
from .vocab import (
    COUNTRY_EN,
    COUNTRY_ZH,
    EN_STREET_KINDS,
    ERP_TIER,
    INDUSTRY_ZH,
    INTL_CITIES,
    SIZE_BAND_ZH,
    TICKET_SUBJECTS_EN,
    TICKET_SUBJECTS_ZH,
)
from .world import CompanyName, Entity

ABSENT = object()  # a JSON key left out entirely (as opposed to null)
SHANGHAI = timezone(timedelta(hours=8))
MUNICIPALITIES = ("上海市", "北京市", "天津市", "重庆市")

COLUMNS: dict[str, tuple[str, ...]] = {
    "crm": (
        "customer_id",
        "account_type",
        "account_name",
        "contact_person",
        "email",
        "phone",
        "street",
        "zip",
        "city",
        "state_province",
        "country",
        "industry",
        "employees",
        "tax_id",
        "tier",
        "last_modified",
    ),
    "erp": (
        "客户编号",
        "客户名称",
        "客户类型",
        "联系人",
        "电子邮箱",
        "联系电话",
        "地址",
        "邮编",
        "城市",
        "省份",
        "国家",
        "行业",
        "人员规模",
        "统一社会信用代码",
        "客户等级",
        "更新时间",
    ),
    "ecommerce": (
        "id",
        "customer.type",
        "customer.name",
        "customer.company",
        "customer.email",
        "customer.phone",
        "address.line1",
        "address.city",
        "address.province",
        "address.postcode",
        "address.country",
        "updated_ms",
    ),
    "tickets": (
        "ticket_id",
        "created_at",
        "requester_name",
        "requester_email",
        "requester_phone",
        "company",
        "subject",
        "status",
    ),
}
ID_COLUMN = {"crm": "customer_id", "erp": "客户编号", "ecommerce": "id", "tickets": "ticket_id"}
# Canonical field -> the source columns that carry it (as mapped in fusion.yaml).
FIELD_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "crm": {
        "customer_type": ("account_type",),
        "name": ("account_name",),
        "contact_name": ("contact_person",),
        "email": ("email",),
        "phone": ("phone",),
        "address": ("street",),
        "postcode": ("zip",),
        "city": ("city",),
        "region": ("state_province",),
        "country": ("country",),
        "industry": ("industry",),
        "size_band": ("employees",),
        "tax_id": ("tax_id",),
        "tier": ("tier",),
    },
    "erp": {
        "customer_type": ("客户类型",),
        "name": ("客户名称",),
        "contact_name": ("联系人",),
        "email": ("电子邮箱",),
        "phone": ("联系电话",),
        "address": ("地址",),
        "postcode": ("邮编",),
        "city": ("城市",),
        "region": ("省份",),
        "country": ("国家",),
        "industry": ("行业",),
        "size_band": ("人员规模",),
        "tax_id": ("统一社会信用代码",),
        "tier": ("客户等级",),
    },
    "ecommerce": {
        "customer_type": ("customer.type",),
        "name": ("customer.company", "customer.name"),
        "contact_name": ("customer.name",),
        "email": ("customer.email",),
        "phone": ("customer.phone",),
        "address": ("address.line1",),
        "postcode": ("address.postcode",),
        "city": ("address.city",),
        "region": ("address.province",),
        "country": ("address.country",),
    },
    "tickets": {
        "customer_type": ("company",),
        "name": ("company", "requester_name"),
        "contact_name": ("requester_name",),
        "email": ("requester_email",),
        "phone": ("requester_phone",),
    },
}

# Per source and kind of name: (probability of one variation, {op: weight}).
NAME_OPS: dict[tuple[str, str], tuple[float, dict[str, int]]] = {
    ("erp", "cn_company"): (0.06, {"legal_variant": 2, "extra_spaces": 1, "city_in_brackets": 1}),
    ("crm", "cn_company"): (
        0.09,
        {
            "drop_legal": 3,
            "legal_variant": 3,
            "city_in_brackets": 2,
            "similar_char": 1,
            "extra_spaces": 1,
        },
    ),
    ("ecommerce", "cn_company"): (
        0.08,
        {
            "drop_legal": 2,
            "legal_variant": 2,
            "city_in_brackets": 1,
            "similar_char": 1,
            "extra_spaces": 1,
        },
    ),
    ("tickets", "cn_company"): (
        0.12,
        {
            "drop_legal": 4,
            "drop_city": 1,
            "legal_variant": 1,
            "latin_rendering": 1,
            "similar_char": 1,
            "extra_spaces": 1,
        },
    ),
    ("erp", "en_company"): (0.05, {"legal_variant": 2, "extra_spaces": 1}),
    ("crm", "en_company"): (
        0.12,
        {
            "legal_variant": 3,
            "drop_legal": 2,
            "abbreviation": 2,
            "typo": 2,
            "case": 1,
            "extra_spaces": 1,
        },
    ),
    ("ecommerce", "en_company"): (
        0.12,
        {"legal_variant": 3, "drop_legal": 2, "abbreviation": 2, "typo": 2, "case": 1},
    ),
    ("tickets", "en_company"): (
        0.12,
        {"drop_legal": 4, "abbreviation": 2, "typo": 2, "case": 1, "legal_variant": 1},
    ),
    ("erp", "cn_person"): (0.03, {"extra_spaces": 1}),
    ("crm", "cn_person"): (0.05, {"similar_char": 1, "extra_spaces": 2}),
    ("ecommerce", "cn_person"): (0.04, {"similar_char": 1, "extra_spaces": 1}),
    ("tickets", "cn_person"): (0.04, {"similar_char": 1, "extra_spaces": 1}),
    ("erp", "en_person"): (0.03, {"case": 1}),
    ("crm", "en_person"): (0.10, {"initial": 2, "family_first": 2, "case": 1, "typo": 2}),
    ("ecommerce", "en_person"): (0.08, {"case": 1, "typo": 1, "initial": 1}),
    ("tickets", "en_person"): (0.10, {"initial": 1, "typo": 1, "case": 1}),
}
# Share of Chinese names written in traditional script / in Latin letters, per source.
TRADITIONAL_RATE = {"crm": 0.10, "ecommerce": 0.10, "tickets": 0.03, "erp": 0.0}
LATIN_RATE = {  # (company, individual, company contact)
    "ecommerce": (0.08, 0.12, 0.05),
    "tickets": (0.0, 0.05, 0.03),
    "crm": (0.0, 0.0, 0.0),
    "erp": (0.0, 0.0, 0.0),
}
# Probability that a field is simply left empty in a source.
DROP_RATE: dict[str, dict[str, float]] = {
    "crm": {
        "email": 0.03,
        "phone": 0.03,
        "address": 0.05,
        "postcode": 0.12,
        "contact": 0.08,
        "industry": 0.10,
        "size_band": 0.20,
        "tax_id_cn": 0.45,
        "tax_id_intl": 0.6,
        "tier": 0.03,
        "country_cn": 0.04,
    },
    "erp": {
        "email": 0.06,
        "phone": 0.02,
        "address": 0.03,
        "postcode": 0.10,
        "contact": 0.05,
        "industry": 0.02,
        "size_band": 0.05,
        "tax_id_cn": 0.05,
        "tax_id_intl": 0.4,
        "tier": 0.0,
        "country_cn": 0.0,
    },
    "ecommerce": {"email": 0.02, "phone": 0.04, "address": 0.08, "postcode": 0.15},
    "tickets": {"email": 0.03, "phone": 0.08},
}


@dataclass
class Record:
    """One export row: its columns (dotted paths for JSON), its entity, and what was done to it."""

    source: str
    entity_id: str
    ts: datetime
    row: dict[str, Any]
    ops: list[str] = field(default_factory=list)
    record_id: str = ""
    defect: str = ""
    # Only for defective rows: how the writer must break them.
    duplicate_of: Record | None = None
    field_count: str = ""
    truncate_at: float = 0.0


def _name_kind(entity: Entity, person: bool) -> str:
    return ("cn_" if entity.chinese else "en_") + ("person" if person else "company")


class Renderer:
    """Stateful only in its random stream: renders plans in the order given."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, weights: dict[str, int], allow_heavy: bool) -> str | None:
        options = {op: w for op, w in weights.items() if allow_heavy or op not in noise.HEAVY}
        if not options:
            return None
        return self.rng.choices(list(options), weights=list(options.values()))[0]

    # -- names ---------------------------------------------------------------------------
    def company_name(
        self, source: str, entity: Entity, reliable: bool, trad: bool, ops: list[str]
    ) -> str:
        """The company name as this source holds it."""
        name = entity.name
        assert isinstance(name, CompanyName)
        rate, weights = NAME_OPS[(source, _name_kind(entity, person=False))]
        if entity.chinese and reliable and self.chance(LATIN_RATE[source][0]):
            ops.append("latin_rendering")
            return noise.cn_company_latin(self.rng, name)
        text = name.full
        op = self.pick(weights, reliable) if self.chance(rate) else None
        if op == "extra_spaces":
            text = noise.extra_spaces(self.rng, text)
        elif op == "similar_char":
            text = noise.similar_char(self.rng, text)
        elif op and entity.chinese:
            text = noise.cn_company_variant(self.rng, name, op)
        elif op:
            text = noise.en_company_variant(self.rng, name, op)
        if op:
            ops.append(op)
        if trad and op != "latin_rendering":
            text = noise.traditional(text)
        return text

    def person_name(
        self,
        source: str,
        entity: Entity,
        person: PersonName,
        reliable: bool,
        trad: bool,
        ops: list[str],
        contact: bool,
    ) -> str:
        """A person's name (a customer or a company's contact) as this source holds it."""
        rate, weights = NAME_OPS[(source, _name_kind(entity, person=True))]
        if contact:
            rate /= 2
        if person.chinese:
            latin_rate = LATIN_RATE[source][2 if contact else 1]
            if reliable and self.chance(latin_rate):
                ops.append("latin_rendering")
                return noise.cn_person_latin(self.rng, person)
        text = person.full
        op = self.pick(weights, reliable) if self.chance(rate) else None
        if op == "extra_spaces":
            text = noise.extra_spaces(self.rng, text)
        elif op == "similar_char":
            text = noise.similar_char(self.rng, text)
        elif op:
            text = noise.en_person_variant(self.rng, person, op)
        if op:
            ops.append(op)
        return noise.traditional(text) if trad and person.chinese else text

    # -- addresses -------------------------------------------------------------------------
    def street(self, source: str, address: Address) -> str:
        """Street line: Chinese systems often repeat province/city, Western ones abbreviate."""
        rng = self.rng
        if address.country == "CN":
            line2 = "" if self.chance(0.1) else address.line2
            text = address.line1 + line2
            prefix_rate = {"crm": 0.15, "erp": 0.35, "ecommerce": 0.10}[source]
            if self.chance(prefix_rate):
                city = address.city + "市"
                text = (city if address.region in MUNICIPALITIES else address.region + city) + text
            if source == "crm" and self.chance(0.03):
                text = noise.fullwidth(text)
            return text
        line1 = address.line1
        if self.chance(0.2):
            for long, short in EN_STREET_KINDS:
                if line1.endswith(" " + long):
                    line1 = line1[: -len(long)] + rng.choice((short, short + "."))
        line2 = "" if self.chance(0.15) else address.line2
        return f"{line1}, {line2}" if line2 else line1

    def region(self, source: str, address: Address) -> str:
        if address.country == "CN":
            short = address.region[:-1] if address.region[-1] in "省市" else address.region
            return short if source != "erp" and self.chance(0.12) else address.region
        if address.country == "US" and self.chance({"crm": 0.3, "ecommerce": 0.5}.get(source, 0)):
            return next(c.region_abbr for c in INTL_CITIES if c.name == address.city)
        return address.region

    def city(self, source: str, address: Address) -> str:
        if address.country == "CN" and self.chance(0.1 if source != "erp" else 0.15):
            return address.city + "市"
        return address.city

    # -- whole records ---------------------------------------------------------------------
    def render(self, plan: Plan) -> Record:
        """Render one plan into a row of its source."""
        entity, source = plan.entity, plan.source
        stale = entity.old if plan.stale else {}
        email = str(stale.get("email", entity.email))
        phone = str(stale.get("phone", entity.phone))
        address = stale.get("address", entity.address)
        assert isinstance(address, Address)
        drops = DROP_RATE[source]
        ops: list[str] = []

        keep_email = "email" in plan.protect or not self.chance(drops["email"])
        keep_phone = "phone" in plan.protect or not self.chance(drops["phone"])
        if not keep_email or not keep_phone:
            ops.append("missing_contact")
        if keep_email and (self.chance(0.03) or plan.second_account):
            email = noise.email_case(self.rng, email)
            ops.append("email_case")
        reliable = (keep_email and "email" not in stale) or (keep_phone and "phone" not in stale)
        values = {
            "email": email if keep_email else "",
            "phone": self.phone_text(source, entity, phone) if keep_phone else "",
        }
        # One decision per record: a traditional-script system writes every name that way.
        trad = entity.chinese and self.chance(TRADITIONAL_RATE[source])
        if trad:
            ops.append("traditional")
        if entity.customer_type == "company":
            values["name"] = self.company_name(source, entity, reliable, trad, ops)
            contact = entity.contact
            assert contact is not None
            values["contact"] = self.person_name(
                source, entity, contact, reliable, trad, ops, contact=True
            )
        else:
            assert isinstance(entity.name, PersonName)
            values["name"] = self.person_name(
                source, entity, entity.name, reliable, trad, ops, contact=False
            )
            values["contact"] = ""
        if source != "tickets":
            protect_addr = "address" in plan.protect
            keep = protect_addr or not self.chance(drops["address"])
            values["street"] = self.street(source, address) if keep else ""
            keep = protect_addr or not self.chance(drops["postcode"])
            values["postcode"] = address.postcode if keep else ""
            values["city"] = self.city(source, address)
            values["region"] = self.region(source, address)
        row = getattr(self, f"row_{source}")(plan, values)
        return Record(source, entity.entity_id, plan.ts, row, ops)

    def phone_text(self, source: str, entity: Entity, e164: str) -> str:
        """Sources with a country column may drop the country code; tickets may not."""
        if source == "erp" and entity.chinese:
            style = "erp"
        elif source == "tickets" and not entity.chinese:
            style = "international"
        else:
            style = "national"
        text = noise.format_phone(self.rng, e164, style)
        if source in ("crm", "tickets") and entity.chinese and self.chance(0.02):
            text = noise.fullwidth(text)
        return text

    def company_facts(self, source: str, entity: Entity) -> tuple[str, str, str, str]:
        """Industry, size band, tax id, tier: kept or left empty at the source's usual rate."""
        drops = DROP_RATE[source]
        industry = "" if self.chance(drops["industry"]) else entity.industry or ""
        size = "" if self.chance(drops["size_band"]) else entity.size_band or ""
        tax_rate = drops["tax_id_cn"] if entity.chinese else drops["tax_id_intl"]
        tax = "" if not entity.tax_id or self.chance(tax_rate) else entity.tax_id
        if tax and source == "crm" and self.chance(0.05):
            tax = tax.lower()
        tier = "" if self.chance(drops["tier"]) else entity.tier
        return industry, size, tax, tier

    def row_crm(self, plan: Plan, v: dict[str, str]) -> dict[str, Any]:
        e = plan.entity
        company = e.customer_type == "company"
        industry, size, tax, tier = self.company_facts("crm", e)
        if not company:
            industry = size = tax = ""
        offset = SHANGHAI if e.country in ("CN", "SG") else UTC
        drop_country = e.chinese and self.chance(DROP_RATE["crm"]["country_cn"])
        return {
            "account_type": "Company" if company else "Person",
            "account_name": v["name"],
            "contact_person": "" if self.chance(DROP_RATE["crm"]["contact"]) else v["contact"],
            "email": v["email"],
            "phone": v["phone"],
            "street": v["street"],
            "zip": v["postcode"],
            "city": v["city"],
            "state_province": v["region"],
            "country": "" if drop_country else COUNTRY_EN[e.country],
            "industry": industry,
            "employees": size,
            "tax_id": tax,
            "tier": "A" if tier == "S" else tier,
            "last_modified": plan.ts.astimezone(offset).isoformat().replace("+00:00", "Z"),
        }

    def row_erp(self, plan: Plan, v: dict[str, str]) -> dict[str, Any]:
        e = plan.entity
        company = e.customer_type == "company"
        industry, size, tax, _ = self.company_facts("erp", e)
        return {
            "客户名称": v["name"],
            "客户类型": "企业" if company else "个人",
            "联系人": v["contact"] if not self.chance(DROP_RATE["erp"]["contact"]) else "",
            "电子邮箱": v["email"],
            "联系电话": v["phone"],
            "地址": v["street"],
            "邮编": v["postcode"],
            "城市": v["city"],
            "省份": v["region"],
            "国家": COUNTRY_ZH[e.country],
            "行业": INDUSTRY_ZH[industry] if company and industry else "",
            "人员规模": SIZE_BAND_ZH[size] if company and size else "",
            "统一社会信用代码": tax if company else "",
            "客户等级": ERP_TIER[e.tier],
            "更新时间": plan.ts.astimezone(SHANGHAI).strftime("%Y/%m/%d %H:%M"),
        }

    def row_ecommerce(self, plan: Plan, v: dict[str, str]) -> dict[str, Any]:
        e = plan.entity
        company = e.customer_type == "company"
        millis = int(plan.ts.timestamp()) * 1000 + self.rng.randrange(60_000)
        no_company = ABSENT if self.chance(0.5) else None
        return {
            "customer.type": "business" if company else "individual",
            "customer.name": v["contact"] if company else v["name"],
            "customer.company": v["name"] if company else no_company,
            "customer.email": v["email"] or None,
            "customer.phone": v["phone"] or None,
            "address.line1": v["street"] or None,
            "address.city": v["city"],
            "address.province": v["region"],
            "address.postcode": v["postcode"] or None,
            "address.country": e.country,
            "updated_ms": millis,
        }

    def row_tickets(self, plan: Plan, v: dict[str, str]) -> dict[str, Any]:
        e = plan.entity
        company = e.customer_type == "company"
        recent = plan.ts > datetime(2026, 10, 1, tzinfo=UTC)
        open_ = self.chance(0.7 if recent else 0.04)
        subjects = TICKET_SUBJECTS_ZH if e.chinese else TICKET_SUBJECTS_EN
        return {
            "created_at": (plan.ts + timedelta(seconds=self.rng.randrange(60))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "requester_name": v["contact"] if company else v["name"],
            "requester_email": v["email"],
            "requester_phone": v["phone"],
            "company": v["name"] if company else "",
            "subject": self.rng.choice(subjects),
            "status": "open" if open_ else "closed",
        }
