"""Table-driven comparison levels (Chinese and Latin script) and score symmetry."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import standardise
from matching.comparisons import PairFrame, comparison_levels, default_comparisons
from matching.linkage import score_pairs, stored_levels
from matching.model import FellegiSunterModel, LevelParameters
from matching.semantic import TfidfCharNgramEmbedder, embed_names
from matching.settings import MatchSettings

from .conftest import canonical_frame

REGIONS = {"crm": "CN"}
COMPARISONS = {c.name: c for c in default_comparisons()}


def _pair_frame(left: dict[str, object], right: dict[str, object]) -> PairFrame:
    std = standardise(canonical_frame([left, right]), default_regions=REGIONS)
    vectors = embed_names(std, embedder=TfidfCharNgramEmbedder())
    return PairFrame.build(std, np.array([0]), np.array([1]), name_vectors=vectors)


def _label(comparison: str, left: dict[str, object], right: dict[str, object]) -> str:
    rule = COMPARISONS[comparison]
    level = int(rule.levels(_pair_frame(left, right))[0])
    return (*rule.labels, "missing")[level]


CASES = [
    # name: script, legal form, romanisation, typos, unrelated names
    ("name", {"name": "上海星辰贸易有限公司"}, {"name": "上海星辰貿易有限公司"}, "exact_key"),
    ("name", {"name": "上海星辰贸易有限公司"}, {"name": "上海星辰贸易"}, "exact_key"),
    ("name", {"name": "Shanghai Xingchen Trading Co., Ltd."}, {"name": "上海星辰贸易有限公司"},
     "sim>=0.7"),
    ("name", {"name": "王伟", "customer_type": "person"},
     {"name": "Wei Wang", "customer_type": "person"}, "sim>=0.93"),
    ("name", {"name": "Northwind Logistics Inc."}, {"name": "Northwind Logistcs"}, "sim>=0.93"),
    ("name", {"name": "ＡＣＭＥ Corp"}, {"name": "acme"}, "exact_key"),
    ("name", {"name": "上海星辰贸易有限公司"}, {"name": "北京华拓科技有限公司"}, "sim<0.7"),
    ("name", {"name": "Bluepeak Software Ltd"}, {"name": "Harbor Foods GmbH"}, "sim<0.7"),
    ("name", {"name": "上海星辰贸易有限公司"}, {"email": "a@b.cn"}, "missing"),
    # a Chinese company's brand alone (a ticket's short name) is a short form of its full name
    ("name", {"name": "宁波致光健康科技有限公司"}, {"name": "致光健康"}, "short_form"),
    ("name", {"name": "济南尚丰新材料有限公司"}, {"name": "尚丰"}, "short_form"),
    ("name", {"name": "济南尚丰新材料有限公司"}, {"name": "丰"}, "sim<0.7"),  # one character
    # a Latin name inside another is as often another site as a short form: similar, no more
    ("name", {"name": "Mary Crane League"}, {"name": "Mary Crane League Mary Crane West"},
     "sim>=0.85"),
    # e-mail
    ("email", {"email": "Zhang.Wei@163.com"}, {"email": "zhang.wei@163.com"}, "exact"),
    ("email", {"email": "zhang.wei@163.com"}, {"email": "zhang.wie@163.com"}, "lev>=0.85"),
    ("email", {"email": "zhang.wei@163.com"}, {"email": "li.na@qq.com"}, "different"),
    # two people of one company: different addresses on its own domain
    ("email", {"email": "zhushuaiyu@syj.com.cn"}, {"email": "sunny.ning@SYJ.com.cn"},
     "same_company_domain"),
    # two strangers on one free-mail provider share nothing
    ("email", {"email": "zhang.wei@163.com"}, {"email": "li.na@163.com"}, "different"),
    ("email", {"email": "zhang.wei@163.com"}, {"email": None}, "missing"),
    # phone: formats, area codes, countries
    ("phone", {"phone": "+86 138-0013-8000"}, {"phone": "13800138000"}, "exact"),
    ("phone", {"phone": "(021) 6123-4567"}, {"phone": "+86 21 6123 4567"}, "exact"),
    ("phone", {"phone": "(021) 6123-4567"}, {"phone": "(0755) 6123-4567"}, "last7_equal"),
    ("phone", {"phone": "+1 (415) 555-0123", "country": "US"},
     {"phone": "415.555.0123", "country": "US"}, "exact"),
    ("phone", {"phone": "13800138000"}, {"phone": "13900139000"}, "different"),
    # tax id
    ("tax_id", {"tax_id": "91310000 MA1FL0XX1A"}, {"tax_id": "91310000MA1FL0XX1A"}, "exact"),
    ("tax_id", {"tax_id": "91310000MA1FL0XX1A"}, {"tax_id": "91310000MA1FL0XX1B"}, "one_edit"),
    ("tax_id", {"tax_id": "91310000MA1FL0XX1A"}, {"tax_id": "91310000MA1FL0YY1A"}, "different"),
    ("tax_id", {"tax_id": "6503115"}, {"tax_id": "6503215"}, "one_edit"),  # one digit
    ("tax_id", {"tax_id": "6503115"}, {"tax_id": "6501315"}, "one_edit"),  # transposition
    ("tax_id", {"tax_id": "6503115"}, {"tax_id": "650311"}, "one_edit"),  # dropped digit
    ("tax_id", {"tax_id": "6503115"}, {"tax_id": "5603151"}, "different"),
    ("tax_id", {"tax_id": "6503115"}, {"tax_id": None}, "missing"),
    # birth date: formats, typing errors, day and month swapped, dates that do not parse
    ("birth_date", {"birth_date": "19560223"}, {"birth_date": "1956年2月23日"}, "exact"),
    ("birth_date", {"birth_date": "1956-02-23"}, {"birth_date": "23.02.1956"}, "exact"),
    ("birth_date", {"birth_date": "19560223"}, {"birth_date": "19560228"},
     "one_edit_or_day_month_swapped"),
    ("birth_date", {"birth_date": "19560223"}, {"birth_date": "19650223"},
     "one_edit_or_day_month_swapped"),
    ("birth_date", {"birth_date": "1956-03-02"}, {"birth_date": "1956-02-03"},
     "one_edit_or_day_month_swapped"),
    ("birth_date", {"birth_date": "1990年1月12日"}, {"birth_date": "1990-12-01"},
     "one_edit_or_day_month_swapped"),
    ("birth_date", {"birth_date": "19560223"}, {"birth_date": "19570324"}, "different"),
    ("birth_date", {"birth_date": "19560223"}, {"birth_date": "19560230"}, "missing"),
    ("birth_date", {"birth_date": "19560223"}, {"birth_date": None}, "missing"),
    # contact person: pinyin and either name order
    ("contact", {"name": "x", "contact_name": "王伟"}, {"name": "y", "contact_name": "Wei Wang"},
     "tokens>=0.9"),
    ("contact", {"name": "x", "contact_name": "John Smith"},
     {"name": "y", "contact_name": "Smith John"}, "tokens>=0.9"),
    ("contact", {"name": "x", "contact_name": "John Smith"},
     {"name": "y", "contact_name": "Mary Jones"}, "tokens<0.7"),
    # address: province/city prefix, street abbreviations
    ("address", {"address": "上海市浦东新区世纪大道100号", "city": "上海", "region": "上海市"},
     {"address": "浦东新区世纪大道100号", "city": "上海"}, "tokens>=0.9"),
    ("address", {"address": "100 Market Street, Suite 200"},
     {"address": "100 Market St Suite 200"}, "tokens>=0.9"),
    ("address", {"address": "100 Market Street"}, {"address": "22 Oak Avenue"}, "tokens<0.7"),
    # another house number on the same street is another building (chicago: two sites of one
    # organisation a few doors apart); one typing error in the number is not
    ("address", {"address": "1711 W 35th Street"}, {"address": "1723 W. 35th Street"},
     "tokens<0.7"),
    ("address", {"address": "东方路1377号"}, {"address": "东方路1233号"}, "tokens<0.7"),
    ("address", {"address": "1711 W 35th Street"}, {"address": "1717 W 35th Street"},
     "tokens>=0.9"),
    ("address", {"address": "1711 W 35th Street"}, {"address": "W 35th Street"}, "tokens>=0.9"),
    # postcode and city (romanised city key)
    ("postcode", {"postcode": "200 120"}, {"postcode": "200120"}, "exact"),
    ("city", {"city": "上海市"}, {"city": "Shanghai"}, "exact"),
    ("city", {"city": "上海"}, {"city": "北京"}, "different"),
]  # fmt: skip


@pytest.mark.parametrize(("comparison", "left", "right", "expected"), CASES)
def test_comparison_levels(
    comparison: str, left: dict[str, object], right: dict[str, object], expected: str
) -> None:
    assert _label(comparison, left, right) == expected


def test_new_comparisons_come_last_so_match_evidence_columns_keep_their_order() -> None:
    assert [c.name for c in default_comparisons()] == [
        "name", "email", "phone", "tax_id", "contact", "address", "postcode", "city", "birth_date",
    ]  # fmt: skip


def test_chunked_levels_equal_unchunked() -> None:
    rows = [{"name": n, "email": e} for n, e in [
        ("上海星辰贸易有限公司", "a@x.cn"), ("上海星辰贸易", "a@x.cn"), ("Acme Inc.", "b@y.com"),
        ("ACME", "b@y.com"), ("王伟", None), ("Wei Wang", "w@z.com")]]  # fmt: skip
    std = standardise(canonical_frame(rows), default_regions=REGIONS)
    vectors = embed_names(std, embedder=TfidfCharNgramEmbedder())
    left, right = np.triu_indices(len(rows), k=1)
    pairs = PairFrame.build(std, left, right, name_vectors=vectors)
    whole = comparison_levels(pairs, default_comparisons())
    chunked = comparison_levels(pairs, default_comparisons(), chunk_pairs=4)
    assert np.array_equal(whole, chunked)


NAMES = st.sampled_from(
    ["上海星辰贸易有限公司", "上海星辰貿易", "Shanghai Xingchen Trading Co., Ltd.", "王伟",
     "Wei Wang", "WANG Wei", "Northwind Logistics Inc.", "Northwind Logistcs", "张伟", None]
)  # fmt: skip
EMAILS = st.sampled_from(["zhang.wei@163.com", "Zhang.Wei@163.com", "zhang.wie@163.com", None])
PHONES = st.sampled_from(["+86 138-0013-8000", "13800138000", "(021) 6123-4567", None])
ADDRESSES = st.sampled_from(["浦东新区世纪大道100号", "100 Market Street", "100 Market St", None])
RECORDS = st.fixed_dictionaries(
    {"name": NAMES, "email": EMAILS, "phone": PHONES, "address": ADDRESSES,
     "contact_name": st.sampled_from(["王伟", "Wei Wang", "John Smith", None]),
     "postcode": st.sampled_from(["200120", "100000", None]),
     "city": st.sampled_from(["上海", "Shanghai", "北京", None]),
     "tax_id": st.sampled_from(["91310000MA1FL0XX1A", "91310000MA1FL0XX1B", None]),
     "birth_date": st.sampled_from(["19560223", "1956-03-02", "1956年2月3日", "19560230", None])}
)  # fmt: skip


def _model() -> FellegiSunterModel:
    levels = []
    for c in default_comparisons():
        n = len(c.labels)
        m = np.linspace(1, n, n) ** 2
        u = np.linspace(n, 1, n) ** 2
        levels.append(LevelParameters(c.name, c.labels, tuple(m / m.sum()), tuple(u / u.sum())))
    return FellegiSunterModel(levels=tuple(levels), prior=0.01, em_iterations=0)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(a=RECORDS, b=RECORDS)
def test_score_is_symmetric(a: dict[str, object], b: dict[str, object]) -> None:
    std = standardise(canonical_frame([a, b]), default_regions=REGIONS)
    vectors = embed_names(std, embedder=TfidfCharNgramEmbedder())
    forward = PairFrame.build(std, np.array([0]), np.array([1]), name_vectors=vectors)
    backward = PairFrame.build(std, np.array([1]), np.array([0]), name_vectors=vectors)
    levels_ab = comparison_levels(forward, default_comparisons())
    levels_ba = comparison_levels(backward, default_comparisons())
    assert np.array_equal(levels_ab, levels_ba)
    weight_ab, _ = _model().match_weights(levels_ab)
    weight_ba, _ = _model().match_weights(levels_ba)
    assert weight_ab[0] == pytest.approx(weight_ba[0])


def test_levels_are_int8_with_missing_as_minus_one() -> None:
    pairs = _pair_frame({"name": "王伟"}, {"email": "a@b.cn"})
    levels = comparison_levels(pairs, default_comparisons())
    assert levels.dtype == np.int8
    assert set(np.unique(levels).tolist()) == {-1}


def test_pair_frame_gathers_columns_per_side() -> None:
    pairs = _pair_frame({"name": "A", "email": "a@b.cn"}, {"name": "B", "email": "c@d.cn"})
    left, right = pairs.sides("email")
    assert (left.to_list(), right.to_list()) == (["a@b.cn"], ["c@d.cn"])
    assert isinstance(left, pl.Series)


def test_stored_levels_give_back_the_level_matrix_the_pairs_were_scored_with() -> None:
    rows = [{"name": n, "email": e, "city": c} for n, e, c in [
        ("上海星辰贸易有限公司", "a@x.cn", "上海"), ("上海星辰贸易", "a@x.cn", None),
        ("Acme Inc.", "b@y.com", "Shanghai"), ("ACME", None, "Shanghai"),
        ("王伟", None, None)]]  # fmt: skip
    std = standardise(canonical_frame(rows), default_regions=REGIONS)
    vectors = embed_names(std, embedder=TfidfCharNgramEmbedder())
    left, right = np.triu_indices(len(rows), k=1)
    pairs = PairFrame.build(std, left, right, name_vectors=vectors)
    comparisons = default_comparisons()
    levels = comparison_levels(pairs, comparisons)
    assert (levels == -1).any()  # missing values
    assert (levels >= 1).any()
    scored = score_pairs(
        pairs,
        levels,
        model=_model(),
        comparisons=comparisons,
        settings=MatchSettings(),
        term_frequencies={},
    )
    # As an incremental run reads them back: through the published DuckDB table.
    with duckdb.connect() as con:
        con.register("scored", scored.to_arrow())
        published = con.sql("SELECT * FROM scored").pl()
    assert np.array_equal(stored_levels(published, comparisons), levels)


def test_the_spark_probe_sees_columns_read_only_for_pairs_scored_fuzzily() -> None:
    """Spark ships the columns a probe saw read, including those read on a subset of the pairs."""
    from matching.engines.spark_compare import columns_read

    pairs = _pair_frame({"name": "上海星辰贸易", "email": "a@b.cn"}, {"name": "Acme Inc."})
    read = columns_read(pairs.std, default_comparisons(), name_vectors=pairs.name_vectors)
    assert {"name_key", "name_latin_sorted", "email", "tax_id", "birth_date_valid"} <= set(read)


def _forwarder_customers() -> pl.DataFrame:
    """60 customers, two records each; the web orders of 40 ship to one parcel forwarder.

    The CRM record has the customer's own street; the web record of most customers
    ships to 'Parcel Forwarding, 100 Hub Road' in one postcode. The customers share
    nothing else.
    """
    rng = np.random.default_rng(3)
    streets = ["".join(rng.choice(list("bcdfghklmnprstvwz"), 7)) for _ in range(60)]
    rows: list[dict[str, object]] = []
    for c in range(60):
        name = f"{['Brightglen', 'Atlasstream', 'Northwind', 'Bluepeak', 'Harbor'][c % 5]}"
        name += f" {['Media', 'Foods', 'Health', 'Logistics'][c // 5 % 4]} {c} Ltd"
        email = f"info{c}@company{c}.com"
        rows.append(
            {
                "source_system": "crm",
                "source_record_id": f"c{c}",
                "name": name,
                "email": email,
                "address": f"{100 + 37 * c} {streets[c]} Road",
                "postcode": f"{30000 + c}",
                "city": "Atlanta",
                "country": "US",
            }
        )
        rows.append({"source_system": "web", "source_record_id": f"w{c}", "name": name,
                     "email": email if c % 3 else None,
                     "address": "Parcel Forwarding, 100 Hub Road" if c < 40
                     else f"{100 + 37 * c} {streets[c]} Road",
                     "postcode": "30370" if c < 40 else f"{30000 + c}",
                     "city": "Atlanta", "country": "US"})  # fmt: skip
    return canonical_frame(rows)


def test_an_address_many_customers_share_counts_for_less_than_their_own() -> None:
    """A parcel forwarder's address is agreement by chance, weighed by how many share it.

    On the B2B generator at 100k, web orders of different customers shipped to one
    forwarder were linked on the address, postcode and city alone (a 21-record cluster,
    8 true); the address is term-frequency adjusted like the city.
    """
    from matching import match_records

    std = standardise(_forwarder_customers(), default_regions=REGIONS)
    scored = match_records(std, settings=MatchSettings()).scored_pairs
    ids = std.select("record_index", "source_record_id")
    agreeing = (
        scored.filter(pl.col("address_level") == "tokens>=0.9")
        .join(ids, left_on="left", right_on="record_index")
        .join(ids, left_on="right", right_on="record_index", suffix="_r")
        .with_columns(
            (
                pl.col("source_record_id").str.slice(1) == pl.col("source_record_id_r").str.slice(1)
            ).alias("one_customer")
        )
    )
    forwarder = agreeing.filter(~pl.col("one_customer"))["address_weight"]
    own_street = agreeing.filter(pl.col("one_customer"))["address_weight"]
    assert forwarder.len() > 0
    assert own_street.len() > 0
    # 40 of 120 records hold the forwarder's address, 2 a customer's own street: log2(20)
    # bits apart, whatever EM learnt for the level itself.
    assert own_street.min() - forwarder.max() > 4.0
