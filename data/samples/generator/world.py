"""The true customers ("entities") and the near-misses among them.

The world is built before any export exists: each entity holds its true
current values, plus, for some, the values it had before it moved or changed
its phone (filled in later by ``plan``). Near-misses are made on purpose:
same brand in another city, a branch of a parent company, people who share a
common name. They are distinct entities and must stay unmerged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin

from .identity import (
    Address,
    PersonName,
    Registry,
    cn_address,
    cn_person,
    company_domain,
    intl_address,
    intl_person,
    intl_tax_id,
    new_phone,
    person_email,
    uscc,
    weighted,
    work_email,
)
from .vocab import (
    CN_BRANDS,
    CN_CITIES,
    CN_INDUSTRY_WORDS,
    CN_LEGAL_FORMS,
    EN_BRANDS,
    EN_INDUSTRY_WORDS,
    EN_LEGAL_FORMS,
    INDUSTRIES,
    INTL_CITIES,
    INTL_COUNTRY_WEIGHTS,
    SIZE_BANDS,
    CnCity,
    IntlCity,
)

DOMAIN_TAGS = {
    "Manufacturing": "mfg",
    "Retail": "trade",
    "Software": "tech",
    "Logistics": "logistics",
    "Finance": "capital",
    "Healthcare": "med",
    "Education": "edu",
    "Food & Beverage": "food",
}
INTL_TLD = {"US": ".com", "GB": ".co.uk", "SG": ".com.sg", "DE": ".de"}


@dataclass(frozen=True)
class CompanyName:
    """A company name kept in parts, so sources can drop or translate a part."""

    chinese: bool
    brand: str
    brand_latin: str
    word: str
    word_latin: str
    legal: str
    city: str = ""
    city_latin: str = ""
    branch_city: str = ""
    branch_city_latin: str = ""

    @property
    def full(self) -> str:
        if self.chinese:
            branch = f"{self.branch_city}分公司" if self.branch_city else ""
            return f"{self.city}{self.brand}{self.word}{self.legal}{branch}"
        return f"{self.brand} {self.word} {self.legal}"


@dataclass
class Entity:
    """One true customer with its current values and, if it changed, the old ones."""

    entity_id: str
    customer_type: str
    country: str
    name: CompanyName | PersonName
    contact: PersonName | None
    email: str
    phone: str
    phone_mobile: bool
    address: Address
    industry: str | None
    size_band: str | None
    tax_id: str | None
    tier: str
    old: dict[str, object] = field(default_factory=dict)

    @property
    def chinese(self) -> bool:
        return self.country == "CN"

    @property
    def display_name(self) -> str:
        return self.name.full


@dataclass(frozen=True)
class NearMiss:
    """Two distinct entities built to look alike."""

    entity_a: str
    entity_b: str
    kind: str


@dataclass
class World:
    """The entities, the look-alike pairs among them, and the values already taken."""

    entities: list[Entity]
    near_misses: list[NearMiss]
    registry: Registry


def _cn_city(rng: random.Random, exclude: str = "") -> CnCity:
    cities = [c for c in CN_CITIES if c.name != exclude]
    return rng.choices(cities, weights=[c.weight for c in cities], k=1)[0]


def _intl_city(rng: random.Random, country: str) -> IntlCity:
    return rng.choice([c for c in INTL_CITIES if c.country == country])


def _initials(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER))


def _tier(rng: random.Random, company: bool) -> str:
    if company:
        return weighted(rng, (("S", 0.08), ("A", 0.27), ("B", 0.45), ("C", 0.20)))
    return weighted(rng, (("A", 0.08), ("B", 0.40), ("C", 0.52)))


def _size_band(rng: random.Random, tier: str) -> str:
    """Bigger accounts tend to be bigger companies."""
    weights = (0.05, 0.15, 0.3, 0.3, 0.2) if tier == "S" else (0.25, 0.3, 0.25, 0.12, 0.08)
    return rng.choices(SIZE_BANDS, weights=weights, k=1)[0]


class WorldBuilder:
    """Draws entities one by one while remembering which names are taken."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.registry = Registry()
        self.cn_combos: set[tuple[str, str]] = set()
        self.en_combos: set[tuple[str, str]] = set()

    def cn_company_name(self, city: CnCity, industry: str) -> CompanyName:
        """Brand + industry word unique nationwide, so only deliberate clones collide."""
        while True:
            brand, brand_latin = self.rng.choice(CN_BRANDS)
            word, word_latin = self.rng.choice(CN_INDUSTRY_WORDS[industry])
            if (brand, word) not in self.cn_combos:
                self.cn_combos.add((brand, word))
                legal = weighted(self.rng, CN_LEGAL_FORMS)
                return CompanyName(
                    True, brand, brand_latin, word, word_latin, legal, city.name, city.latin
                )

    def en_company_name(self, country: str, industry: str) -> CompanyName:
        while True:
            brand = self.rng.choice(EN_BRANDS)
            word = self.rng.choice(EN_INDUSTRY_WORDS[industry])
            if (brand, word) not in self.en_combos:
                self.en_combos.add((brand, word))
                legal = weighted(self.rng, EN_LEGAL_FORMS[country])
                return CompanyName(False, brand, brand, word, word, legal)

    def company_contact_details(
        self, name: CompanyName, country: str, city_code: str, city_latin: str, industry: str
    ) -> tuple[PersonName, str, str, bool]:
        """Contact person, e-mail, phone: SMEs in China often use a free mailbox and a mobile."""
        rng = self.rng
        if country == "CN":
            contact = cn_person(rng, common_rate=0.05)
            stem = name.brand_latin.lower().replace("'", "")
            city_ab = _initials(name.branch_city or name.city)
            stems = [f"{stem}{DOMAIN_TAGS[industry]}", f"{city_ab}{stem}", f"{stem}-{city_ab}"]
            rng.shuffle(stems)
            tld = rng.choice((".com", ".com.cn", ".cn"))
        else:
            contact = intl_person(rng, country, common_rate=0.03)
            stem = name.brand.lower()
            word = name.word.split()[0].lower().replace("&", "and")
            stems = [f"{stem}{word}", f"{stem}-{word}", f"{stem}{city_latin[:3].lower()}"]
            tld = INTL_TLD[country]
        if country == "CN" and rng.random() < 0.3:
            email = person_email(rng, self.registry, contact, country)
        else:
            domain = company_domain(self.registry, rng, stems, tld)
            email = work_email(rng, self.registry, contact, domain)
        mobile = rng.random() < (0.45 if country == "CN" else 0.3)
        phone = new_phone(rng, self.registry, country, city_code, mobile)
        return contact, email, phone, mobile

    def company(
        self,
        country: str,
        name: CompanyName | None = None,
        city: CnCity | IntlCity | None = None,
        industry: str | None = None,
    ) -> Entity:
        rng = self.rng
        industry = industry or rng.choice(INDUSTRIES)
        if country == "CN":
            city = city or _cn_city(rng)
            assert isinstance(city, CnCity)
            name = name or self.cn_company_name(city, industry)
            address = cn_address(rng, city, company=True)
            tax_id: str | None = uscc(rng, self.registry, city.admin_prefix)
            area, latin = city.area_code, city.latin
        else:
            city = city or _intl_city(rng, country)
            assert isinstance(city, IntlCity)
            name = name or self.en_company_name(country, industry)
            address = intl_address(rng, city, company=True)
            tax_id = intl_tax_id(rng, self.registry, country) if rng.random() < 0.5 else None
            area, latin = rng.choice(city.area_codes), city.name
        contact, email, phone, mobile = self.company_contact_details(
            name, country, area, latin, industry
        )
        tier = _tier(rng, company=True)
        return Entity(
            "",
            "company",
            country,
            name,
            contact,
            email,
            phone,
            mobile,
            address,
            industry,
            _size_band(rng, tier),
            tax_id,
            tier,
        )

    def person(
        self, country: str, name: PersonName | None = None, city: CnCity | IntlCity | None = None
    ) -> Entity:
        rng = self.rng
        if country == "CN":
            city = city or _cn_city(rng)
            assert isinstance(city, CnCity)
            name = name or cn_person(rng)
            address = cn_address(rng, city, company=False)
            area, mobile = city.area_code, True
        else:
            city = city or _intl_city(rng, country)
            assert isinstance(city, IntlCity)
            name = name or intl_person(rng, country)
            address = intl_address(rng, city, company=False)
            area, mobile = rng.choice(city.area_codes), rng.random() < 0.8
        email = person_email(rng, self.registry, name, country)
        phone = new_phone(rng, self.registry, country, area, mobile)
        return Entity(
            "",
            "person",
            country,
            name,
            None,
            email,
            phone,
            mobile,
            address,
            None,
            None,
            None,
            _tier(rng, company=False),
        )

    def clone_other_city(self, parent: Entity) -> Entity:
        """Same brand, same trade, other city: a different legal entity."""
        assert isinstance(parent.name, CompanyName)
        if parent.chinese:
            city = _cn_city(self.rng, exclude=parent.address.city)
            name = CompanyName(
                True,
                parent.name.brand,
                parent.name.brand_latin,
                parent.name.word,
                parent.name.word_latin,
                parent.name.legal,
                city.name,
                city.latin,
            )
            return self.company("CN", name=name, city=city, industry=parent.industry)
        country = self.rng.choice([c for c, _ in INTL_COUNTRY_WEIGHTS if c != parent.country])
        legal = weighted(self.rng, EN_LEGAL_FORMS[country])
        name = CompanyName(
            False, parent.name.brand, parent.name.brand, parent.name.word, parent.name.word, legal
        )
        return self.company(country, name=name, industry=parent.industry)

    def branch(self, parent: Entity) -> Entity:
        """A branch office registers separately: own tax id, phone and address."""
        assert isinstance(parent.name, CompanyName)
        city = _cn_city(self.rng, exclude=parent.address.city)
        pn = parent.name
        name = CompanyName(
            True,
            pn.brand,
            pn.brand_latin,
            pn.word,
            pn.word_latin,
            pn.legal,
            pn.city,
            pn.city_latin,
            city.name,
            city.latin,
        )
        branch = self.company("CN", name=name, city=city, industry=parent.industry)
        branch.size_band = self.rng.choice(("1-9", "10-49", "50-249"))
        return branch


def build_world(rng: random.Random, n_base: int = 2360) -> World:
    """Base population first, then the deliberate look-alikes, then shuffled ids."""
    builder = WorldBuilder(rng)
    entities: list[Entity] = []
    for _ in range(n_base):
        country = "CN" if rng.random() < 0.65 else weighted(rng, INTL_COUNTRY_WEIGHTS)
        if rng.random() < 0.6:
            entities.append(builder.company(country))
        else:
            entities.append(builder.person(country))
    near: list[tuple[int, int, str]] = []
    companies = [i for i, e in enumerate(entities) if e.customer_type == "company"]
    cn_companies = [i for i in companies if entities[i].chinese]
    intl_companies = [i for i in companies if not entities[i].chinese]
    for idx in rng.sample(cn_companies, 36) + rng.sample(intl_companies, 10):
        entities.append(builder.clone_other_city(entities[idx]))
        near.append((idx, len(entities) - 1, "same_brand_other_city"))
    for idx in rng.sample(cn_companies, 25):
        entities.append(builder.branch(entities[idx]))
        near.append((idx, len(entities) - 1, "branch_of_parent"))
    order = list(range(len(entities)))
    rng.shuffle(order)
    for new_pos, old_idx in enumerate(order):
        entities[old_idx].entity_id = f"E{new_pos + 1:05d}"
    misses = [
        NearMiss(*sorted((entities[a].entity_id, entities[b].entity_id)), kind)
        for a, b, kind in near
    ]
    misses += _same_name_people(entities)
    entities.sort(key=lambda e: e.entity_id)
    misses.sort(key=lambda m: (m.entity_a, m.entity_b))
    return World(entities, misses, builder.registry)


def _same_name_people(entities: list[Entity]) -> list[NearMiss]:
    """Distinct people who share a full name, chained pairwise within each name."""
    groups: dict[tuple[str, str], list[str]] = {}
    for e in sorted(entities, key=lambda e: e.entity_id):
        if e.customer_type == "person":
            groups.setdefault((e.country, e.display_name), []).append(e.entity_id)
    misses = []
    for key in sorted(groups):
        ids = groups[key]
        kind = "same_person_name"
        misses.extend(NearMiss(a, b, kind) for a, b in zip(ids, ids[1:], strict=False))
    return misses
