"""Region and city names in one canonical form, and addresses without them.

Sources write the same province three ways (浙江 / 浙江省 / Zhejiang is left
alone) and US states as codes or names; Chinese ERPs prefix the street
address with province and city ('浙江省杭州市滨江区...'), which the CRM puts
in separate columns. Canonical forms: the full official name of a Chinese
provincial-level division, the full name of a US state, a Chinese city
without its 市 suffix, and the street address without a leading province or
city that the record carries in its own columns.
"""

from __future__ import annotations

import polars as pl

# Provincial-level divisions of China: official name -> the short form also in use.
CHINESE_PROVINCES: dict[str, str] = {
    "北京市": "北京", "天津市": "天津", "上海市": "上海", "重庆市": "重庆",
    "河北省": "河北", "山西省": "山西", "辽宁省": "辽宁", "吉林省": "吉林",
    "黑龙江省": "黑龙江", "江苏省": "江苏", "浙江省": "浙江", "安徽省": "安徽",
    "福建省": "福建", "江西省": "江西", "山东省": "山东", "河南省": "河南",
    "湖北省": "湖北", "湖南省": "湖南", "广东省": "广东", "海南省": "海南",
    "四川省": "四川", "贵州省": "贵州", "云南省": "云南", "陕西省": "陕西",
    "甘肃省": "甘肃", "青海省": "青海", "台湾省": "台湾", "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西", "西藏自治区": "西藏", "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆", "香港特别行政区": "香港", "澳门特别行政区": "澳门",
}  # fmt: skip

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "DC": "District of Columbia",
}  # fmt: skip

# Latin street words written abbreviated -> the full word used in the canonical address.
STREET_WORDS: dict[str, str] = {
    "St": "Street", "Rd": "Road", "Ave": "Avenue", "Blvd": "Boulevard", "Dr": "Drive",
    "Ln": "Lane", "Ct": "Court", "Pl": "Place", "Sq": "Square", "Hwy": "Highway",
}  # fmt: skip


def _canonical_region(region: pl.Expr, country: pl.Expr) -> pl.Expr:
    short_to_full = {short: full for full, short in CHINESE_PROVINCES.items()}
    chinese = region.replace(short_to_full)
    american = region.str.to_uppercase().replace_strict(US_STATES, default=region)
    return pl.when(country == "US").then(american).otherwise(chinese)


def _canonical_city(city: pl.Expr) -> pl.Expr:
    # '杭州市' -> '杭州'; a one-character name before 市 is kept whole.
    return (
        pl.when(city.str.contains(r"^\p{Han}{2,}市$"))
        .then(city.str.strip_suffix("市"))
        .otherwise(city)
    )


# What a street name goes on with: after '广州' in '广州大道中289号' or '北京' in
# '北京路1号' the place name is part of the street's name, not a prefix to strip.
STREET_DESIGNATOR = r"^(路|街|大街|大道|巷|胡同)"
# Rounds of prefix stripping: an address repeating its region or city more often
# than this keeps the rest (found only by fuzzing; RELIABILITY.md).
PREFIX_PASSES = 3
_STRIPPED = "__address_stripped"


def _strip_prefix(text: pl.Expr, prefix: pl.Expr) -> pl.Expr:
    starts = prefix.is_not_null() & text.str.starts_with(prefix.fill_null("\0"))
    rest = text.str.slice(prefix.str.len_chars())
    return pl.when(starts & ~rest.str.contains(STREET_DESIGNATOR)).then(rest).otherwise(text)


def _expand_street_words(address: pl.Expr) -> pl.Expr:
    for short, full in STREET_WORDS.items():
        # 'Anson Rd., #04' / 'Victoria Ln.' -> the full word; only after another word.
        address = address.str.replace_all(rf"(\w) {short}\.?(,|$| )", f"$1 {full}$2")
    return address


def normalise_regions(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: canonical region and city, and the address without a leading region or city."""
    country = pl.col("country").str.to_uppercase()
    frame = frame.with_columns(
        _canonical_region(pl.col("region"), country).alias("region"),
        _canonical_city(pl.col("city")).alias("city"),
    )
    short_region = pl.col("region").replace_strict(CHINESE_PROVINCES, default=None)
    prefixes = (pl.col("region"), short_region, pl.col("city") + "市", pl.col("city"))
    frame = frame.with_columns(pl.col("address").alias(_STRIPPED))
    # Again, so that what a first strip uncovers ('北京北京路1号' after the region 北京)
    # goes too and a second standardisation strips nothing more (idempotence). One
    # column step per strip: nested, each strip would copy the expression below it.
    for _ in range(PREFIX_PASSES):
        for prefix in prefixes:
            frame = frame.with_columns(_strip_prefix(pl.col(_STRIPPED), prefix).alias(_STRIPPED))
    stripped = pl.col(_STRIPPED)
    address = pl.when(stripped.str.strip_chars() == "").then(pl.col("address")).otherwise(stripped)
    return frame.with_columns(_expand_street_words(address).alias("address")).drop(_STRIPPED)
