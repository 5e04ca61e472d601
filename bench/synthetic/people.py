"""Person names at the frequencies real customer bases show.

Chinese surnames follow the published 2019 shares (王 7.1%, 李 7.0%, 张 6.7% ...);
about 12% of given names are the few dozen most common ones (伟, 芳, 娜, 秀英 ...),
the rest are composed from a Zipf-weighted character pool. In 50,000 customers
王伟, 张伟 and 刘伟 are each carried by several different people, as they are
in real data. English names draw first names and surnames with Zipf weights.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from bench import vocab
from bench.synthetic.draw import Draw, pick, zipf_weights

NAME_COLUMNS = ("family", "given", "family_latin", "given_latin", "female")
# Share of people whose given name has one character (伟, 芳) among composed names.
ONE_CHAR_GIVEN = 0.08
TOP_SURNAMES = 100


@cache
def surname_table() -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
    """Surnames, their pinyin and their share of people (sums to 1).

    The top 100 keep their published shares; the rarer ones share the rest.
    """
    table = vocab.CN_SURNAME_SHARES
    top = np.array([w for *_, w in table[:TOP_SURNAMES]])
    tail = np.array([w for *_, w in table[TOP_SURNAMES:]])
    weights = np.concatenate([top, tail / tail.sum() * (100.0 - top.sum())]) / 100.0
    return (
        tuple(s for s, _, _ in table),
        tuple(p for _, p, _ in table),
        weights / weights.sum(),
    )


@cache
def given_table() -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
    """Common given names with their pinyin and share of all people."""
    names = tuple(g for g, _ in vocab.CN_COMMON_GIVEN)
    return (
        names,
        tuple(vocab.cn_pinyin(g) for g in names),
        np.array([w for _, w in vocab.CN_COMMON_GIVEN]) / 1000.0,
    )


def chinese_names(draw: Draw, n: int) -> pl.DataFrame:
    """``n`` Chinese names: family, given, their pinyin and a gender flag."""
    surnames, surname_latin, surname_w = surname_table()
    family_i = draw.index(n, len(surnames), surname_w)
    common, common_latin, common_w = given_table()
    common_i = draw.index(n, len(common), common_w)
    use_common = draw.chance(n, common_w.sum())
    pool = vocab.CN_GIVEN_CHAR_POOL
    pool_latin = [vocab.cn_pinyin(c) for c in pool]
    weights = zipf_weights(len(pool), offset=20.0)
    c1, c2 = draw.index(n, len(pool), weights), draw.index(n, len(pool), weights)
    one_char = draw.chance(n, ONE_CHAR_GIVEN)
    second = pl.Series(np.where(one_char, "", np.array(list(pool), dtype=object)[c2])).cast(
        pl.String
    )
    second_latin = pl.Series(
        np.where(one_char, "", np.array([p.lower() for p in pool_latin], dtype=object)[c2])
    ).cast(pl.String)
    composed = pick(pool, c1) + second
    composed_latin = pick(pool_latin, c1) + second_latin
    flag = pl.Series(use_common)
    return pl.DataFrame(
        {
            "family": pick(surnames, family_i),
            "given": pl.select(
                pl.when(pl.lit(flag))
                .then(pl.lit(pick(common, common_i)))
                .otherwise(pl.lit(composed))
            ).to_series(),
            "family_latin": pick(surname_latin, family_i),
            "given_latin": pl.select(
                pl.when(pl.lit(flag))
                .then(pl.lit(pick(common_latin, common_i)))
                .otherwise(pl.lit(composed_latin))
            ).to_series(),
            "female": draw.chance(n, 0.5),
        }
    )


def english_names(draw: Draw, n: int) -> pl.DataFrame:
    """``n`` English names (the Latin columns equal the script ones)."""
    first, last = vocab.en_first_names(), vocab.en_surnames()
    given = draw.choose(n, first, zipf_weights(len(first), offset=20.0))
    family = draw.choose(n, last, zipf_weights(len(last), offset=40.0))
    return pl.DataFrame(
        {
            "family": family,
            "given": given,
            "family_latin": family,
            "given_latin": given,
            "female": draw.chance(n, 0.5),
        }
    )


def person_names(draw: Draw, chinese: np.ndarray) -> pl.DataFrame:
    """One name per row: Chinese where ``chinese`` is true, English elsewhere."""
    n = len(chinese)
    cn, en = chinese_names(draw, n), english_names(draw, n)
    flag = pl.lit(pl.Series(chinese))
    return cn.select(
        pl.when(flag).then(pl.col(c)).otherwise(pl.lit(en[c])).alias(c) for c in NAME_COLUMNS
    )


def full_name(prefix: str = "") -> pl.Expr:
    """The name as its owner writes it: 王伟, or 'Robert Smith'."""
    family, given = pl.col(f"{prefix}family"), pl.col(f"{prefix}given")
    han = family.str.contains(r"^\p{Han}")
    return pl.when(han).then(family + given).otherwise(given + " " + family)


def personal_email_local(draw: Draw, frame: pl.DataFrame, prefix: str = "") -> pl.Series:
    """Local parts of personal mailboxes: pinyin and a year, initials, or a QQ number."""
    n = frame.height
    style = draw.uniform(n)
    year = pl.Series(draw.rng.integers(1965, 2006, n)).cast(pl.String)
    short = pl.Series(draw.rng.integers(1, 999, n)).cast(pl.String)
    qq = pl.Series(draw.rng.integers(1, 9, n)).cast(pl.String) + draw.unique(n, digits=8)
    family = pl.col(f"{prefix}family_latin").str.to_lowercase()
    given = pl.col(f"{prefix}given_latin").str.to_lowercase()
    local = (
        pl.when(pl.lit(style) < 0.35)
        .then(family + given + pl.lit(year))
        .when(pl.lit(style) < 0.55)
        .then(given + "." + family + pl.lit(short))
        .when(pl.lit(style) < 0.70)
        .then(given.str.slice(0, 1) + family + pl.lit(year).str.slice(2))
        .otherwise(pl.lit(qq))
    )
    return frame.select(local.str.replace_all(r"[^a-z0-9._]", "").alias("local")).to_series()
