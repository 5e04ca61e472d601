"""Table-driven cases for every standardisation step."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.standardise import standardise
from matching.standardise.chinese import romanise_tokens, to_simplified
from matching.standardise.contact import phone_to_e164

REGIONS = {"crm": "CN", "web": "US"}


def _one(make_frame, **values):  # type: ignore[no-untyped-def]
    return standardise(make_frame([values]), default_regions=REGIONS).row(0, named=True)


@pytest.mark.parametrize(
    ("name", "name_key", "legal_form"),
    [
        ("上海星辰贸易有限公司", "上海星辰贸易", "ltd"),
        ("上海星辰貿易有限公司", "上海星辰贸易", "ltd"),
        ("深圳华拓科技股份有限公司", "深圳华拓科技", "joint_stock"),
        ("上海星辰贸易有限公司杭州分公司", "上海星辰贸易杭州分公司", "ltd"),
        ("Shanghai Xingchen Trading Co., Ltd.", "shanghai xingchen trading", "ltd"),
        ("Northwind Logistics Inc.", "northwind logistics", "inc"),
        ("Harbor Foods GmbH", "harbor foods", "gmbh"),
        ("ＡＣＭＥ   Corp", "acme", "inc"),
        ("Bluepeak Software Limited", "bluepeak software", "ltd"),
        ("王伟", "王伟", None),
        ("John  Smith", "john smith", None),
    ],
)
def test_name_key_and_legal_form(make_frame, name, name_key, legal_form):  # type: ignore[no-untyped-def]
    row = _one(make_frame, name=name)
    assert row["name_key"] == name_key
    assert row["legal_form"] == legal_form


@pytest.mark.parametrize(
    ("customer_type", "contact_key", "contact_latin_sorted"),
    [
        ("company", "王伟", "wang wei"),
        (None, "王伟", "wang wei"),
        # A person's own record: whom the parcel went to, kept for survivorship only.
        ("person", None, None),
    ],
)
def test_a_persons_contact_name_is_no_matching_evidence(  # type: ignore[no-untyped-def]
    make_frame, customer_type, contact_key, contact_latin_sorted
):
    row = _one(make_frame, customer_type=customer_type, name="x", contact_name="王伟")
    assert row["contact_name"] == "王伟"
    assert (row["contact_key"], row["contact_latin_sorted"]) == (contact_key, contact_latin_sorted)


@pytest.mark.parametrize(
    ("key", "tokens"),
    [
        ("王小明", ["wang", "xiaoming"]),
        ("王伟", ["wang", "wei"]),
        ("wei wang", ["wei", "wang"]),
        ("上海星辰贸易", ["shanghaixingchenmaoyi"]),
    ],
)
def test_romanise_tokens(key, tokens):  # type: ignore[no-untyped-def]
    assert romanise_tokens(key) == tokens


def test_pinyin_and_chinese_person_names_share_sorted_key(make_frame):  # type: ignore[no-untyped-def]
    frame = make_frame([{"name": "王伟"}, {"name": "Wei Wang"}, {"name": "WANG Wei"}])
    keys = standardise(frame, default_regions=REGIONS)["name_latin_sorted"].to_list()
    assert keys == ["wang wei"] * 3


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+86 138-0013-8000", "CN", "+8613800138000"),
        ("13800138000", "CN", "+8613800138000"),
        ("86-13800138000", "CN", "+8613800138000"),
        ("(021) 6123-4567", "CN", "+862161234567"),
        ("+1 (415) 555-0123", "CN", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("12345", "CN", None),
        ("not a phone", "CN", None),
    ],
)
def test_phone_to_e164(text, region, expected):  # type: ignore[no-untyped-def]
    assert phone_to_e164(text, region) == expected


def test_phone_region_comes_from_record_country_then_source(make_frame):  # type: ignore[no-untyped-def]
    frame = make_frame(
        [
            {
                "source_system": "crm",
                "source_record_id": "1",
                "phone": "415.555.0123",
                "country": "us",
            },
            {"source_system": "web", "source_record_id": "2", "phone": "415.555.0123"},
            {"source_system": "crm", "source_record_id": "3", "phone": "020 7946 0958"},
        ]
    )
    out = standardise(frame, default_regions=REGIONS)
    # crm/3 has no country: read with the crm default (CN), where 020 is Guangzhou.
    assert out["phone"].to_list() == ["+14155550123", "+862079460958", "+14155550123"]
    assert out["phone_valid"].to_list() == [True, True, True]


@pytest.mark.parametrize(
    ("email", "cleaned", "valid", "company_domain"),
    [
        (" John.Smith@Gmail.COM ", "john.smith@gmail.com", True, None),
        ("wang.wei@qq.com", "wang.wei@qq.com", True, None),
        ("li.na@163.com", "li.na@163.com", True, None),
        ("Zhang.Wei@XinXun-Energy.cn", "zhang.wei@xinxun-energy.cn", True, "xinxun-energy.cn"),
        ("jane@acme.example", "jane@acme.example", True, "acme.example"),
        ("bad@acme.com", "bad@acme.com", True, "acme.com"),
        # Addresses in any script are addresses (RFC 6531); a space in the domain is not.
        ("Rose.Daňková@Live.com", "rose.daňková@live.com", True, None),
        ("张伟@例子.中国", "张伟@例子.中国", True, "例子.中国"),
        ("romano@xvan decorp.com", "romano@xvan decorp.com", False, None),
        ("bad@", "bad@", False, None),
        ("no-at-sign.com", "no-at-sign.com", False, None),
        ("N/A", None, None, None),
        ("test@test.com", None, None, None),
    ],
)
def test_email(make_frame, email, cleaned, valid, company_domain):  # type: ignore[no-untyped-def]
    row = _one(make_frame, email=email)
    assert row["email"] == cleaned
    assert row["email_valid"] == valid
    assert row["company_domain"] == company_domain


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("120 Market Street, Suite 5", "120 market st ste 5"),
        ("120 MARKET ST. STE 5", "120 market st ste 5"),
        ("浦东新区 张江路88号", "浦东新区张江路88号"),
    ],
)
def test_address_key(make_frame, address, key):  # type: ignore[no-untyped-def]
    assert _one(make_frame, address=address)["address_key"] == key


def test_city_key_agrees_across_scripts(make_frame):  # type: ignore[no-untyped-def]
    frame = make_frame([{"city": "上海"}, {"city": "Shanghai"}, {"city": "上海市"}])
    assert standardise(frame, default_regions=REGIONS)["city_key"].to_list() == ["shanghai"] * 3


def test_record_index_follows_record_keys(make_frame):  # type: ignore[no-untyped-def]
    frame = make_frame(
        [
            {"source_system": "web", "source_record_id": "2", "name": "b"},
            {"source_system": "crm", "source_record_id": "9", "name": "a"},
            {"source_system": "web", "source_record_id": "1", "name": "c"},
        ]
    )
    out = standardise(frame, default_regions=REGIONS)
    assert out["record_index"].to_list() == [0, 1, 2]
    assert out["source_record_id"].to_list() == ["9", "1", "2"]


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_simplified_conversion_is_idempotent(text):  # type: ignore[no-untyped-def]
    once = to_simplified(text)
    assert to_simplified(once) == once


@settings(derandomize=True, max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("abc 星辰貿易有限公司Co.,Ltd-@1"), max_size=25),
        min_size=1,
        max_size=5,
    )
)
def test_standardise_is_idempotent_on_names(names):  # type: ignore[no-untyped-def]
    from tests.matching.conftest import canonical_frame

    once = standardise(canonical_frame([{"name": n} for n in names]), default_regions=REGIONS)
    again = standardise(
        canonical_frame([{"name": n} for n in once["name"].to_list()]), default_regions=REGIONS
    )
    assert again["name_key"].to_list() == once["name_key"].to_list()
    assert again["name"].to_list() == once["name"].to_list()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"region": "浙江", "city": "杭州市", "country": "CN"}, ("浙江省", "杭州", None)),
        ({"region": "上海", "city": "上海市", "country": "CN"}, ("上海市", "上海", None)),
        ({"region": "WA", "city": "Seattle", "country": "US"}, ("Washington", "Seattle", None)),
        ({"region": "Bayern", "city": "München", "country": "DE"}, ("Bayern", "München", None)),
        (
            {"region": "浙江省", "city": "杭州", "country": "CN",
             "address": "浙江省杭州市滨江区友谊路24号"},
            ("浙江省", "杭州", "滨江区友谊路24号"),
        ),
        (
            {"region": "上海市", "city": "上海", "country": "CN",
             "address": "上海市闵行区五一路77号"},
            ("上海市", "上海", "闵行区五一路77号"),
        ),
        # A street named after the city keeps its name: 广州大道 is Guangzhou Avenue.
        (
            {"region": "广东", "city": "广州市", "country": "CN", "address": "广州大道中289号"},
            ("广东省", "广州", "广州大道中289号"),
        ),
        (
            {"region": "广东省", "city": "广州", "country": "CN",
             "address": "广东省广州市广州大道中289号"},
            ("广东省", "广州", "广州大道中289号"),
        ),
        ({"region": "上海", "city": "上海", "country": "CN", "address": "上海南京路100号"},
         ("上海市", "上海", "南京路100号")),
        ({"address": "123 Anson Rd., #04-04"}, (None, None, "123 Anson Road, #04-04")),
        ({"address": "2048 Victoria Ln."}, (None, None, "2048 Victoria Lane")),
        ({"address": "St. John Street 5"}, (None, None, "St. John Street 5")),
    ],
)  # fmt: skip
def test_regions_cities_and_addresses(make_frame, values, expected):  # type: ignore[no-untyped-def]
    row = _one(make_frame, **values)
    region, city, address = expected
    assert row["region"] == region
    assert row["city"] == city
    if address is not None:
        assert row["address"] == address


@pytest.mark.parametrize(
    ("values", "valid"),
    [
        ({"name": "WANG Yangjun", "country": "CN"}, False),
        ({"name": "Shanghai Xingchen Trading Co., Ltd.", "phone": "+86 138 0013 8000"}, False),
        ({"name": "王洋军", "country": "CN"}, True),
        ({"name": "Harbor Foods GmbH", "country": "DE"}, True),
        ({"name": "John Smith"}, True),
    ],
)
def test_romanised_chinese_names_are_flagged(make_frame, values, valid):  # type: ignore[no-untyped-def]
    assert _one(make_frame, **values)["name_valid"] is valid
