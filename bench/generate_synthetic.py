"""Seeded synthetic customer sets for the benchmark: 10k, 100k or 1M records.

People and companies, Chinese and English, about 24% of records duplicates of
another record's customer, with the corruption real exports show (dropped or
re-spelt legal forms, pinyin renderings, traditional script, typos, re-typed
phones and e-mails, missing fields) and near-miss non-duplicates (family
members at one address, branches and same-brand companies in other cities,
namesakes). Everything is vectorised (numpy draws, polars string expressions),
so 1M records take well under a minute; Python loops run only over
vocabularies, never over rows.

Output (``--out DIR``): ``crm.csv``, ``erp.csv``, ``web.csv`` with canonical
column names, ``fusion.yaml`` for ``fusion run``, and ``truth/records.csv``
(``source_system, source_record_id, entity_id``) and ``truth/entities.csv``
(the clean values of every customer), the layout ``fusion evaluate`` reads.

    python -m bench.generate_synthetic --records 100k --out /tmp/syn100k
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import opencc
import polars as pl

from bench import vocab

SOURCES: tuple[str, ...] = ("crm", "erp", "web")
CANONICAL_COLUMNS: tuple[str, ...] = (
    "customer_type",
    "name",
    "contact_name",
    "email",
    "phone",
    "address",
    "postcode",
    "city",
    "region",
    "country",
    "industry",
    "size_band",
    "tax_id",
    "tier",
)
DUPLICATE_SHARE = 0.24
NEAR_MISS_SHARE = 0.04
# Share of each source's records that keep a field (the rest are blank in that export).
FIELD_PRESENCE: dict[str, dict[str, float]] = {
    "crm": {
        "email": 0.85,
        "phone": 0.75,
        "address": 0.75,
        "postcode": 0.7,
        "city": 0.9,
        "region": 0.8,
        "tax_id": 0.25,
        "contact_name": 0.8,
        "industry": 0.8,
        "size_band": 0.6,
        "tier": 0.9,
    },
    "erp": {
        "email": 0.6,
        "phone": 0.85,
        "address": 0.9,
        "postcode": 0.85,
        "city": 0.95,
        "region": 0.9,
        "tax_id": 0.85,
        "contact_name": 0.7,
        "industry": 0.9,
        "size_band": 0.8,
        "tier": 0.95,
    },
    "web": {
        "email": 0.97,
        "phone": 0.8,
        "address": 0.6,
        "postcode": 0.55,
        "city": 0.7,
        "region": 0.5,
        "tax_id": 0.02,
        "contact_name": 0.5,
        "industry": 0.1,
        "size_band": 0.05,
        "tier": 0.0,
    },
}
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def parse_size(text: str) -> int:
    """'10k' / '100k' / '1m' / '2500' -> number of records."""
    key = text.strip().lower()
    if key in SIZES:
        return SIZES[key]
    if key.endswith("k"):
        return int(float(key[:-1]) * 1_000)
    if key.endswith("m"):
        return int(float(key[:-1]) * 1_000_000)
    return int(key)


def _pick(options: tuple[str, ...] | list[str], index: np.ndarray) -> pl.Series:
    return pl.Series(list(options), dtype=pl.String).gather(index)


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def _map_distinct(series: pl.Series, mapping: dict[str, str]) -> pl.Series:
    return series.replace_strict(mapping, default=series, return_dtype=pl.String)


def _bulk_convert(series: pl.Series, converter: opencc.OpenCC) -> pl.Series:
    """Convert the distinct values with one OpenCC call over their newline-joined text."""
    distinct = series.drop_nulls().unique().sort()
    converted = str(converter.convert("\n".join(distinct.to_list()))).split("\n")
    if len(converted) != len(distinct):
        converted = [str(converter.convert(v)) for v in distinct.to_list()]
    return _map_distinct(series, dict(zip(distinct.to_list(), converted, strict=True)))


@dataclass(frozen=True)
class SyntheticSet:
    """Records per source plus the truth (record -> entity)."""

    records: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    entities: pl.DataFrame


class _Draw:
    """Seeded draws shared by the builders."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def index(self, n: int, size: int, weights: np.ndarray | None = None) -> np.ndarray:
        if weights is None:
            return self.rng.integers(0, size, n)
        p = np.asarray(weights, dtype=np.float64)
        return self.rng.choice(size, size=n, p=p / p.sum())

    def chance(self, n: int, p: float | np.ndarray) -> np.ndarray:
        return self.rng.random(n) < p

    def letters(self, n: int) -> pl.Series:
        return _pick(list("abcdefghijklmnopqrstuvwxyz"), self.rng.integers(0, 26, n))


def _typo(text: pl.Expr, draw: _Draw, n: int) -> pl.Expr:
    """One slip: delete, substitute or transpose a character (never the first)."""
    length = text.str.len_chars()
    position = (pl.lit(pl.Series(draw.rng.random(n))) * (length - 1)).floor().cast(pl.Int64) + 1
    op = pl.lit(pl.Series(draw.rng.integers(0, 3, n)))
    head = text.str.slice(0, position)
    deleted = head + text.str.slice(position + 1)
    substituted = head + pl.lit(draw.letters(n)) + text.str.slice(position + 1)
    transposed = (
        text.str.slice(0, position - 1)
        + text.str.slice(position, 1)
        + text.str.slice(position - 1, 1)
        + text.str.slice(position + 1)
    )
    short = length < 3
    return (
        pl.when(short)
        .then(text)
        .when(op == 0)
        .then(deleted)
        .when(op == 1)
        .then(substituted)
        .otherwise(transposed)
    )


def _people(draw: _Draw, n: int, chinese: np.ndarray) -> pl.DataFrame:
    """Family/given names in script and in Latin letters."""
    v = vocab.sample_vocab()
    surnames = v.CN_SURNAMES
    family_i = draw.index(n, len(surnames), np.array([w for _, _, w in surnames]))
    given_chars = v.CN_GIVEN_CHARS
    g1 = draw.index(n, len(given_chars))
    g2 = draw.index(n, len(given_chars))
    two_char = draw.chance(n, 0.7)
    cn_given = _pick([c for c, _ in given_chars], g1) + pl.Series(
        np.where(two_char, np.array([c for c, _ in given_chars], dtype=object)[g2], "")
    ).cast(pl.String)
    g1_latin = _pick([p for _, p in given_chars], g1)
    g2_latin = pl.Series(
        np.where(two_char, np.array([p.lower() for _, p in given_chars], dtype=object)[g2], "")
    ).cast(pl.String)
    cn_given_latin = g1_latin + g2_latin
    en_first, en_last = vocab.en_first_names(), vocab.en_surnames()
    # English surnames: the common ones far more often (a Zipf-like tail).
    last_w = 1.0 / (np.arange(len(en_last)) + 8.0)
    en_given = _pick(en_first, draw.index(n, len(en_first), 1.0 / (np.arange(len(en_first)) + 5)))
    en_family = _pick(en_last, draw.index(n, len(en_last), last_w))
    cn = pl.Series(chinese)
    frame = pl.DataFrame(
        {
            "cn": cn,
            "cn_family": _pick([s for s, _, _ in surnames], family_i),
            "cn_family_latin": _pick([p for _, p, _ in surnames], family_i),
            "cn_given": cn_given,
            "cn_given_latin": cn_given_latin,
            "en_given": en_given,
            "en_family": en_family,
        }
    )
    return frame.select(
        pl.when("cn").then("cn_family").otherwise("en_family").alias("family"),
        pl.when("cn").then("cn_given").otherwise("en_given").alias("given"),
        pl.when("cn").then("cn_family_latin").otherwise("en_family").alias("family_latin"),
        pl.when("cn").then("cn_given_latin").otherwise("en_given").alias("given_latin"),
    )


def _entities(draw: _Draw, n: int) -> pl.DataFrame:
    """One row per true customer with every clean field and the parts of its name."""
    v = vocab.sample_vocab()
    rng = draw.rng
    company = draw.chance(n, 0.45)
    chinese = draw.chance(n, 0.6)
    uid = rng.permutation(n)  # unique per entity: keeps e-mails and phones unique

    cities = v.CN_CITIES
    cn_city_i = draw.index(n, len(cities), np.array([c.weight for c in cities]))
    us_city_i = draw.index(n, len(vocab.US_CITIES))
    district_n = np.array([len(c.districts) for c in cities])
    district_i = (rng.random(n) * district_n[cn_city_i]).astype(np.int64)
    districts_flat = [d for c in cities for d in c.districts]
    district_offset = np.concatenate([[0], np.cumsum(district_n)[:-1]])

    brand_chars = vocab.cn_brand_chars()
    b1, b2 = draw.index(n, len(brand_chars)), draw.index(n, len(brand_chars))
    cn_words = vocab.cn_industry_words()
    cn_word_i = draw.index(n, len(cn_words))
    legal_cn = draw.index(n, 3, np.array([0.72, 0.16, 0.12]))
    en_stem = draw.index(n, len(vocab.EN_BRAND_STEMS))
    en_end = draw.index(n, len(vocab.EN_BRAND_ENDINGS))
    en_word = draw.index(n, len(vocab.EN_COMPANY_WORDS))
    en_legal = draw.index(n, 4)

    people = _people(draw, n, chinese)
    contacts = _people(draw, n, chinese).rename(lambda c: f"contact_{c}")
    street_en = list(v.EN_STREET_NAMES) + list(vocab.EN_BRAND_STEMS[:30])
    cn_area = [c.area_code for c in cities]
    us_area_first = [c[2][0] for c in vocab.US_CITIES]
    frame = (
        pl.DataFrame(
            {
                "entity_index": np.arange(n),
                "company": company,
                "chinese": chinese,
                "uid": uid,
                "cn_city": _pick([c.name for c in cities], cn_city_i),
                "cn_city_latin": _pick([c.latin for c in cities], cn_city_i),
                "cn_region": _pick([c.region for c in cities], cn_city_i),
                "cn_postcode_prefix": _pick([c.postcode_prefix for c in cities], cn_city_i),
                "cn_admin": _pick([c.admin_prefix for c in cities], cn_city_i),
                "cn_area": _pick(cn_area, cn_city_i),
                "district": _pick(districts_flat, district_offset[cn_city_i] + district_i),
                "district_i": district_i,
                "us_city": _pick([c[0] for c in vocab.US_CITIES], us_city_i),
                "us_region": _pick([c[1] for c in vocab.US_CITIES], us_city_i),
                "us_area": _pick(us_area_first, us_city_i),
                "us_zip_prefix": _pick([c[3] for c in vocab.US_CITIES], us_city_i),
                "cn_brand": _pick([c for c, _ in brand_chars], b1)
                + _pick([c for c, _ in brand_chars], b2),
                "cn_brand_latin": _pick([p.capitalize() for _, p in brand_chars], b1)
                + _pick([p for _, p in brand_chars], b2),
                "cn_word": _pick([w for w, _ in cn_words], cn_word_i),
                "cn_word_latin": _pick([e for _, e in cn_words], cn_word_i),
                "cn_legal": _pick(["有限公司", "股份有限公司", "有限责任公司"], legal_cn),
                "en_brand": _pick(vocab.EN_BRAND_STEMS, en_stem)
                + _pick(vocab.EN_BRAND_ENDINGS, en_end),
                "en_word": _pick(vocab.EN_COMPANY_WORDS, en_word),
                "en_legal": _pick(["Inc.", "LLC", "Ltd", "Corp."], en_legal),
                "street_cn": _pick(v.CN_STREETS, draw.index(n, len(v.CN_STREETS))),
                "street_en": _pick(street_en, draw.index(n, len(street_en))),
                "street_kind": _pick([k for k, _ in vocab.EN_STREET_KINDS], draw.index(n, 6)),
                "house": rng.integers(1, 1200, n),
                "building": _pick(v.CN_BUILDINGS, draw.index(n, len(v.CN_BUILDINGS)))
                + _pick(v.CN_BUILDING_KINDS, draw.index(n, len(v.CN_BUILDING_KINDS))),
                "floor": rng.integers(1, 40, n),
                "has_building": draw.chance(n, 0.4),
                "zip_tail": rng.integers(0, 100, n),
                "pc_tail": rng.integers(0, 100, n),
                "phone_tail": uid * 8 + rng.integers(0, 8, n),
                "mobile_prefix": _pick(vocab.CN_MOBILE_PREFIXES, draw.index(n, 20)),
                "free_mail_cn": _pick(vocab.CN_FREE_MAIL, draw.index(n, len(vocab.CN_FREE_MAIL))),
                "free_mail_en": _pick(vocab.EN_FREE_MAIL, draw.index(n, len(vocab.EN_FREE_MAIL))),
                "industry": _pick(v.INDUSTRIES, draw.index(n, len(v.INDUSTRIES))),
                "size_band": _pick(v.SIZE_BANDS, draw.index(n, len(v.SIZE_BANDS))),
                "tier": _pick(
                    ["S", "A", "B", "C"], draw.index(n, 4, np.array([0.05, 0.2, 0.45, 0.3]))
                ),
                "tax_tail": pl.Series(
                    [
                        "".join(row)
                        for row in np.array(list(vocab.USCC_ALPHABET))[
                            rng.integers(0, len(vocab.USCC_ALPHABET), (n, 10))
                        ]
                    ]
                ),
                "ein": rng.integers(10_000_000, 99_999_999, n),
                "branch": pl.Series([""] * n, dtype=pl.String),
            }
        )
        .hstack(people)
        .hstack(contacts)
    )
    return _near_misses(draw, frame)


def _near_misses(draw: _Draw, frame: pl.DataFrame) -> pl.DataFrame:
    """Turn a few entities into near-miss twins of another of the same kind.

    People: a family member at the same address (same family name, postcode and
    sometimes the same landline). Companies: the same Chinese brand as a branch
    (分公司) in its own city, or the same English brand in another line of business.
    """
    n = frame.height
    rng = draw.rng
    twin = draw.chance(n, NEAR_MISS_SHARE)
    partner = rng.integers(0, n, n)
    same_kind = (frame["company"].to_numpy() == frame["company"].to_numpy()[partner]) & (
        frame["chinese"].to_numpy() == frame["chinese"].to_numpy()[partner]
    )
    twin &= same_kind & (partner != np.arange(n))
    share_phone = draw.chance(n, 0.3)
    p = frame[partner]
    company = frame["company"].to_numpy()
    person_twin = pl.Series(twin & ~company)
    company_twin = pl.Series(twin & company)
    phone_twin = pl.Series(twin & ~company & share_phone)

    def take(column: str, mask: pl.Series) -> pl.Expr:
        return pl.when(pl.lit(mask)).then(pl.lit(p[column])).otherwise(pl.col(column))

    person_cols = [
        "family",
        "family_latin",
        "street_cn",
        "street_en",
        "street_kind",
        "house",
        "building",
        "floor",
        "has_building",
        "cn_city",
        "cn_city_latin",
        "cn_region",
        "cn_postcode_prefix",
        "district",
        "district_i",
        "us_city",
        "us_region",
        "us_zip_prefix",
        "pc_tail",
        "zip_tail",
        "cn_area",
        "us_area",
    ]
    company_cols = [
        "cn_brand",
        "cn_brand_latin",
        "cn_word",
        "cn_word_latin",
        "cn_legal",
        "en_brand",
    ]
    out = frame.with_columns(
        *(take(c, person_twin) for c in person_cols),
        *(take(c, company_twin) for c in company_cols),
        take("phone_tail", phone_twin),
        take("mobile_prefix", phone_twin),
        pl.lit(twin).alias("near_miss"),
        pl.lit(pl.Series(np.where(twin, partner, -1))).alias("near_miss_of"),
    )
    # A Chinese company twin is a branch: the partner's name plus '<own city>分公司'.
    own_city = frame["cn_city"]
    return out.with_columns(
        pl.when(pl.lit(company_twin) & pl.col("chinese"))
        .then(pl.lit(own_city) + "分公司")
        .otherwise(pl.col("branch"))
        .alias("branch"),
        pl.when(pl.lit(company_twin) & pl.col("chinese"))
        .then(pl.lit(frame["cn_city_latin"]) + " Branch")
        .otherwise(pl.lit(""))
        .alias("branch_latin"),
        pl.when(pl.lit(company_twin) & pl.col("chinese"))
        .then(pl.lit(p["cn_city"]))
        .otherwise(pl.col("cn_city"))
        .alias("name_city"),
        pl.when(pl.lit(company_twin) & pl.col("chinese"))
        .then(pl.lit(p["cn_city_latin"]))
        .otherwise(pl.col("cn_city_latin"))
        .alias("name_city_latin"),
    )


def _clean_values(entities: pl.DataFrame) -> pl.DataFrame:
    """The true (clean) field values of every entity."""
    cn, company = pl.col("chinese"), pl.col("company")
    person_name = (
        pl.when(cn)
        .then(pl.col("family") + pl.col("given"))
        .otherwise(pl.col("given") + " " + pl.col("family"))
    )
    contact = (
        pl.when(cn)
        .then(pl.col("contact_family") + pl.col("contact_given"))
        .otherwise(pl.col("contact_given") + " " + pl.col("contact_family"))
    )
    company_name = (
        pl.when(cn)
        .then(
            pl.col("name_city")
            + pl.col("cn_brand")
            + pl.col("cn_word")
            + pl.col("cn_legal")
            + pl.col("branch")
        )
        .otherwise(pl.col("en_brand") + " " + pl.col("en_word") + " " + pl.col("en_legal"))
    )
    number = pl.col("uid").cast(pl.String)
    person_local = (
        pl.when(cn)
        .then(pl.col("family_latin") + pl.col("given_latin") + number)
        .otherwise(pl.col("given_latin") + "." + pl.col("family_latin") + number)
        .str.to_lowercase()
    )
    contact_local = (
        pl.col("contact_given_latin") + "." + pl.col("contact_family_latin") + number
    ).str.to_lowercase()
    company_domain = (
        pl.when(cn)
        .then(
            pl.col("cn_brand_latin") + pl.col("cn_word_latin").str.split(" ").list.first() + ".cn"
        )
        .otherwise(pl.col("en_brand") + pl.col("en_word").str.split(" ").list.first() + ".com")
        .str.to_lowercase()
    )
    email = (
        pl.when(company)
        .then(contact_local + "@" + company_domain)
        .otherwise(person_local + "@" + pl.when(cn).then("free_mail_cn").otherwise("free_mail_en"))
    )
    tail8 = pl.col("phone_tail").cast(pl.String).str.zfill(8)
    tail7 = (pl.col("phone_tail") + 2_000_000).cast(pl.String).str.zfill(7)
    phone = (
        pl.when(cn & company)
        .then("+86" + pl.col("cn_area") + tail8)
        .when(cn)
        .then("+86" + pl.col("mobile_prefix") + tail8)
        .otherwise("+1" + pl.col("us_area") + tail7)
    )
    cn_address = (
        pl.col("district")
        + pl.col("street_cn")
        + pl.col("house").cast(pl.String)
        + "号"
        + pl.when("has_building")
        .then(pl.col("building") + pl.col("floor").cast(pl.String) + "楼")
        .otherwise(pl.lit(""))
    )
    en_address = (
        pl.col("house").cast(pl.String)
        + " "
        + pl.col("street_en")
        + " "
        + pl.col("street_kind")
        + pl.when("has_building")
        .then(", Suite " + pl.col("floor").cast(pl.String) + "00")
        .otherwise(pl.lit(""))
    )
    return entities.select(
        pl.format("E{}", pl.col("entity_index").cast(pl.String).str.zfill(7)).alias("entity_id"),
        "entity_index",
        "company",
        "chinese",
        "near_miss",
        pl.when(company).then(pl.lit("company")).otherwise(pl.lit("person")).alias("customer_type"),
        pl.when(company).then(company_name).otherwise(person_name).alias("name"),
        pl.when(company).then(contact).alias("contact_name"),
        email.alias("email"),
        phone.alias("phone"),
        pl.when(cn).then(cn_address).otherwise(en_address).alias("address"),
        pl.when(cn)
        .then(
            pl.col("cn_postcode_prefix")
            + pl.col("district_i").cast(pl.String)
            + pl.col("pc_tail").cast(pl.String).str.zfill(2)
        )
        .otherwise(pl.col("us_zip_prefix") + pl.col("zip_tail").cast(pl.String).str.zfill(2))
        .alias("postcode"),
        pl.when(cn).then("cn_city").otherwise("us_city").alias("city"),
        pl.when(cn).then("cn_region").otherwise("us_region").alias("region"),
        pl.when(cn).then(pl.lit("CN")).otherwise(pl.lit("US")).alias("country"),
        pl.when(company).then("industry").alias("industry"),
        pl.when(company).then("size_band").alias("size_band"),
        "tier",
        pl.when(company & cn)
        .then("91" + pl.col("cn_admin") + "00" + pl.col("tax_tail"))
        .when(company)
        .then(
            pl.col("ein").cast(pl.String).str.slice(0, 2)
            + "-"
            + pl.col("ein").cast(pl.String).str.slice(2)
            + "0"
        )
        .alias("tax_id"),
        # Name parts the renderer re-spells.
        "family",
        "given",
        "family_latin",
        "given_latin",
        "name_city",
        "name_city_latin",
        "cn_brand",
        "cn_brand_latin",
        "cn_word",
        "cn_word_latin",
        "cn_legal",
        "branch",
        "branch_latin",
        "en_brand",
        "en_word",
        "en_legal",
        "street_kind",
        "free_mail_cn",
        "free_mail_en",
        "contact_family",
        "contact_given",
    )


CN_LEGAL_VARIANT = {
    "有限公司": "有限责任公司",
    "有限责任公司": "有限公司",
    "股份有限公司": "股份公司",
}
EN_LEGAL_VARIANTS = {
    "Inc.": "Incorporated",
    "LLC": "L.L.C.",
    "Ltd": "Limited",
    "Corp.": "Corporation",
}


def _similar_chars(series: pl.Series) -> pl.Series:
    """Swap the first character that has a homophone (an IME slip), per distinct value."""
    table = vocab.sample_vocab().CN_SIMILAR_CHARS
    mapping = {}
    for value in series.drop_nulls().unique().to_list():
        for i, char in enumerate(value):
            if char in table:
                mapping[value] = value[:i] + table[char] + value[i + 1 :]
                break
    return _map_distinct(series, mapping)


def _render_names(draw: _Draw, rec: pl.DataFrame, duplicate: np.ndarray) -> pl.Series:
    """The name as this record's source writes it."""
    n = rec.height
    op = np.where(duplicate, draw.rng.random(n), draw.rng.random(n) * 0.4 + 0.6)
    # op < 0.6 only for duplicates: originals are mostly written cleanly.
    s2t = opencc.OpenCC("s2t")
    traditional = _bulk_convert(rec["name"], s2t)
    similar = _similar_chars(rec["name"])
    frame = rec.with_columns(
        pl.lit(pl.Series(op)).alias("op"),
        traditional.alias("traditional"),
        similar.alias("similar"),
        pl.col("cn_legal")
        .replace_strict(CN_LEGAL_VARIANT, default=pl.col("cn_legal"))
        .alias("cn_legal2"),
        pl.col("en_legal")
        .replace_strict(EN_LEGAL_VARIANTS, default=pl.col("en_legal"))
        .alias("en_legal2"),
        _typo(pl.col("name"), draw, n).alias("typo"),
    )
    en_abbrev = pl.col("name")
    for long, short in vocab.EN_ABBREVIATIONS:
        en_abbrev = en_abbrev.str.replace(long, short, literal=True)
    o = pl.col("op")
    cn_company = (
        pl.when(o < 0.10)
        .then(pl.col("name_city") + pl.col("cn_brand") + pl.col("cn_word") + pl.col("branch"))
        .when(o < 0.17)
        .then(
            pl.col("name_city")
            + pl.col("cn_brand")
            + pl.col("cn_word")
            + pl.col("cn_legal2")
            + pl.col("branch")
        )
        .when(o < 0.24)
        .then(
            pl.col("cn_brand")
            + pl.col("cn_word")
            + "（"
            + pl.col("name_city")
            + "）"
            + pl.col("cn_legal")
            + pl.col("branch")
        )
        .when(o < 0.30)
        .then(pl.col("cn_brand") + pl.col("cn_word") + pl.col("cn_legal") + pl.col("branch"))
        .when(o < 0.40)
        .then(
            pl.concat_str(
                [
                    pl.col("name_city_latin"),
                    pl.col("cn_brand_latin"),
                    pl.col("cn_word_latin"),
                    pl.lit("Co., Ltd."),
                    pl.col("branch_latin"),
                ],
                separator=" ",
            ).str.strip_chars()
        )
        .when(o < 0.45)
        .then("traditional")
        .when(o < 0.50)
        .then("similar")
        .when(o < 0.62)
        .then(pl.col("name_city") + pl.col("cn_brand") + pl.col("cn_word") + pl.col("branch"))
        .otherwise("name")
    )
    en_company = (
        pl.when(o < 0.14)
        .then(pl.col("en_brand") + " " + pl.col("en_word"))
        .when(o < 0.24)
        .then(pl.col("en_brand") + " " + pl.col("en_word") + " " + pl.col("en_legal2"))
        .when(o < 0.32)
        .then(en_abbrev)
        .when(o < 0.38)
        .then(pl.col("name").str.to_uppercase())
        .when(o < 0.50)
        .then("typo")
        .when(o < 0.53)
        .then(pl.col("en_brand") + " " + pl.col("en_word") + ", " + pl.col("en_legal"))
        .otherwise("name")
    )
    pinyin_given = pl.col("given_latin").str.slice(0, 1).str.to_uppercase() + pl.col(
        "given_latin"
    ).str.slice(1)
    cn_person = (
        pl.when(o < 0.08)
        .then(pl.col("family_latin") + " " + pinyin_given)
        .when(o < 0.16)
        .then(pinyin_given + " " + pl.col("family_latin"))
        .when(o < 0.20)
        .then(pl.col("family_latin").str.to_uppercase() + " " + pinyin_given)
        .when(o < 0.26)
        .then("similar")
        .when(o < 0.30)
        .then("traditional")
        .when(o < 0.34)
        .then(pl.col("family") + " " + pl.col("given"))
        .otherwise("name")
    )
    en_person = (
        pl.when(o < 0.08)
        .then(pl.col("given").str.slice(0, 1) + ". " + pl.col("family"))
        .when(o < 0.18)
        .then(pl.col("family") + ", " + pl.col("given"))
        .when(o < 0.24)
        .then(pl.col("name").str.to_uppercase())
        .when(o < 0.38)
        .then("typo")
        .otherwise("name")
    )
    company, cn = pl.col("company"), pl.col("chinese")
    name = (
        pl.when(company & cn)
        .then(cn_company)
        .when(company)
        .then(en_company)
        .when(cn)
        .then(cn_person)
        .otherwise(en_person)
    )
    return frame.select(name.alias("name"))["name"]


def _format_phone(draw: _Draw, phone: pl.Expr, n: int) -> pl.Expr:
    """A true E.164 number as people type it."""
    style = pl.lit(pl.Series(draw.rng.integers(0, 5, n)))
    cn = phone.str.starts_with("+86")
    national = phone.str.slice(3)
    # A landline written nationally carries the trunk prefix: 021-..., 0755-...
    national = pl.when(national.str.starts_with("1")).then(national).otherwise("0" + national)
    us_national = phone.str.slice(2)
    cn_styles = (
        pl.when(style == 0)
        .then(national)
        .when(style == 1)
        .then(
            "+86 "
            + national.str.slice(0, 3)
            + " "
            + national.str.slice(3, 4)
            + " "
            + national.str.slice(7)
        )
        .when(style == 2)
        .then(
            national.str.slice(0, 3) + "-" + national.str.slice(3, 4) + "-" + national.str.slice(7)
        )
        .when(style == 3)
        .then("86-" + national)
        .otherwise(phone)
    )
    us_styles = (
        pl.when(style == 0)
        .then(
            "("
            + us_national.str.slice(0, 3)
            + ") "
            + us_national.str.slice(3, 3)
            + "-"
            + us_national.str.slice(6)
        )
        .when(style == 1)
        .then(
            us_national.str.slice(0, 3)
            + "-"
            + us_national.str.slice(3, 3)
            + "-"
            + us_national.str.slice(6)
        )
        .when(style == 2)
        .then(
            "+1 "
            + us_national.str.slice(0, 3)
            + " "
            + us_national.str.slice(3, 3)
            + " "
            + us_national.str.slice(6)
        )
        .when(style == 3)
        .then(
            us_national.str.slice(0, 3)
            + "."
            + us_national.str.slice(3, 3)
            + "."
            + us_national.str.slice(6)
        )
        .otherwise(phone)
    )
    return pl.when(cn).then(cn_styles).otherwise(us_styles)


def _render_records(draw: _Draw, values: pl.DataFrame, n_records: int) -> pl.DataFrame:
    """Records as the sources export them: duplicates, corruption, blanks."""
    rng = draw.rng
    n_entities = values.height
    extra = n_records - n_entities
    owners = rng.integers(0, n_entities, extra)
    entity_of = np.concatenate([np.arange(n_entities), owners])
    duplicate = np.concatenate([np.zeros(n_entities, bool), np.ones(extra, bool)])
    order = rng.permutation(n_records)
    entity_of, duplicate = entity_of[order], duplicate[order]
    rec = values[entity_of]
    n = rec.height
    company = rec["company"].to_numpy()
    source_p = np.where(company[:, None], [0.45, 0.40, 0.15], [0.30, 0.10, 0.60])
    source_i = (rng.random(n)[:, None] > np.cumsum(source_p, axis=1)).sum(axis=1)
    source = _pick(SOURCES, source_i)

    name = _render_names(draw, rec, duplicate)
    dup = pl.lit(pl.Series(duplicate))
    r = rng.random((n, 12))
    col = [pl.lit(pl.Series(r[:, k])) for k in range(12)]
    email = pl.col("email")
    local, domain = email.str.extract(r"^([^@]+)@", 1), email.str.extract(r"@(.+)$", 1)
    email_case = (
        pl.when(col[0] < 0.5)
        .then(email.str.to_uppercase())
        .otherwise(local.str.slice(0, 1).str.to_uppercase() + local.str.slice(1) + "@" + domain)
    )
    other_mail = pl.when(pl.col("chinese")).then("free_mail_en").otherwise("free_mail_cn")
    email_out = (
        pl.when(dup & (col[1] < 0.06))
        .then(local + "@" + other_mail)
        .when(dup & (col[1] < 0.09))
        .then(_typo(local, draw, n) + "@" + domain)
        .when(col[1] < 0.25)
        .then(email_case)
        .otherwise(email)
    )
    new_phone = (
        pl.when(pl.col("phone").str.starts_with("+86"))
        .then("+86139" + pl.lit(_digits(rng.integers(0, 10**8, n), 8)))
        .otherwise("+1646" + pl.lit(_digits(rng.integers(2_000_000, 9_999_999, n), 7)))
    )
    phone_out = _format_phone(
        draw, pl.when(dup & (col[2] < 0.05)).then(new_phone).otherwise("phone"), n
    )
    address = pl.col("address")
    kinds = dict(vocab.EN_STREET_KINDS)
    abbreviated = address
    for long, short in kinds.items():
        abbreviated = abbreviated.str.replace(f" {long}", f" {short}", literal=True)
    address_out = (
        pl.when(col[3] < 0.25)
        .then(abbreviated)
        .when(pl.col("chinese") & (col[3] < 0.40))
        .then(pl.col("city") + "市" + address)
        .when(dup & (col[3] < 0.47))
        .then(_typo(address, draw, n))
        .when(dup & (col[3] < 0.52))
        .then(address.str.replace(r",? ?Suite \d+|\p{Han}+\d+楼$", ""))
        .otherwise(address)
    )
    postcode_out = (
        pl.when(dup & (col[4] < 0.03))
        .then(_typo(pl.col("postcode"), draw, n))
        .otherwise("postcode")
    )
    tax_out = (
        pl.when(dup & (col[5] < 0.02)).then(_typo(pl.col("tax_id"), draw, n)).otherwise("tax_id")
    )
    new_contact = (
        pl.when(pl.col("chinese"))
        .then(pl.col("contact_family") + "先生")
        .otherwise("Mr " + pl.col("contact_family"))
    )
    contact_out = pl.when(dup & (col[6] < 0.10)).then(new_contact).otherwise("contact_name")
    out = rec.with_columns(
        name.alias("name"),
        email_out.alias("email"),
        phone_out.alias("phone"),
        address_out.alias("address"),
        postcode_out.alias("postcode"),
        tax_out.alias("tax_id"),
        contact_out.alias("contact_name"),
        source.alias("source_system"),
    )
    # Blank fields per source.
    presence = rng.random((n, len(FIELD_PRESENCE["crm"])))
    blanks = []
    for k, field in enumerate(FIELD_PRESENCE["crm"]):
        keep = np.select(
            [source_i == i for i in range(len(SOURCES))],
            [FIELD_PRESENCE[s][field] for s in SOURCES],
        )
        blanks.append(
            pl.when(pl.lit(pl.Series(presence[:, k] < keep))).then(pl.col(field)).alias(field)
        )
    out = out.with_columns(blanks)
    seconds = rng.integers(1_577_836_800, 1_767_225_600, n)  # 2020-01-01 .. 2026-01-01
    return out.with_columns(
        pl.from_epoch(pl.lit(pl.Series(seconds)), time_unit="s")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("updated_at"),
        pl.int_range(pl.len()).over("source_system").alias("seq"),
    )


def generate(n_records: int, *, seed: int = 20261121) -> SyntheticSet:
    """Build a synthetic set of ``n_records`` records (seeded, deterministic)."""
    draw = _Draw(seed)
    n_entities = max(1, round(n_records * (1 - DUPLICATE_SHARE)))
    values = _clean_values(_entities(draw, n_entities))
    rec = _render_records(draw, values, n_records)
    rec = rec.with_columns(
        (
            pl.col("source_system").str.to_uppercase()
            + "-"
            + (pl.col("seq") + 1).cast(pl.String).str.zfill(7)
        ).alias("record_id")
    )
    records = {
        source: rec.filter(pl.col("source_system") == source)
        .sort("seq")
        .select("record_id", *CANONICAL_COLUMNS, "updated_at")
        for source in SOURCES
    }
    truth = rec.select(
        "source_system", pl.col("record_id").alias("source_record_id"), "entity_id"
    ).sort("source_system", "source_record_id")
    entities = values.select("entity_id", *CANONICAL_COLUMNS)
    return SyntheticSet(records=records, truth=truth, entities=entities)


FUSION_YAML = """# fusion run configuration for a synthetic benchmark set (bench/).
run:
  name: synthetic
sources:
{sources}
"""
SOURCE_YAML = """  - name: {name}
    system: {system}
    path: {name}.csv
    format: csv
    encoding: utf-8
    delimiter: ","
    default_country: CN
    record_id: record_id
    updated_at: {{column: updated_at, format: iso}}
    fields: {{{fields}}}
    trust: {{default: {trust}}}
"""


def write(dataset: SyntheticSet, out: Path) -> None:
    """Write the source CSVs, fusion.yaml and truth/records.csv under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    systems = {"crm": "crm", "erp": "erp", "web": "ecommerce"}
    trust = {"crm": 0.8, "erp": 0.85, "web": 0.7}
    fields = ", ".join(f"{c}: {c}" for c in CANONICAL_COLUMNS)
    for source, frame in dataset.records.items():
        frame.write_csv(out / f"{source}.csv")
    (out / "fusion.yaml").write_text(
        FUSION_YAML.format(
            sources="".join(
                SOURCE_YAML.format(name=s, system=systems[s], fields=fields, trust=trust[s])
                for s in SOURCES
            )
        ),
        encoding="utf-8",
    )
    dataset.truth.write_csv(out / "truth" / "records.csv")
    dataset.entities.write_csv(out / "truth" / "entities.csv")


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m bench.generate_synthetic --records 1m --out DIR [--seed N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="10k", help="10k, 100k, 1m or a number")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args(argv)
    dataset = generate(parse_size(args.records), seed=args.seed)
    write(dataset, args.out)
    print(f"wrote {sum(f.height for f in dataset.records.values()):,} records to {args.out}")


if __name__ == "__main__":
    main()
