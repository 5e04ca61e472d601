"""Company customers: Chinese naming, brand groups, contacts, domains and main lines.

A Chinese company is named region + brand (字号) + industry + legal form:
上海鑫迅新能源有限公司. About 15% of companies belong to a brand group of an
earlier one, and each of those is a different customer with its own tax ID and
main line: the same brand and trade in another city, a subsidiary in another
trade, or a branch (上海鑫迅新能源有限公司北京分公司) that often shares its
parent's e-mail domain. Every company has one to five contacts, each with an
own name, mobile and mailbox on the company's domain (never free mail).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from bench import vocab
from bench.synthetic import people
from bench.synthetic.draw import Draw, pick, zipf_weights
from bench.synthetic.places import city_draw, places

GROUP_SHARE = 0.15
# Kinds of group member: same brand in another city, subsidiary, 分公司 branch.
GROUP_KINDS = ("city", "subsidiary", "branch")
GROUP_KIND_SHARES = np.array([0.4, 0.3, 0.3])
# Share of group members that use the parent's e-mail domain, per kind.
SHARED_DOMAIN = {"city": 0.4, "subsidiary": 0.3, "branch": 0.7}
CONTACT_COUNT_SHARES = np.array([0.30, 0.28, 0.20, 0.13, 0.09])  # 1..5 contacts
EN_LEGAL = ("Inc.", "LLC", "Ltd", "Corp.")


def _brand_columns(draw: Draw, n: int) -> pl.DataFrame:
    pool = tuple(dict.fromkeys(vocab.CN_BRAND_CHAR_POOL))
    weights = zipf_weights(len(pool), offset=15.0)
    b1, b2 = draw.index(n, len(pool), weights), draw.index(n, len(pool), weights)
    b2 = np.where(b1 == b2, (b2 + 1) % len(pool), b2)
    latin = [vocab.cn_pinyin(c) for c in pool]
    terms = vocab.CN_INDUSTRY_TERMS
    term_i = draw.index(n, len(terms))
    legal = vocab.CN_LEGAL_FORM_SHARES
    legal_i = draw.index(n, len(legal), np.array([w for *_, w in legal]))
    en_word = vocab.EN_COMPANY_WORDS
    return pl.DataFrame(
        {
            "brand": pick(pool, b1) + pick(pool, b2),
            "brand_latin": pick(latin, b1) + pick([p.lower() for p in latin], b2),
            "brand_initials": pick([p[0].lower() for p in latin], b1)
            + pick([p[0].lower() for p in latin], b2),
            "term": pick([t for t, _, _ in terms], term_i),
            "term_en": pick([e for _, e, _ in terms], term_i),
            "term_latin": pick([vocab.cn_pinyin(t) for t, _, _ in terms], term_i),
            "industry": pick([i for _, _, i in terms], term_i),
            "legal": pick([c for c, _, _, _ in legal], legal_i),
            "legal_en": pick([e for _, e, _, _ in legal], legal_i),
            "legal_latin": pick([p for _, _, p, _ in legal], legal_i),
            "en_brand": draw.choose(n, vocab.EN_BRAND_STEMS)
            + draw.choose(n, vocab.EN_BRAND_ENDINGS),
            "en_word": draw.choose(n, en_word),
            "en_legal": draw.choose(n, EN_LEGAL),
        }
    )


def _groups(draw: Draw, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Parent (or -1) and kind of each company; parents are themselves ungrouped."""
    member = draw.chance(n, GROUP_SHARE)
    member[0] = False
    roots = np.flatnonzero(~member)
    parent = np.where(member, roots[draw.index(n, len(roots))], -1)
    kind = draw.index(n, len(GROUP_KINDS), GROUP_KIND_SHARES)
    return parent, np.where(member, kind, -1)


def _unique_names(frame: pl.DataFrame, draw: Draw) -> pl.DataFrame:
    """Re-draw the brand of unrelated companies that would repeat a registered name.

    China's registry refuses a second identical name in one region, so two
    unrelated customers never share a full name there.
    """
    key = ["city", "brand", "term", "country", "en_brand", "en_word"]
    for _ in range(5):
        clash = frame.select(
            (pl.int_range(pl.len()).over(key) > 0) & (pl.col("parent") < 0)
        ).to_series()
        if not clash.any():
            break
        fresh = _brand_columns(draw, frame.height)
        frame = frame.with_columns(
            pl.when(pl.lit(clash)).then(pl.lit(fresh[c])).otherwise(pl.col(c)).alias(c)
            for c in ("brand", "brand_latin", "brand_initials", "en_brand")
        )
    return frame


def companies(draw: Draw, chinese: np.ndarray) -> pl.DataFrame:
    """One row per company customer with its clean name parts and identifiers."""
    n = len(chinese)
    parts = _brand_columns(draw, n)
    parent, kind = _groups(draw, n)
    own_city = city_draw(draw, n)
    home = places(draw, chinese, city_i=own_city)
    frame = pl.concat([parts, home], how="horizontal").with_columns(
        chinese=pl.Series(chinese),
        parent=pl.Series(parent),
        group_kind=pl.Series(np.where(kind >= 0, np.array(GROUP_KINDS)[kind], "")),
        city_i=pl.Series(own_city),
    )
    p = np.where(parent >= 0, parent, np.arange(n))
    inherit = {
        "city": ["brand", "brand_latin", "brand_initials", "term", "term_en", "term_latin",
                 "industry", "legal", "legal_en", "legal_latin", "en_brand", "en_word"],
        "subsidiary": ["brand", "brand_latin", "brand_initials", "legal", "legal_en",
                       "legal_latin", "en_brand"],
        "branch": ["brand", "brand_latin", "brand_initials", "term", "term_en", "term_latin",
                   "industry", "legal", "legal_en", "legal_latin", "en_brand", "en_word",
                   "en_legal"],
    }  # fmt: skip
    parent_rows = frame[p]
    for group_kind, columns in inherit.items():
        flag = pl.lit(pl.Series(kind == GROUP_KINDS.index(group_kind)))
        frame = frame.with_columns(
            pl.when(flag).then(pl.lit(parent_rows[c])).otherwise(pl.col(c)).alias(c)
            for c in columns
        )
    branch = pl.lit(pl.Series(kind == GROUP_KINDS.index("branch")))
    # A branch is named after its parent's registered city, then its own.
    frame = frame.with_columns(
        pl.when(branch).then(pl.lit(parent_rows["city"])).otherwise("city").alias("name_city"),
        pl.when(branch)
        .then(pl.lit(parent_rows["city_latin"]))
        .otherwise("city_latin")
        .alias("name_city_latin"),
        pl.when(branch).then(pl.col("city") + "分公司").otherwise(pl.lit("")).alias("branch"),
        pl.when(branch)
        .then(pl.col("city_latin") + " Branch")
        .otherwise(pl.lit(""))
        .alias("branch_en"),
    )
    frame = _unique_names(frame, draw)
    return _identifiers(draw, frame, p, kind)


def _identifiers(draw: Draw, frame: pl.DataFrame, p: np.ndarray, kind: np.ndarray) -> pl.DataFrame:
    """Main line, tax ID, domain, industry and size of every company."""
    n = frame.height
    style = draw.uniform(n)
    s = pl.lit(style)
    cn_domain = (
        pl.when(s < 0.4)
        .then(pl.col("brand_latin").str.to_lowercase() + ".com")
        .when(s < 0.6)
        .then(pl.col("brand_latin").str.to_lowercase() + ".cn")
        .when(s < 0.8)
        .then(
            pl.col("brand_initials")
            + pl.col("term_latin").str.to_lowercase().str.slice(0, 1)
            + ".com.cn"
        )
        .otherwise(
            pl.col("brand_latin").str.to_lowercase()
            + "-"
            + pl.col("term_en").str.split(" ").list.first().str.to_lowercase()
            + ".com"
        )
    )
    en_domain = (
        pl.col("en_brand")
        + pl.when(s < 0.5).then(pl.col("en_word").str.split(" ").list.first()).otherwise(pl.lit(""))
        + ".com"
    ).str.to_lowercase()
    frame = frame.with_columns(
        pl.when("chinese").then(cn_domain).otherwise(en_domain).alias("domain")
    )
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).over("domain") > 0)
        .then(
            pl.col("domain").str.replace(
                r"\.", pl.int_range(pl.len()).over("domain").cast(pl.String) + "."
            )
        )
        .otherwise("domain")
        .alias("domain")
    )
    shares = np.select(
        [kind == i for i in range(len(GROUP_KINDS))],
        [SHARED_DOMAIN[k] for k in GROUP_KINDS],
        default=0.0,
    )
    share_domain = pl.lit(pl.Series(draw.chance(n, shares) & (kind >= 0)))
    frame = frame.with_columns(
        pl.when(share_domain).then(pl.lit(frame["domain"][p])).otherwise("domain").alias("domain")
    )
    line = draw.unique(n, digits=8)
    line_old = draw.unique(n, digits=8)
    org = draw.unique(n, digits=9)
    check = draw.letters(n, alphabet=vocab.USCC_ALPHABET, length=1)
    district_code = pl.Series(draw.rng.integers(1, 20, n)).cast(pl.String).str.zfill(2)
    tax_cn = "91" + pl.col("admin_code") + pl.lit(district_code) + pl.lit(org) + pl.lit(check)
    tax_us = pl.lit(org).str.slice(0, 2) + "-" + pl.lit(org).str.slice(2, 7)
    us_line = pl.col("area_code") + "2" + pl.lit(line).str.slice(0, 6)
    us_line_old = pl.col("area_code") + "3" + pl.lit(line_old).str.slice(0, 6)
    return frame.with_columns(
        pl.when("chinese").then(tax_cn).otherwise(tax_us).alias("tax_id"),
        pl.when("chinese")
        .then("+86" + pl.col("area_code") + pl.lit(line))
        .otherwise("+1" + us_line)
        .alias("main_line"),
        pl.when("chinese")
        .then("+86" + pl.col("area_code") + pl.lit(line_old))
        .otherwise("+1" + us_line_old)
        .alias("main_line_old"),
        pl.when("chinese").then("industry").otherwise(pl.lit(frame["industry"])).alias("industry"),
        draw.choose(n, vocab.sample_vocab().SIZE_BANDS).alias("size_band"),
    )


def contacts(draw: Draw, firms: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """The contacts of every company and each company's offset into them.

    Returns the contacts (``company``, ``contact_no``, name parts, ``mobile``,
    ``email``) and, per company, the index of its first contact; company ``i``
    has ``count[i]`` contacts from there on.
    """
    n = firms.height
    count = draw.index(n, len(CONTACT_COUNT_SHARES), CONTACT_COUNT_SHARES) + 1
    company = np.repeat(np.arange(n), count)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]])
    m = len(company)
    chinese = firms["chinese"].to_numpy()[company]
    names = people.person_names(draw, chinese)
    mobile = draw.unique(m, digits=8)
    prefix = draw.choose(m, vocab.CN_MOBILE_PREFIXES)
    us_mobile = pl.Series(draw.rng.integers(2, 10, m)).cast(pl.String) + mobile.str.slice(0, 6)
    english = draw.choose(m, vocab.CN_ENGLISH_NAMES)
    style = pl.lit(draw.uniform(m))
    family = pl.col("family_latin").str.to_lowercase()
    given = pl.col("given_latin").str.to_lowercase()
    local = (
        pl.when(style < 0.35)
        .then(family + given)
        .when(style < 0.55)
        .then(given + "." + family)
        .when(style < 0.75)
        .then(given.str.slice(0, 1) + family)
        .when(pl.lit(pl.Series(chinese)))
        .then(pl.lit(english).str.to_lowercase() + "." + family)
        .otherwise(given + "_" + family)
    ).str.replace_all(r"[^a-z0-9._]", "")
    frame = names.with_columns(
        company=pl.Series(company),
        contact_no=pl.Series(np.arange(m) - offsets[company]),
        english_name=english,
        domain=firms["domain"].gather(company),
        area_code=firms["area_code"].gather(company),
    ).with_columns(
        pl.when(pl.lit(pl.Series(chinese)))
        .then("+86" + pl.lit(prefix) + pl.lit(mobile))
        .otherwise("+1" + pl.col("area_code") + pl.lit(us_mobile))
        .alias("mobile"),
        local.alias("local"),
    )
    # Two contacts of one domain with the same local part: the later one gets a digit.
    rank = pl.int_range(pl.len()).over("local", "domain")
    frame = frame.with_columns(
        pl.when(rank > 0)
        .then(pl.col("local") + rank.cast(pl.String))
        .otherwise("local")
        .alias("local")
    ).with_columns((pl.col("local") + "@" + pl.col("domain")).alias("email"))
    return frame.drop("area_code"), offsets
