"""Contact details of the simulated customers: names, phones, e-mails, addresses, tax ids.

Every true value must be valid (phones pass ``phonenumbers``, tax ids carry
their check character) so that any invalid value in an export is there because
a source mangled it, never because the world was sloppy.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

import phonenumbers

from .vocab import (
    CN_BUILDING_KINDS,
    CN_BUILDINGS,
    CN_COMMON_FULL_NAMES,
    CN_FREE_MAIL,
    CN_GIVEN_CHARS,
    CN_SINGLE_GIVEN,
    CN_STREETS,
    CN_SURNAMES,
    DE_FIRST_NAMES,
    DE_STREETS,
    DE_SURNAMES,
    EN_COMMON_FULL_NAMES,
    EN_FIRST_NAMES,
    EN_STREET_KINDS,
    EN_STREET_NAMES,
    EN_SURNAMES,
    INTL_FREE_MAIL,
    SG_STREETS,
    SG_SURNAMES,
    CnCity,
    IntlCity,
)

COUNTRY_CALLING_CODE = {"CN": "86", "US": "1", "GB": "44", "SG": "65", "DE": "49"}
CN_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    """Pick from (value, weight) pairs; keeps call sites free of zip/unzip noise."""
    values = [v for v, _ in options]
    weights = [w for _, w in options]
    return rng.choices(values, weights=weights, k=1)[0]


@dataclass
class Registry:
    """Values already handed out, so that two customers never share a true value by accident."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    tax_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PersonName:
    """A person's name, with its Latin spelling kept for pinyin renderings and e-mails."""

    family: str
    given: str
    family_latin: str
    given_latin: str
    chinese: bool

    @property
    def full(self) -> str:
        return self.family + self.given if self.chinese else f"{self.given} {self.family}"

    @property
    def latin(self) -> str:
        """How a Chinese name is written in pinyin (family name first, as on a passport)."""
        return f"{self.family_latin} {self.given_latin}"


@dataclass(frozen=True)
class Address:
    """A postal address; ``line2`` (floor, suite, flat) is optional in real exports."""

    line1: str
    line2: str
    postcode: str
    city: str
    region: str
    country: str

    @property
    def full(self) -> str:
        if not self.line2:
            return self.line1
        return self.line1 + self.line2 if self.country == "CN" else f"{self.line1}, {self.line2}"


def ascii_fold(text: str) -> str:
    """E-mail local parts cannot carry umlauts: Müller -> mueller, as Germans write it."""
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    text = text.replace("Ü", "Ue").replace("Ö", "Oe").replace("Ä", "Ae").replace("'", "")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def cn_person(rng: random.Random, common_rate: float = 0.08) -> PersonName:
    """A Chinese name; a share come from a short list of very common full names."""
    surname_py = {s: p for s, p, _ in CN_SURNAMES}
    given_py = dict(CN_GIVEN_CHARS)
    if rng.random() < common_rate:
        family, given = rng.choice(CN_COMMON_FULL_NAMES)
        return PersonName(family, given, surname_py[family], given_py[given], chinese=True)
    family = weighted(rng, tuple((s, w) for s, _, w in CN_SURNAMES))
    if rng.random() < 0.15:
        chars = [rng.choice(CN_GIVEN_CHARS[:CN_SINGLE_GIVEN])]
    else:
        chars = rng.sample(CN_GIVEN_CHARS, 2)
    given = "".join(c for c, _ in chars)
    latin = "".join(p for _, p in chars).capitalize()
    return PersonName(family, given, surname_py[family], latin, chinese=True)


def intl_person(rng: random.Random, country: str, common_rate: float = 0.08) -> PersonName:
    """An English-style name; the surname pool follows the country."""
    if rng.random() < common_rate:
        fitting = [
            (g, f)
            for g, f in EN_COMMON_FULL_NAMES
            if (f in SG_SURNAMES) == (country == "SG") and (f in DE_SURNAMES) == (country == "DE")
        ]
        if fitting:
            given, family = rng.choice(fitting)
            return PersonName(family, given, ascii_fold(family), given, chinese=False)
    if country == "DE":
        given, family = rng.choice(DE_FIRST_NAMES), rng.choice(DE_SURNAMES)
    elif country == "SG":
        given, family = rng.choice(EN_FIRST_NAMES), rng.choice(SG_SURNAMES)
    else:
        given, family = rng.choice(EN_FIRST_NAMES), rng.choice(EN_SURNAMES)
    return PersonName(family, given, ascii_fold(family), ascii_fold(given), chinese=False)


def _e164(country: str, national: str) -> str | None:
    """The E.164 form when the number is valid, else None (the caller draws again)."""
    number = phonenumbers.parse("+" + COUNTRY_CALLING_CODE[country] + national)
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _national_candidate(rng: random.Random, country: str, area: str, mobile: bool) -> str:
    """One random national number; validity is checked by the caller."""
    if country == "CN":
        if mobile:
            return rng.choice(CN_MOBILE_PREFIXES) + _digits(rng, 8)
        # Most cities dial 8 local digits, a few (Xiamen) still 7: validation sorts it out.
        return area + _digits(rng, rng.choice((7, 8)), "2345678")
    if country == "US":
        return area + _digits(rng, 3, "23456789") + _digits(rng, 4)
    if country == "GB":
        if mobile:
            return "7" + rng.choice("456789") + _digits(rng, 8)
        return area + (_digits(rng, 8, "37") if area == "20" else _digits(rng, 7, "2345678"))
    if country == "SG":
        return _digits(rng, 8, "89") if mobile else "6" + _digits(rng, 7)
    if mobile:  # DE
        return rng.choice(("151", "152", "160", "170", "171", "176", "177")) + _digits(rng, 8)
    return area + _digits(rng, 7 if area != "30" else 8, "2345789")


def new_phone(rng: random.Random, registry: Registry, country: str, area: str, mobile: bool) -> str:
    """A valid, unused phone number in E.164."""
    for _ in range(200):
        e164 = _e164(country, _national_candidate(rng, country, area, mobile))
        if e164 and e164 not in registry.phones:
            registry.phones.add(e164)
            return e164
    raise RuntimeError(f"could not draw a valid phone for {country} {area}")


def _unique_email(registry: Registry, rng: random.Random, local: str, domain: str) -> str:
    """Real mailboxes collide on popular names; providers then append digits."""
    local = local.lower()
    email = f"{local}@{domain}"
    while email in registry.emails:
        email = f"{local}{rng.randint(1, 9999)}@{domain}"
    registry.emails.add(email)
    return email


def person_email(rng: random.Random, registry: Registry, name: PersonName, country: str) -> str:
    """A private mailbox derived from the person's name."""
    fam, giv = ascii_fold(name.family_latin).lower(), ascii_fold(name.given_latin).lower()
    if country == "CN":
        domain = weighted(rng, CN_FREE_MAIL)
        pattern = rng.randrange(5)
        year = str(rng.randint(1965, 2004))
        local = (
            f"{fam}{giv}{year[2:]}",
            f"{giv}.{fam}",
            f"{fam}_{giv}{year}",
            f"{fam}{giv}",
            f"{fam}.{giv}{rng.randint(1, 99)}",
        )[pattern]
    else:
        domain = weighted(rng, INTL_FREE_MAIL[country])
        local = (
            f"{giv}.{fam}",
            f"{giv[0]}{fam}",
            f"{giv}{fam}{rng.randint(1, 99)}",
            f"{giv}_{fam}",
        )[rng.randrange(4)]
    return _unique_email(registry, rng, local, domain)


def work_email(rng: random.Random, registry: Registry, contact: PersonName, domain: str) -> str:
    """The contact's mailbox at the company domain, or a shared role mailbox."""
    fam, giv = ascii_fold(contact.family_latin).lower(), ascii_fold(contact.given_latin).lower()
    local = (
        f"{giv}.{fam}",
        f"{fam}{giv}",
        f"{giv[0]}{fam}",
        f"{fam}.{giv}",
        "info",
        "sales",
        "service",
    )[rng.choices(range(7), weights=(4, 3, 2, 2, 1, 1, 1))[0]]
    return _unique_email(registry, rng, local, domain)


def company_domain(registry: Registry, rng: random.Random, stems: list[str], tld: str) -> str:
    """The first unused domain among the candidate stems (then stems with digits)."""
    for stem in stems:
        domain = f"{stem}{tld}"
        if domain not in registry.domains:
            registry.domains.add(domain)
            return domain
    while True:
        domain = f"{stems[0]}{rng.randint(2, 99)}{tld}"
        if domain not in registry.domains:
            registry.domains.add(domain)
            return domain


def uscc(rng: random.Random, registry: Registry, admin_prefix: str) -> str:
    """A unified social credit code (GB 32100-2015) with a correct check character."""
    while True:
        district = f"{rng.randint(1, 18):02d}"
        org = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        body = "91" + admin_prefix + district + org
        total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
        code = body + USCC_ALPHABET[(31 - total % 31) % 31]
        if code not in registry.tax_ids:
            registry.tax_ids.add(code)
            return code


def intl_tax_id(rng: random.Random, registry: Registry, country: str) -> str:
    """A national company tax number in its usual printed form."""
    while True:
        if country == "US":
            code = f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
        elif country == "SG":
            check = rng.choice("CDEGHKMNRWZ")
            code = f"{rng.randint(2000, 2024)}{rng.randint(10000, 99999)}{check}"
        else:
            code = f"{country}{rng.randint(100000000, 999999999)}"
        if code not in registry.tax_ids:
            registry.tax_ids.add(code)
            return code


def cn_address(rng: random.Random, city: CnCity, company: bool) -> Address:
    """A mainland street address: district + street + number, then building or flat."""
    number = rng.choice((rng.randint(1, 99), rng.randint(1, 999)))
    line1 = f"{rng.choice(city.districts)}{rng.choice(CN_STREETS)}{number}号"
    floor, room = rng.randint(1, 32), rng.randint(1, 20)
    if company and rng.random() < 0.6:
        building = rng.choice(CN_BUILDINGS) + rng.choice(CN_BUILDING_KINDS)
        line2 = rng.choice(
            (
                f"{building}{floor}楼",
                f"{building}{floor}{room:02d}室",
                f"{rng.randint(1, 12)}号楼{floor}层",
            )
        )
    elif not company and rng.random() < 0.85:
        line2 = f"{rng.randint(1, 30)}号楼{floor}{room:02d}室"
    else:
        line2 = ""
    postcode = city.postcode_prefix + f"{rng.randint(0, 2)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    return Address(line1, line2, postcode, city.name, city.region, "CN")


def intl_address(rng: random.Random, city: IntlCity, company: bool) -> Address:
    """A street address in the local style of the country."""
    prefix = rng.choice(city.postcodes)
    line2 = ""
    if city.country == "DE":
        line1 = f"{rng.choice(DE_STREETS)} {rng.randint(1, 180)}"
        postcode = prefix + f"{rng.randint(10, 99)}"
    elif city.country == "SG":
        line1 = f"{rng.randint(1, 300)} {rng.choice(SG_STREETS)}"
        line2 = f"#{rng.randint(2, 40):02d}-{rng.randint(1, 20):02d}"
        postcode = prefix + f"{rng.randint(0, 9999):04d}"
    else:
        kind = rng.choice(EN_STREET_KINDS)[0]
        line1 = f"{rng.randint(1, 2400)} {rng.choice(EN_STREET_NAMES)} {kind}"
        if city.country == "US":
            postcode = prefix + f"{rng.randint(1, 99):02d}"
            if rng.random() < 0.5:
                line2 = (
                    f"Suite {rng.randint(1, 30)}00"
                    if company
                    else f"Apt {rng.randint(1, 20)}{rng.choice('ABCD')}"
                )
        else:
            letters = "ABDEFGHJLNPQRSTUWXYZ"
            postcode = f"{prefix} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
            if rng.random() < 0.4:
                line2 = f"Unit {rng.randint(1, 40)}" if company else f"Flat {rng.randint(1, 40)}"
    return Address(line1, line2, postcode, city.name, city.region, city.country)
