"""Chinese script handling: traditional -> simplified, and romanisation.

Sources mix 臺灣/台湾 forms and render Chinese names in pinyin or English
('Wang Wei', 'Shanghai Xingchen Trading'). Converting to simplified makes the
two scripts comparable; romanising gives a shared Latin key so that 王伟 and
'Wei Wang' can meet in a block.
"""

from __future__ import annotations

import re
from functools import cache

import opencc
import polars as pl
from pypinyin import lazy_pinyin

from matching.standardise.batch import map_distinct

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Short all-CJK names are people (surname + given name); companies are longer.
MAX_PERSON_NAME_CHARS = 4

SIMPLIFIED_COLUMNS: tuple[str, ...] = ("name", "contact_name", "address", "city", "region")


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified; other text is unchanged.

    Example:
        >>> to_simplified("臺灣積體電路")
        '台湾积体电路'
    """
    if not CJK.search(text):
        return text
    return str(_converter().convert(text))


def simplify_chinese(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: fold traditional characters to simplified in name and address fields."""
    return frame.with_columns(
        map_distinct(pl.col(c), to_simplified).alias(c) for c in SIMPLIFIED_COLUMNS
    )


def romanise_tokens(key: str) -> list[str]:
    """Latin tokens for a name key: pinyin for Chinese, the words themselves otherwise.

    A short Chinese name is split as surname + given name ('王小明' ->
    ['wang', 'xiaoming']) because that is how people write it in Latin script;
    a longer (company) name becomes one run of syllables.

    Example:
        >>> romanise_tokens("王小明")
        ['wang', 'xiaoming']
        >>> romanise_tokens("wei wang")
        ['wei', 'wang']
    """
    if not CJK.search(key):
        return key.split()
    syllables = [s for s in lazy_pinyin(key) if s.strip()]
    latin = [s.lower() for s in syllables if s.isascii() and s.isalnum()]
    if not latin:
        return []
    cjk_chars = len(CJK.findall(key))
    if cjk_chars <= MAX_PERSON_NAME_CHARS and len(latin) >= 2:
        return [latin[0], "".join(latin[1:])]
    return ["".join(latin)]


def _latin(key: str) -> str | None:
    tokens = romanise_tokens(key)
    return " ".join(tokens) or None


def _latin_sorted(key: str) -> str | None:
    tokens = romanise_tokens(key)
    return " ".join(sorted(tokens)) or None


def _joined(key: str) -> str | None:
    return "".join(romanise_tokens(key)) or None


_TOKEN_SEPARATOR = "\x1f"


def _tokens_joined(key: str) -> str | None:
    return _TOKEN_SEPARATOR.join(romanise_tokens(key)) or None


def romanise_names(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: ``name_latin`` (romanised name key) and ``name_latin_sorted`` (tokens sorted).

    Also romanises ``city_key`` so that 上海 and 'Shanghai' agree. Needs ``name_key``,
    ``contact_key`` (legal_form.split_legal_form) and ``city_key`` (address step).
    Each distinct name is romanised once; both name columns derive from its tokens.
    """
    tokens = pl.col("name_tokens")
    sorted_tokens = tokens.str.split(_TOKEN_SEPARATOR).list.sort().list.join(" ")
    return (
        frame.with_columns(map_distinct(pl.col("name_key"), _tokens_joined).alias("name_tokens"))
        .with_columns(
            tokens.str.replace_all(_TOKEN_SEPARATOR, " ", literal=True).alias("name_latin"),
            sorted_tokens.alias("name_latin_sorted"),
            map_distinct(pl.col("contact_key"), _latin_sorted).alias("contact_latin_sorted"),
            map_distinct(pl.col("city_key"), _joined).alias("city_key"),
        )
        .drop("name_tokens")
    )


def flag_romanised_names(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: ``name_valid`` is false for a Chinese customer's name written in Latin script.

    A customer in China (record country CN, or a +86 phone) is registered under
    a Chinese name; 'Shanghai Xingchen Trading Co., Ltd.' or 'WANG Yangjun' is a
    rendering. It stays a full candidate for matching, but survivorship
    downgrades it so the original wins whenever a source carries it.
    Needs ``phone`` in E.164 (contact step).
    """
    chinese_customer = (pl.col("country") == "CN") | pl.col("phone").str.starts_with("+86")
    latin_only = pl.col("name").is_not_null() & ~pl.col("name").str.contains(CJK.pattern)
    return frame.with_columns(
        pl.when(pl.col("name").is_null())
        .then(None)
        .otherwise(~(chinese_customer.fill_null(False) & latin_only))
        .alias("name_valid")
    )
