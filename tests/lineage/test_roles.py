"""Values by role (lineage.roles) and cross-source agreement, through the golden record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from lineage import SurvivorshipSettings, build_golden_record
from lineage.roles import (
    PARTIAL_PERSON_NAME,
    has_legal_form,
    looks_like_person_name,
    name_variant_key,
    phone_number_type,
    phone_regions,
)

Builder = Callable[..., pl.DataFrame]
# crm is the most trusted source here, so without roles its value would always win.
SOURCES = {
    "crm": {"default": 0.9},
    "erp": {"default": 0.8},
    "shop": {"default": 0.7},
    "tickets": {"default": 0.6},
}
SETTINGS = SurvivorshipSettings(decay_by_field={})


def _golden(
    make_std: Builder,
    make_xref: Builder,
    records: list[dict[str, Any]],
    settings: SurvivorshipSettings = SETTINGS,
) -> dict[str, dict[str, Any]]:
    """field -> its field_lineage row, for the single customer U1."""
    std = make_std(records)
    xref = make_xref({"U1": [(r["system"], r["id"]) for r in records]})
    golden = build_golden_record(std, xref, sources=SOURCES, settings=settings, run_id="r")
    return {row["field"]: row for row in golden.field_lineage.to_dicts()}


def _company(system: str, at: str = "2024-01-01", **fields: Any) -> dict[str, Any]:
    return {"system": system, "id": f"{system}-1", "at": at, "customer_type": "company", **fields}


def _us(system: str, contact: str | None, email: str | None, phone: str) -> dict[str, Any]:
    """A US company's record written by one contact person (US numbers: type ``line``)."""
    return {
        **_company(system, country="US", contact_name=contact, phone=phone),
        **({"email": email} if email else {}),
    }


def _person(
    system: str, name: str, at: str = "2024-01-01", kind: str | None = "person", n: int = 1
) -> dict[str, Any]:
    return {"system": system, "id": f"{system}-{n}", "at": at, "customer_type": kind, "name": name}


@pytest.mark.parametrize(
    ("case", "records", "field", "expected", "rule"),
    [
        (
            "a contact's name (the ticket's requester) never becomes the company's name",
            [
                {"system": "tickets", "id": "T1", "at": "2024-06-01", "customer_type": "person",
                 "name": "郭明", "contact_name": "郭明"},
                _company("erp", at="2020-01-01", name="上海瑞凯软件有限公司"),
            ],
            "name",
            "上海瑞凯软件有限公司",
            "highest_trust:role=legal_name",
        ),
        (
            "a titled requester loses to a short form",
            [_company("crm", name="王女士"), _company("shop", name="宏智管理")],
            "name",
            "宏智管理",
            "highest_trust:role=short_name",
        ),
        (
            "the full legal name beats a more trusted short form",
            [_company("crm", name="宏智管理"),
             _company("erp", name="宏智管理咨询（广州）有限公司")],
            "name",
            "宏智管理咨询（广州）有限公司",
            "highest_trust:role=legal_name",
        ),
        (
            "the primary script's name beats a more trusted translation",
            [
                _company("crm", name="Shanghai Xingchen Trading Co., Ltd."),
                _company("erp", name="上海星辰贸易有限公司"),
                _company("shop", name="上海星辰贸易"),
            ],
            "name",
            "上海星辰贸易有限公司",
            "highest_trust:role=legal_name",
        ),
        (
            "a company's main line beats a contact's more trusted mobile",
            [_company("crm", phone="+8613800138000"), _company("erp", phone="+862172806681")],
            "phone",
            "+862172806681",
            "highest_trust:role=main_line",
        ),
        (
            "a person's mobile beats a more trusted fixed line",
            [
                {"system": "crm", "id": "C1", "at": "2024-01-01", "customer_type": "person",
                 "phone": "+862172806681"},
                {"system": "shop", "id": "S1", "at": "2024-01-01", "customer_type": "person",
                 "phone": "+8613800138000"},
            ],
            "phone",
            "+8613800138000",
            "highest_trust:role=mobile",
        ),
        (
            "an invalid main line never beats a valid mobile",
            [
                _company("crm", phone="+8613800138000"),
                _company("erp", phone="+862172806681", phone_valid=False),
            ],
            "phone",
            "+8613800138000",
            "highest_trust",
        ),
        (
            "the billing address beats a more trusted warehouse",
            [_company("crm", address="嘉定区安亭镇顺丰集货仓3号"),
             _company("erp", address="徐汇区胜利路1259号")],
            "address",
            "徐汇区胜利路1259号",
            "highest_trust:role=address",
        ),
        (
            "a Latin shipping address (c/o) loses too",
            [_company("crm", address="c/o Parcel Forwarding Warehouse 2, Austin"),
             _company("erp", address="3067 Oak Avenue")],
            "address",
            "3067 Oak Avenue",
            "highest_trust:role=address",
        ),
        (
            "the clean address beats its more trusted region-prefixed duplicate",
            [_company("crm", address="上海市浦东新区北京路185号"),
             _company("erp", address="浦东新区北京路185号")],
            "address",
            "浦东新区北京路185号",
            "highest_trust:role=address",
        ),
        (
            "a US main line beats the same digits read as a Chinese fixed line",
            [
                _company("crm", phone="+862122724490"),  # typed without +1, default CN
                _company("erp", phone="+12122724490", country="US"),
                {**_company("shop", country="US"), "id": "shop-2"},
            ],
            "phone",
            "+12122724490",
            "highest_trust:role=line",
        ),
        (
            "a person's title never beats their full name from another source",
            [_person("crm", "赵先生"), _person("shop", "赵德新")],
            "name",
            "赵德新",
            "highest_trust:role=full_name",
        ),
        (
            "a shop nickname (老X) never beats the CRM's full name",
            [_person("crm", "老罗"), _person("shop", "罗晨")],
            "name",
            "罗晨",
            "highest_trust:role=full_name",
        ),
        (
            "a handle with digits loses to the full name",
            [_person("crm", "sunny 8215"), _person("shop", "Matthew Blackden")],
            "name",
            "Matthew Blackden",
            "highest_trust:role=full_name",
        ),
        (
            "one Latin given name loses to the full name",
            [_person("crm", "Min"), _person("shop", "罗敏")],
            "name",
            "罗敏",
            "highest_trust:role=full_name",
        ),
        (
            "a Chinese given name alone loses to the full name it ends",
            [_person("crm", "豪煜"), _person("shop", "陈豪煜")],
            "name",
            "陈豪煜",
            "highest_trust:role=full_name",
        ),
        (
            "a nickname ending in two digits loses to the full name",
            [_person("crm", "追风的土豆86"), _person("shop", "宋斌明")],
            "name",
            "宋斌明",
            "highest_trust:role=full_name",
        ),
        (
            "a title naming the surname puts the family-first order after the given one",
            [
                _person("crm", "Roberts Sarah"),
                _person("shop", "Sarah Roberts"),
                _person("tickets", "Ms. Roberts"),
            ],
            "name",
            "Sarah Roberts",
            "highest_trust:role=full_name",
        ),
        (
            "without a title nothing says which order is the given one: trust decides",
            [_person("crm", "ROBERTS SARAH"), _person("shop", "Sarah Roberts")],
            "name",
            "ROBERTS SARAH",
            "highest_trust",
        ),
        (
            "a two-character name is a whole name: trust decides between two",
            [_person("crm", "黄平"), _person("shop", "黄平安")],
            "name",
            "黄平",
            "highest_trust",
        ),
        (
            "tickets only (no type): a title still loses to the name",
            [_person("crm", "王女士", kind=None), _person("tickets", "王成成", kind=None)],
            "name",
            "王成成",
            "highest_trust:role=unclassified",
        ),
        (
            "the name most records write wins among spellings of one name",
            [
                _company("crm", name="宏骏新能源(北京)有限公司"),
                _company("erp", name="北京宏骏新能源有限公司"),
                {**_company("erp", name="北京宏骏新能源有限公司"), "id": "erp-2"},
            ],
            "name",
            "北京宏骏新能源有限公司",
            "highest_trust+spelling",
        ),
        (
            "a more common spelling of another name does not win",
            [
                _company("crm", name="北京宏骏新能源有限公司"),
                _company("erp", name="北京宏军新能源有限公司"),
                {**_company("erp", name="北京宏军新能源有限公司"), "id": "erp-2"},
            ],
            "name",
            "北京宏骏新能源有限公司",
            "highest_trust",
        ),
        (
            "a US number two contact persons write beats one contact's more trusted number",
            [
                _us("crm", "Anna Lee", "anna@acme.com", "+12129781800"),
                _us("erp", "Anna Lee", "anna@acme.com", "+12122724490"),
                _us("shop", "Ben Wu", "ben@acme.com", "+12122724490"),
            ],
            "phone",
            "+12122724490",
            "highest_trust:role=shared_line",
        ),
        (
            "one person written with and without an e-mail is one person: not a shared line",
            [
                _us("crm", "Anna Lee", "anna@acme.com", "+12129781800"),
                _us("erp", "Anna Lee", "anna@acme.com", "+12122724490"),
                _us("shop", "Anna Lee", None, "+12122724490"),
            ],
            "phone",
            "+12129781800",
            "highest_trust",
        ),
        (
            "a number on a requester's own record (a ticket) is that person's, not the company's",
            [
                _us("crm", "Ben Wu", "ben@acme.com", "+12129781800"),
                {**_us("tickets", "Ben Wu", "ben@acme.com", "+12129781800"),
                 "customer_type": "person"},
                _us("erp", "Ben Wu", "ben@acme.com", "+12122724490"),
            ],
            "phone",
            "+12122724490",
            "highest_trust:role=line",
        ),
        (
            "a person's number on their tickets stays theirs (roles of a company only)",
            [
                {**_us("crm", None, "ben@acme.com", "+12129781800"), "customer_type": "person"},
                {**_us("tickets", None, "ben@acme.com", "+12129781800"),
                 "customer_type": "person"},
                {**_us("erp", None, "ben@acme.com", "+12122724490"), "customer_type": "person"},
            ],
            "phone",
            "+12129781800",
            "highest_trust",
        ),
        (
            "a spelling two sources write beats one source's repeated spelling",
            [
                _company("crm", name="丰祥物流(成都)有限公司"),
                {**_company("crm", name="丰祥物流(成都)有限公司"), "id": "crm-2"},
                _company("shop", name="成都丰祥物流有限公司"),
                _company("tickets", name="成都丰祥物流有限公司"),
            ],
            "name",
            "成都丰祥物流有限公司",
            "highest_trust+spelling",
        ),
        (
            "a spelling that failed validation counts for nothing",
            [
                _company("crm", name="宏骏新能源(北京)有限公司"),
                _company("shop", name="北京宏骏新能源有限公司"),
                # old enough not to count as agreement either
                _company("tickets", "2020-01-01", name="北京宏骏新能源有限公司",
                         name_valid=False),
            ],
            "name",
            "宏骏新能源(北京)有限公司",
            "highest_trust",
        ),
        (
            "one role only: trust decides and the rule is unchanged",
            [_company("crm", phone="+862172806681"), _company("erp", phone="+862161234567")],
            "phone",
            "+862172806681",
            "highest_trust",
        ),
    ],
)  # fmt: skip
def test_values_by_role(
    make_std: Builder,
    make_xref: Builder,
    case: str,
    records: list[dict[str, Any]],
    field: str,
    expected: str,
    rule: str,
) -> None:
    row = _golden(make_std, make_xref, records)[field]
    assert (row["value"], row["rule"]) == (expected, rule), case


def _order(system: str, n: int, name: str, contact: str | None, **fields: Any) -> dict[str, Any]:
    """A person's own record (a shop order): ``contact`` is whom the parcel went to."""
    return {**_person(system, name, n=n), "contact_name": contact, **fields}


@pytest.mark.parametrize(
    ("case", "records", "field", "expected", "rule"),
    [
        (
            "a parcel's other recipient: the person's own mobile beats the recipient's",
            [
                _order("crm", 1, "张伟", "李娜", phone="+8613800138000"),
                _order("shop", 1, "张伟", None, phone="+8613900139000"),
            ],
            "phone",
            "+8613900139000",
            "highest_trust:role=mobile",
        ),
        (
            "a parcel's other recipient: the person's own address beats the recipient's",
            [
                _order("crm", 1, "张伟", "李娜", address="长宁区复兴路1101号"),
                _order("shop", 1, "张伟", None, address="南山区东风路401号"),
            ],
            "address",
            "南山区东风路401号",
            "highest_trust:role=address",
        ),
        (
            "a parcel sent to oneself keeps its number: trust decides",
            [
                _order("crm", 1, "张伟", "张伟", phone="+8613800138000"),
                _order("shop", 1, "张伟", None, phone="+8613900139000"),
            ],
            "phone",
            "+8613800138000",
            "highest_trust",
        ),
        (
            "the customer's name in the other word order is the customer",
            [
                _order("crm", 1, "Wei Zhang", "ZHANG Wei", phone="+8613800138000"),
                _order("shop", 1, "Wei Zhang", None, phone="+8613900139000"),
            ],
            "phone",
            "+8613800138000",
            "highest_trust",
        ),
        (
            "only handles: the name two orders went to is the customer's, a third is not",
            [
                _order("crm", 1, "tb947360894", "王芳", phone="+8613700137000"),
                _order("shop", 1, "tb947360894", "李娜", phone="+8613800138000"),
                _order("shop", 2, "tb123456789", "李娜", phone="+8613800138000"),
            ],
            "phone",
            "+8613800138000",
            "highest_trust:role=mobile",
        ),
        (
            "a company's contact is no recipient: its mobile keeps its role",
            [
                _company("crm", contact_name="李娜", phone="+8613800138000"),
                _company("shop", contact_name="王芳", phone="+8613900139000"),
            ],
            "phone",
            "+8613800138000",
            "highest_trust",
        ),
    ],
)  # fmt: skip
def test_a_parcels_recipient(
    make_std: Builder,
    make_xref: Builder,
    case: str,
    records: list[dict[str, Any]],
    field: str,
    expected: str,
    rule: str,
) -> None:
    row = _golden(make_std, make_xref, records)[field]
    assert (row["value"], row["rule"]) == (expected, rule), case


@pytest.mark.parametrize(
    ("case", "records", "expected", "rule"),
    [
        (
            "only a handle: the name its order went to is the best guess",
            [_order("shop", 1, "tb947360894", "罗晨")],
            "罗晨",
            "highest_trust:role=recipient_name",
        ),
        (
            "the name two orders went to beats a more trusted order's other name",
            [
                _order("crm", 1, "tb947360894", "王芳"),
                _order("shop", 1, "tb947360894", "罗晨"),
                _order("shop", 2, "快乐的布丁929", "罗晨"),
            ],
            "罗晨",
            "highest_trust:role=order_name",
        ),
        (
            "any full name on record beats every order's name",
            [_order("shop", 1, "张伟", "李娜"), _order("shop", 2, "张伟", "李娜")],
            "张伟",
            "highest_trust:role=full_name",
        ),
        (
            "an order's name is no witness: it never makes a name agreed",
            [
                _person("erp", "魏国佳"),
                _person("tickets", "魏英秀"),
                _order("shop", 1, "小猫咪491", "魏英秀"),
            ],
            "魏国佳",
            "highest_trust:role=full_name",
        ),
    ],
)  # fmt: skip
def test_a_persons_order_names(
    make_std: Builder,
    make_xref: Builder,
    case: str,
    records: list[dict[str, Any]],
    expected: str,
    rule: str,
) -> None:
    row = _golden(make_std, make_xref, records)["name"]
    assert (row["value"], row["rule"]) == (expected, rule), case


def test_a_persons_recipient_is_never_their_contact(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _order("crm", 1, "张伟", "李娜", phone="+8613800138000"),
        _order("shop", 1, "张伟", "张伟"),
    ]
    assert "contact_name" not in _golden(make_std, make_xref, records)


def test_recipient_roles_follow_role_fields(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _order("crm", 1, "张伟", "李娜", phone="+8613800138000"),
        _order("shop", 1, "张伟", None, phone="+8613900139000"),
    ]
    off = SurvivorshipSettings(decay_by_field={}, role_fields=("name",))
    row = _golden(make_std, make_xref, records, off)["phone"]
    assert (row["value"], row["rule"]) == ("+8613800138000", "highest_trust")


def test_without_roles_trust_decides(make_std: Builder, make_xref: Builder) -> None:
    records = [_company("crm", phone="+8613800138000"), _company("erp", phone="+862172806681")]
    off = SurvivorshipSettings(decay_by_field={}, role_fields=())
    row = _golden(make_std, make_xref, records, off)["phone"]
    assert (row["value"], row["rule"]) == ("+8613800138000", "highest_trust")


def test_agreement_beats_a_lone_recent_value(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _company("erp", at="2024-01-01", email="li@acme.cn"),
        _company("tickets", at="2024-02-01", email="li@acme.cn"),
        _company("shop", at="2024-06-01", email="wang@acme.cn"),  # fresher, but alone
    ]
    agreeing = SurvivorshipSettings(decay_by_field={}, agreement_fields=("email",))
    row = _golden(make_std, make_xref, records, agreeing)["email"]
    assert (row["value"], row["rule"]) == ("li@acme.cn", "highest_trust+agreement")


def test_the_authority_is_never_outvoted(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _company("erp", at="2024-01-01", email="li@acme.cn"),
        _company("tickets", at="2024-02-01", email="li@acme.cn"),
        _company("crm", at="2024-06-01", email="wang@acme.cn"),  # the field's authority
    ]
    agreeing = SurvivorshipSettings(decay_by_field={}, agreement_fields=("email",))
    assert _golden(make_std, make_xref, records, agreeing)["email"]["value"] == "wang@acme.cn"


def test_stale_agreement_does_not_count(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _company("erp", at="2020-01-01", email="li@acme.cn"),
        _company("tickets", at="2020-02-01", email="li@acme.cn"),
        _company("shop", at="2024-06-01", email="wang@acme.cn"),  # beyond the window
    ]
    agreeing = SurvivorshipSettings(decay_by_field={}, agreement_fields=("email",))
    row = _golden(make_std, make_xref, records, agreeing)["email"]
    assert (row["value"], row["rule"]) == ("wang@acme.cn", "highest_trust")


@pytest.mark.parametrize(
    ("value", "person", "legal"),
    [
        ("郭明", True, False),
        ("郭静", True, False),
        ("王女士", True, False),
        ("张先生", True, False),
        ("小王", True, False),
        ("Mr. Smith", True, False),
        ("宏智管理", False, False),
        ("鑫迅新能", False, False),
        ("王氏贸易", False, False),
        ("上海瑞凯软件有限公司", False, True),
        ("隆海软件（天津）有限公司", False, True),
        ("Acme Widgets", False, False),
        ("Moonstone Academy Pte. Ltd.", False, True),
        ("Ember Trading GmbH", False, True),
    ],
)
def test_name_shapes(value: str, person: bool, legal: bool) -> None:
    frame = pl.select(
        looks_like_person_name(pl.lit(value)).alias("person"),
        has_legal_form(pl.lit(value)).alias("legal"),
    )
    assert frame.row(0) == (person, legal)


def test_spelling_off_keeps_the_winner(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _company("crm", name="宏骏新能源(北京)有限公司"),
        _company("erp", name="北京宏骏新能源有限公司"),
        {**_company("erp", name="北京宏骏新能源有限公司"), "id": "erp-2"},
    ]
    off = SurvivorshipSettings(decay_by_field={}, common_spelling=False)
    row = _golden(make_std, make_xref, records, off)["name"]
    assert (row["value"], row["rule"]) == ("宏骏新能源(北京)有限公司", "highest_trust")


def test_a_respelled_winner_explains_the_loser(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _company("crm", name="宏骏新能源(北京)有限公司"),
        _company("erp", name="北京宏骏新能源有限公司"),
        {**_company("erp", name="北京宏骏新能源有限公司"), "id": "erp-2"},
    ]
    std = make_std(records)
    xref = make_xref({"U1": [(r["system"], r["id"]) for r in records]})
    golden = build_golden_record(std, xref, sources=SOURCES, settings=SETTINGS, run_id="r")
    names = golden.field_candidates.filter(pl.col("field") == "name").sort("rank")
    assert names["rank"].to_list() == [1, 2, 3]
    loser = names.filter(pl.col("source_system") == "crm").row(0, named=True)
    assert loser["lost_because"] == (
        "tie on sources; a less common spelling of the same name (1 < 2 records)"
    )


def test_a_spelling_fewer_sources_write_says_so(make_std: Builder, make_xref: Builder) -> None:
    records = [
        _company("crm", name="丰祥物流(成都)有限公司"),
        {**_company("crm", name="丰祥物流(成都)有限公司"), "id": "crm-2"},
        _company("shop", name="成都丰祥物流有限公司"),
        _company("tickets", name="成都丰祥物流有限公司"),
    ]
    std = make_std(records)
    xref = make_xref({"U1": [(r["system"], r["id"]) for r in records]})
    golden = build_golden_record(std, xref, sources=SOURCES, settings=SETTINGS, run_id="r")
    names = golden.field_candidates.filter(pl.col("field") == "name")
    reasons = names.filter(pl.col("source_system") == "crm")["lost_because"].unique().to_list()
    assert reasons == ["a spelling of the same name fewer sources write (1 < 2 sources)"]


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("宏智管理咨询（广州）有限公司", "广州宏智管理咨询有限公司"),
        ("宏智管理咨询(广州)有限公司", "广州宏智管理咨询有限公司"),
        ("辉同国际货运代理(青岛)有限公司北京分公司", "青岛辉同国际货运代理有限公司北京分公司"),
        ("广州宏智管理咨询有限公司", "广州宏智管理咨询有限公司"),
        ("Starworks Industries Incorporated", "starworksindustriesinc"),
        ("Starworks Industries Inc.", "starworksindustriesinc"),
        ("Lakewater Trading Limited", "lakewatertradingltd"),
        ("Aspenpath Energy Corporation", "aspenpathenergycorp"),
        ("Jiarui Financial Leasing (Shanghai) CO., LTD.", "jiaruifinancialleasingshanghailtd"),
    ],
)
def test_name_variant_key(value: str, key: str) -> None:
    assert pl.select(name_variant_key(pl.lit(value))).item() == key


@pytest.mark.parametrize(
    ("value", "partial"),
    [
        ("快乐的布丁929", True),
        ("追风的土豆86", True),
        ("会飞的兔子4", True),
        ("sunny 8215", True),
        ("sunny_3904", True),
        ("tb977964708", True),
        ("赵先生", True),
        ("王女士", True),
        ("老罗", True),
        ("小高", True),
        ("Ms. Parker", True),
        ("Leo", True),
        ("罗晨", False),
        ("黄平", False),
        ("Peter Crawworth", False),
        ("Yingyan Fan", False),
    ],
)
def test_partial_person_names(value: str, partial: bool) -> None:
    assert pl.select(pl.lit(value).str.contains(PARTIAL_PERSON_NAME)).item() is partial


def test_phone_regions() -> None:
    assert phone_regions(["+862122724490", "+12122724490", "not a number"]) == {
        "+862122724490": "CN",
        "+12122724490": "US",
        "not a number": None,
    }


def test_phone_types_once_per_distinct_value() -> None:
    kinds = phone_number_type(["+8613800138000", "+862172806681", "+8613800138000", "+14155550123"])
    assert kinds == {
        "+8613800138000": "mobile",
        "+862172806681": "main_line",
        "+14155550123": "line",
    }
