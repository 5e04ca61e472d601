"""The customers, their histories, and which records each one has in which source.

A customer is a person or a company. Each has between one and eight records
(companies more: CRM, ERP and the tickets of several contacts), and every
record carries a timestamp. Phones, e-mails, addresses and tiers change over
time; a record written before the change holds the old value, so the records
of one customer disagree the way real exports do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from bench import vocab
from bench.synthetic import companies, people
from bench.synthetic.draw import Draw
from bench.synthetic.places import PLACE_COLUMNS, places

SOURCES: tuple[str, ...] = ("crm", "erp", "web", "tickets")
COMPANY_SHARE = 0.35
CHINESE_SHARE = 0.7
# Records per customer: 1..8 for companies (mean 3.1), 1..5 for people (mean 1.8).
RECORDS_PER_COMPANY = np.array([0.22, 0.22, 0.18, 0.13, 0.09, 0.06, 0.05, 0.05])
RECORDS_PER_PERSON = np.array([0.55, 0.25, 0.11, 0.05, 0.04])
SOURCE_SHARES = {
    "company": np.array([0.30, 0.30, 0.10, 0.30]),
    "person": np.array([0.25, 0.05, 0.45, 0.25]),
}
# Share of person customers living with another customer (same address).
HOUSEHOLD_SHARE = 0.10
HOUSEHOLD_SAME_FAMILY = 0.5
HOUSEHOLD_SHARED_EMAIL = 0.2
# Share of customers whose value changed once within the exports' time span.
CHANGES = {
    "person": {"phone": 0.15, "email": 0.12, "address": 0.15, "tier": 0.25},
    "company": {"phone": 0.08, "email": 0.0, "address": 0.10, "tier": 0.35},
}
TIERS = ("S", "A", "B", "C")
TIER_SHARES = np.array([0.05, 0.2, 0.45, 0.3])
START, END = 1_577_836_800, 1_767_225_600  # 2020-01-01 .. 2026-01-01 UTC
# A source's own contact: CRM holds the first, ERP the second, this often.
OWN_CONTACT = 0.85


@dataclass(frozen=True)
class World:
    """Every customer's clean values and each record's owner, source and time."""

    persons: pl.DataFrame
    firms: pl.DataFrame
    contacts: pl.DataFrame
    records: pl.DataFrame


def _changes(draw: Draw, frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """The moment each changing value changed (never for the others)."""
    n = frame.height
    return (
        frame.with_columns(
            pl.Series(
                f"{field}_changed_at",
                np.where(
                    draw.chance(n, share),
                    draw.rng.integers(START + 30_000_000, END - 30_000_000, n),
                    0,
                ),
            )
            for field, share in CHANGES[kind].items()
        )
        .with_columns(
            tier=draw.choose(n, TIERS, TIER_SHARES),
        )
        .with_columns(
            tier_old=pl.col("tier").replace_strict(vocab.CHANGE_OF_TIER),
        )
    )


def _free_mail(draw: Draw, chinese: np.ndarray) -> pl.Series:
    cn = vocab.sample_vocab().CN_FREE_MAIL
    cn_mail = draw.choose(len(chinese), [d for d, _ in cn], np.array([w for _, w in cn]))
    en_mail = draw.choose(len(chinese), vocab.EN_FREE_MAIL)
    return pl.select(
        pl.when(pl.lit(pl.Series(chinese))).then(pl.lit(cn_mail)).otherwise(pl.lit(en_mail))
    ).to_series()


def _unique_email(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """A later customer whose mailbox is taken gets a digit, as mail providers insist."""
    rank = pl.int_range(pl.len()).over(column)
    return frame.with_columns(
        pl.when(rank > 0)
        .then(pl.col(column).str.replace("@", rank.cast(pl.String) + "@", literal=True))
        .otherwise(column)
        .alias(column)
    )


def _persons(draw: Draw, chinese: np.ndarray) -> pl.DataFrame:
    n = len(chinese)
    names = people.person_names(draw, chinese)
    home, home_old, work = places(draw, chinese), places(draw, chinese), places(draw, chinese)
    frame = pl.concat(
        [
            names,
            home,
            home_old.select(pl.all().name.suffix("_old")),
            work.select(pl.col("address").alias("work_address")),
        ],
        how="horizontal",
    ).with_columns(chinese=pl.Series(chinese))
    # Households: a member lives at an earlier customer's address.
    member = draw.chance(n, HOUSEHOLD_SHARE)
    member[:2] = False
    root = np.arange(n)
    for script in (True, False):
        roots = np.flatnonzero(~member & (chinese == script))
        if len(roots):
            chosen = member & (chinese == script)
            root[chosen] = roots[draw.index(int(chosen.sum()), len(roots))]
    member &= root != np.arange(n)
    root = np.where(member, root, np.arange(n))
    same_family = pl.lit(pl.Series(member & draw.chance(n, HOUSEHOLD_SAME_FAMILY)))
    at_home = pl.lit(pl.Series(member))
    housed = frame[root]
    frame = frame.with_columns(
        *(
            pl.when(at_home).then(pl.lit(housed[c])).otherwise(pl.col(c)).alias(c)
            for c in (*PLACE_COLUMNS, "district")
        ),
        *(
            pl.when(same_family).then(pl.lit(housed[c])).otherwise(pl.col(c)).alias(c)
            for c in ("family", "family_latin")
        ),
        household_of=pl.Series(np.where(member, root, -1)),
    )
    mobile_prefix = draw.choose(n, vocab.CN_MOBILE_PREFIXES)
    us_area = frame["area_code"]
    mobile = draw.unique(n, digits=8)
    mobile_old = draw.unique(n, digits=8)
    cn = pl.col("chinese")
    frame = frame.with_columns(
        pl.when(cn)
        .then("+86" + pl.lit(mobile_prefix) + pl.lit(mobile))
        .otherwise("+1" + pl.lit(us_area) + "4" + pl.lit(mobile).str.slice(0, 6))
        .alias("phone"),
        pl.when(cn)
        .then("+86" + pl.lit(mobile_prefix) + pl.lit(mobile_old))
        .otherwise("+1" + pl.lit(us_area) + "5" + pl.lit(mobile_old).str.slice(0, 6))
        .alias("phone_old"),
        (people.personal_email_local(draw, frame) + "@" + _free_mail(draw, chinese)).alias("email"),
        (people.personal_email_local(draw, frame) + "@" + _free_mail(draw, chinese)).alias(
            "email_old"
        ),
    )
    frame = _unique_email(_unique_email(frame, "email"), "email_old")
    shared = pl.lit(pl.Series(member & draw.chance(n, HOUSEHOLD_SHARED_EMAIL)))
    frame = frame.with_columns(
        pl.when(shared).then(pl.lit(frame["email"][root])).otherwise("email").alias("email")
    )
    return _changes(draw, frame, "person")


def _record_counts(draw: Draw, n_records: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether each customer is a company, and how many records it has (summing to n)."""
    mean = COMPANY_SHARE * 3.1 + (1 - COMPANY_SHARE) * 1.8
    guess = int(n_records / mean * 1.2) + 10
    company = draw.chance(guess, COMPANY_SHARE)
    company_k = draw.index(guess, len(RECORDS_PER_COMPANY), RECORDS_PER_COMPANY) + 1
    person_k = draw.index(guess, len(RECORDS_PER_PERSON), RECORDS_PER_PERSON) + 1
    k = np.where(company, company_k, person_k)
    total = np.cumsum(k)
    last = int(np.searchsorted(total, n_records))
    k = k[: last + 1].copy()
    k[-1] -= int(total[last] - n_records)
    return company[: last + 1], k


def build(draw: Draw, n_records: int) -> World:
    """Draw the customers and the records they have (``n_records`` in all)."""
    company, k = _record_counts(draw, n_records)
    n = len(k)
    chinese = draw.chance(n, CHINESE_SHARE)
    firm_rows = np.flatnonzero(company)
    person_rows = np.flatnonzero(~company)
    firms = companies.companies(draw, chinese[firm_rows])
    # A company moves within its city: same city, another street.
    moved = places(draw, chinese[firm_rows], city_i=firms["city_i"].to_numpy())
    firms = _changes(draw, firms, "company").with_columns(
        entity=pl.Series(firm_rows),
        n_records=pl.Series(k[firm_rows]),
        address_old=moved["address"],
        postcode_old=moved["postcode"],
    )
    contacts, offsets = companies.contacts(draw, firms)
    count = np.diff(np.append(offsets, contacts.height))
    persons = _persons(draw, chinese[person_rows]).with_columns(
        entity=pl.Series(person_rows), n_records=pl.Series(k[person_rows])
    )
    row = np.empty(n, dtype=np.int64)
    row[firm_rows] = np.arange(len(firm_rows))
    row[person_rows] = np.arange(len(person_rows))
    entity = np.repeat(np.arange(n), k)
    m = len(entity)
    is_firm = company[entity]
    shares = np.where(is_firm[:, None], SOURCE_SHARES["company"], SOURCE_SHARES["person"])
    source = (draw.rng.random(m)[:, None] > np.cumsum(shares, axis=1)).sum(axis=1)
    source = np.minimum(source, len(SOURCES) - 1)
    # Which contact wrote or is filed on each company record.
    firm_row = row[entity]
    n_contacts = np.where(is_firm, count[np.where(is_firm, firm_row, 0)], 1)
    anyone = (draw.rng.random(m) * n_contacts).astype(np.int64)
    own = np.where(source == SOURCES.index("erp"), np.minimum(1, n_contacts - 1), 0)
    keeps_own = draw.chance(m, OWN_CONTACT) & (source <= SOURCES.index("erp"))
    contact_no = np.where(keeps_own, own, anyone)
    contact = np.where(is_firm, offsets[np.where(is_firm, firm_row, 0)] + contact_no, -1)
    records = pl.DataFrame(
        {
            "entity": entity,
            "company": is_firm,
            "row": row[entity],
            "source": np.array(SOURCES)[source],
            "at": draw.rng.integers(START, END, m),
            "contact": contact,
        }
    )
    return World(persons=persons, firms=firms, contacts=contacts, records=records)
