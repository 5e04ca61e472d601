"""Values by role: what kind of value each candidate is, before survivorship picks one.

Authority and recency say how much a source is believed; they do not say what a value
*is*. A company customer's records carry its main line and its contacts' mobiles, its
registered address and the warehouse a parcel went to, its legal name and the name of
the person who opened a ticket. ``classify_roles`` labels every candidate of the
``settings.role_fields`` with a ``role`` and a ``role_rank`` (0 is best for the
customer's type); survivorship then ranks on ``role_rank`` before the field's rule,
so the rule picks within the best role present (``lineage.survivorship``, key ``role``).

Roles, best first (``ROLE_ORDER``):

- ``phone`` (number type from libphonenumber, computed once per distinct value): for a
  company ``main_line`` (fixed line, toll-free, shared-cost, VoIP, UAN) >
  ``shared_line`` > ``line`` (fixed line or mobile: US numbers cannot be told apart) >
  ``requester_phone`` > ``mobile`` (a person's phone, e.g. a contact's); for a person
  ``mobile`` > ``line`` > ``main_line``. Where the type cannot tell (``line``), how the
  company's records use the number can: one that two or more *different* contact
  persons write is the company's (``shared_line``; records sharing a personal e-mail
  or contact name are one person, ``lineage.linking``, so one person written with and
  without an e-mail is not two), one written on a requester's own record (a ticket or
  shop order whose own type is not company) is that person's (``requester_phone``).
  Unparseable numbers are ``line``. Either type: ``foreign_number`` last, a number of
  another country than the customer's (the country most of its records name) while
  the customer has a number of its own country: a US number typed without ``+1`` into
  a source whose default country is China reads as a valid Shanghai fixed line.
- ``name`` for a company: ``legal_name`` (a legal form: 有限公司, Co., Ltd., GmbH ...,
  in the customer's primary script) > ``short_name`` (no legal form) >
  ``translated_name`` (written in another script than most of the customer's names:
  the English rendering of a Chinese company) > ``personal_name`` (a person: a record
  that itself says ``person``, a value equal to one of the customer's contact names,
  a 2-3 character Chinese name with a common surname and no company word, 王女士 /
  张先生 / 小王, a nickname). A person-looking name thus never wins a company's name
  while any other name exists.
- ``name`` for a person: ``full_name`` > ``surname_first`` > ``order_name`` >
  ``recipient_name`` > ``partial_name``. The middle two are not the records' own
  names but whom the person's orders went to (``contact_name`` on a person's own
  record, a shop's 收货人; ``_order_names``): most orders go to oneself, so where the
  records hold only handles that is the best name there is; ``recipient_name`` is one
  ``recipient_records`` says may be someone else. They never count as agreement.
  ``surname_first``: 'Roberts Sarah' where 'Sarah Roberts' is a candidate too and a
  titled record ('Ms. Roberts') names Roberts as the surname (without such a title
  nothing says which order is the given one, and trust decides).
  ``partial_name`` (``PARTIAL_PERSON_NAME``): a name ending in a digit, as handles do
  (快乐的布丁929 / 追风的土豆86 / sunny_3904), a title or nickname 赵先生 / 老罗 /
  小高 / Ms. Parker, one Latin word 'Leo'; or a Chinese given name alone, 豪煜, when the
  customer also has the full name 陈豪煜). Narrow on purpose: none of these is ever a
  whole name, so demoting them cannot turn a right winner wrong, even when a merged
  neighbour's full name is all that is left. A wider attempt, ranking the full name
  over pinyin too, lost on the bench generator (persons 0.650 -> 0.638): a matched
  neighbour's full name then beat the person's own pinyin. For a customer of unknown
  type only handles and titles are ``partial_name`` (a ticket-only company's short
  name is one Latin word as often as a requester's given name is).
- ``address`` (both types): ``address`` > ``prefixed_address`` (a leading province or
  city in front of what another candidate holds clean: the same address, written by a
  source without region columns) > ``shipping_address`` (warehouse, pick-up point,
  locker, 收货 / 代收, c/o); for a person then ``recipient_address``, as
  ``recipient_phone`` after every other phone: the address and phone on an order sent
  to someone else (``recipient_records``).

Spellings of one name (``variant``): a company's name candidates (any role but
``personal_name``) carry a variant key, the name with a bracketed city moved to the
front (宏智管理咨询（广州）有限公司 -> 广州宏智管理咨询有限公司) and a Latin legal
form in one spelling (Inc. / Incorporated, Ltd / Limited, Corp. / Corporation), letters
and digits only. Survivorship (``settings.common_spelling``) then writes the winning
name the way most of the customer's records write it among the winner's variants.

An invalid or placeholder value (``validity`` below 1) of a classified field is
``invalid_value`` and ranks after every role: a role never lifts a value that failed
validation. Unclassified values keep trust alone (its validity downgrade) as before.

Customers of unknown type get no phone or name roles (every candidate ``unclassified``,
rank 0), so nothing is preferred on a guess. A customer is a company here when any of
its records says so (``customer_types``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import phonenumbers
import polars as pl

from connectors.canonical import RECORD_KEY_COLUMNS
from lineage.linking import ROLE_MAILBOX, linked_components
from lineage.settings import SurvivorshipSettings
from lineage.survivorship import INVALID_ROLE
from lineage.trust import normalised_value
from matching.standardise.legal_form import CHINESE_LEGAL_FORMS, LATIN_LEGAL_FORMS
from matching.standardise.regions import CHINESE_PROVINCES

UNCLASSIFIED = "unclassified"
INVALID_RANK = 9  # below every role (one digit: the rank key sorts as text)
ROLE_SCHEMA: dict[str, pl.DataType] = {"_row": pl.Int64(), "role": pl.String()}
# Role names per (field, customer type), best first; the position is ``role_rank``.
ROLE_ORDER: dict[tuple[str, str], tuple[str, ...]] = {
    ("phone", "company"): (
        "main_line",
        "shared_line",
        "line",
        "requester_phone",
        "mobile",
        "foreign_number",
    ),
    ("phone", "person"): ("mobile", "line", "main_line", "foreign_number", "recipient_phone"),
    ("name", "company"): ("legal_name", "short_name", "translated_name", "personal_name"),
    ("name", "person"): (
        "full_name",
        "surname_first",
        "order_name",
        "recipient_name",
        "partial_name",
    ),
    # A customer of unknown type (only tickets, say): only a handle or a title is demoted.
    ("name", ""): (UNCLASSIFIED, "partial_name"),
    ("address", "company"): ("address", "prefixed_address", "shipping_address"),
    ("address", "person"): (
        "address",
        "prefixed_address",
        "shipping_address",
        "recipient_address",
    ),
}
# Name roles of a person's order recipients (``_order_names``).
ORDER_ROLES = ("order_name", "recipient_name")
MAIN_LINE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.UAN,
    }
)
MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.PAGER})
# The commonest Chinese surnames (about 85% of the population): a 2-3 character name
# starting with one of them and holding no company word reads as a person's name.
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳"
    "甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解"
    "牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边"
    "卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# Words that make a text a company's, not a person's (a guard on the person tests).
HAN_COMPANY_WORDS = (
    r"公司|集团|企业|工厂|厂$|店$|中心|研究院|研究所|事务所|银行|商行|工作室|合作社|协会|学校|学院|医院"
    r"|科技|贸易|实业|电子|网络|软件|咨询|管理|物流|货运|国际|控股|发展|投资|建设|工程|服务|传媒|文化"
)
LATIN_COMPANY_WORDS = (
    r"(?i)\b(inc|ltd|llc|plc|gmbh|ag|co|corp|company|corporation|limited|group|holdings?|trading"
    r"|tech|technolog(y|ies)|services?|solutions?|partners|bank|academy|industries|international"
    r"|intl|logistics|systems|software|consulting|enterprises?|global|labs?|studio|shop|store)\b"
)
PERSON_TITLE = (
    r"^\p{Han}{1,2}(先生|女士|小姐|总|经理|老师|工)$|^[小老阿]\p{Han}$"
    r"|(?i)^(mr|ms|mrs|miss|dr)\.?\s"
)
# A shop or forum handle: letters then a long number (tb947360894), or name_123.
HANDLE = r"^[\p{L}_.\-]*\d{4,}$|_\d+$"
# A person's name that is not the whole name: a handle ending in digits (快乐的布丁929,
# 追风的土豆86, sunny 8215), a title or nickname (赵先生, 老罗, 小高, Ms. Parker), one
# Latin word (Leo). No person's whole name ends in a digit.
PARTIAL_PERSON_NAME = rf"\d$|{HANDLE}|{PERSON_TITLE}|^\p{{Latin}}[\p{{L}}'.-]*$"
# A Latin title with a surname: 'Ms. Roberts', 'Mr Hayfield' (captures the surname).
TITLED_SURNAME = r"(?i)^(?:mr|ms|mrs|miss|dr)\.?\s+(\p{Latin}[\p{L}'-]*)$"
# What no company or whole name looks like either: a handle ending in digits, a title.
TITLE_OR_HANDLE = rf"\d{{3,}}$|{HANDLE}|{PERSON_TITLE}"
LATIN_PERSON = r"^\p{Lu}[\p{L}'-]*(\s+\p{Lu}\.?)?\s+\p{Lu}[\p{L}'-]*$"
# Shipping and warehouse addresses: not where a customer is registered or billed.
SHIPPING_WORDS = (
    r"(?i)(仓库|仓储|货仓|集货仓|物流园|快递|驿站|自提|提货点|收货|代收|丰巢|菜鸟|寄存"
    r"|warehouse|\bc/o\b|care of|pick-?up|locker|parcel|forwarding|fulfil+ment|shipping|dock\b)"
)
_PROVINCE_NAMES = sorted({*CHINESE_PROVINCES, *CHINESE_PROVINCES.values()}, key=len, reverse=True)
# A leading province and/or city (…市) in front of a street address.
REGION_PREFIX = rf"^(({'|'.join(_PROVINCE_NAMES)}))?(\p{{Han}}{{1,4}}?市)?"


def _script(value: pl.Expr) -> pl.Expr:
    """``han`` when the text holds a Chinese character, ``latin`` when a Latin letter, else null."""
    return (
        pl.when(value.str.contains(r"\p{Han}"))
        .then(pl.lit("han"))
        .when(value.str.contains(r"\p{Latin}"))
        .then(pl.lit("latin"))
    )


def has_legal_form(value: pl.Expr) -> pl.Expr:
    """True where a company name carries a legal form (有限公司, Co., Ltd., GmbH, ...).

    Example:
        >>> pl.select(has_legal_form(pl.lit("宏智管理咨询（广州）有限公司"))).item()
        True
    """
    expr: pl.Expr = pl.lit(False)
    for pattern, _ in CHINESE_LEGAL_FORMS:
        expr = expr | value.str.contains(pattern, literal=True)
    for pattern, _ in LATIN_LEGAL_FORMS:
        expr = expr | value.str.contains(pattern)
    return expr


def looks_like_person_name(value: pl.Expr) -> pl.Expr:
    """True for a Chinese personal name, a titled or nicknamed person, or a handle.

    Latin 'First Last' is *not* enough on its own ('Acme Widgets' has the same shape);
    ``classify_roles`` adds it when the record or the customer's contacts say so.

    Example:
        >>> names = pl.Series(["郭明", "王女士", "宏智管理", "小王"])
        >>> pl.select(looks_like_person_name(names)).to_series().to_list()
        [True, True, False, True]
    """
    text = value.str.strip_chars()
    han_name = (
        text.str.contains(r"^\p{Han}{2,3}$")
        & text.str.slice(0, 1).is_in(list(COMMON_SURNAMES))
        & ~text.str.contains(HAN_COMPANY_WORDS)
    )
    return (han_name | text.str.contains(PERSON_TITLE)).fill_null(False)


def phone_number_type(values: Iterable[str]) -> dict[str, str]:
    """``main_line`` / ``mobile`` / ``line`` per distinct phone (E.164 or national text).

    Example:
        >>> phone_number_type(["+862172806681", "+8613800138000", "+14155550123"])
        {'+862172806681': 'main_line', '+8613800138000': 'mobile', '+14155550123': 'line'}
    """
    kinds: dict[str, str] = {}
    for value in dict.fromkeys(values):
        try:
            number_type = phonenumbers.number_type(phonenumbers.parse(value, None))
        except phonenumbers.NumberParseException:
            kinds[value] = "line"
            continue
        if number_type in MAIN_LINE_TYPES:
            kinds[value] = "main_line"
        elif number_type in MOBILE_TYPES:
            kinds[value] = "mobile"
        else:
            kinds[value] = "line"
    return kinds


def customer_types(candidates: pl.DataFrame) -> pl.DataFrame:
    """``unified_id, customer_type`` as roles see it: ``company`` when any record says so.

    Not the golden ``customer_type``: a company's ticket without a company name says
    ``person`` (a requester), and it is often the freshest record; the roles of a
    company must not hinge on it.
    """
    return (
        candidates.filter(pl.col("field") == "customer_type")
        .group_by("unified_id")
        .agg(
            pl.when((pl.col("value") == "company").any())
            .then(pl.lit("company"))
            .when((pl.col("value") == "person").any())
            .then(pl.lit("person"))
            .alias("customer_type")
        )
    )


def phone_regions(values: Iterable[str]) -> dict[str, str | None]:
    """ISO country of each distinct phone (E.164), None when it does not parse.

    Example:
        >>> phone_regions(["+862172806681", "+14155550123", "12"])
        {'+862172806681': 'CN', '+14155550123': 'US', '12': None}
    """
    regions: dict[str, str | None] = {}
    for value in dict.fromkeys(values):
        try:
            regions[value] = phonenumbers.region_code_for_number(phonenumbers.parse(value, None))
        except phonenumbers.NumberParseException:
            regions[value] = None
    return regions


def _customer_country(candidates: pl.DataFrame) -> pl.DataFrame:
    """``unified_id, _country``: the country most of the customer's records name (ties: none)."""
    counts = (
        candidates.filter(pl.col("field") == "country")
        .group_by("unified_id", pl.col("value").str.to_uppercase().alias("_country"))
        .len()
    )
    return counts.filter(
        (pl.col("len") == pl.col("len").max().over("unified_id"))
        & (pl.len().over("unified_id", pl.col("len")) == 1)
    ).select("unified_id", "_country")


def _record_contacts(candidates: pl.DataFrame) -> pl.DataFrame:
    """``_record, _contact, _requester`` per record: who wrote it, and is it a requester's.

    ``_contact`` numbers the persons behind the customer's records: records sharing a
    personal e-mail (not a role mailbox) or a normalised contact name are one person
    (``lineage.linking``), so a CRM row without the e-mail and a ticket signed
    'Elsworth Bruce' stay one person. The contact name is the record's ``name`` on a
    person's own record, else its ``contact_name``, as ``lineage.contacts`` reads it.
    A requester's record is one whose own ``customer_type`` is not ``company`` (a
    ticket or a shop order of a person: the phone on it is that person's).
    """
    record = pl.struct(RECORD_KEY_COLUMNS).alias("_record")
    wanted = ("email", "contact_name", "customer_type", "name")
    wide = (
        # Only a company's numbers get these roles: persons' records are not linked.
        candidates.filter(pl.col("field").is_in(wanted) & (pl.col("_customer_type") == "company"))
        .select("unified_id", record, "field", "value")
        .group_by("unified_id", "_record")
        .agg(pl.col("value").filter(pl.col("field") == f).first().alias(f) for f in wanted)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_node"))
    )
    person_name = (
        pl.when(pl.col("customer_type") == "person").then("name").otherwise("contact_name")
    )
    keys = pl.concat(
        [
            wide.select(
                "_node", pl.format("{}\x1f{}:{}", "unified_id", pl.lit(prefix), expr).alias("_key")
            ).drop_nulls("_key")
            for prefix, expr in (
                (
                    "e",
                    pl.when(~pl.col("email").str.contains(ROLE_MAILBOX)).then(
                        pl.col("email").str.to_lowercase()
                    ),
                ),
                ("n", normalised_value(person_name)),
            )
        ]
    ).filter(~pl.col("_key").str.ends_with(":"))
    keyed = keys.select("_node").unique()
    persons = linked_components(keys, wide["_node"]).join(keyed, on="_node", how="semi")
    return wide.join(persons, on="_node", how="left").select(
        "_record",
        pl.col("_component").alias("_contact"),
        pl.col("customer_type").ne_missing("company").alias("_requester"),
    )


def _phone_roles(phones: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """``_row, role`` for the phone candidates: the number type, how it is used, or foreign.

    Where libphonenumber cannot tell (``line``: US numbers), how a company's records
    use the number decides: one that two or more of its contact persons write is the
    company's (``shared_line``), one written on a requester's own record (a ticket or
    shop order without a company) is that person's (``requester_phone``).
    """
    distinct = phones["value"].unique().sort().to_list()
    kinds = phone_number_type(distinct)
    regions = phone_regions(distinct)
    framed = (
        phones.join(_customer_country(candidates), on="unified_id", how="left")
        .join(
            _record_contacts(candidates),
            left_on=pl.struct(RECORD_KEY_COLUMNS),
            right_on="_record",
            how="left",
        )
        .with_columns(
            pl.col("value")
            .replace_strict(regions, default=None, return_dtype=pl.String)
            .alias("_region"),
            pl.col("value")
            .replace_strict(kinds, default="line", return_dtype=pl.String)
            .alias("_kind"),
        )
    )
    home = pl.col("_region") == pl.col("_country")
    has_home = home.fill_null(False).any().over("unified_id")
    foreign = (pl.col("_region") != pl.col("_country")).fill_null(False) & has_home
    company = pl.col("_customer_type") == "company"
    same_number = ("unified_id", "value")
    shared = pl.col("_contact").drop_nulls().n_unique().over(same_number) >= 2
    requester = pl.col("_requester").fill_null(False).any().over(same_number)
    role = (
        pl.when(foreign)
        .then(pl.lit("foreign_number"))
        .when(company & (pl.col("_kind") == "line") & shared)
        .then(pl.lit("shared_line"))
        .when(company & (pl.col("_kind") == "line") & requester)
        .then(pl.lit("requester_phone"))
        .otherwise(pl.col("_kind"))
    )
    return framed.select("_row", role.alias("role"))


def _name_roles(candidates: pl.DataFrame) -> pl.DataFrame:
    """``_row, role`` for the name candidates (roles of both customer types)."""
    record = pl.struct(RECORD_KEY_COLUMNS)
    per_record = candidates.filter(pl.col("field").is_in(["customer_type", "contact_name"]))
    record_type = per_record.filter(pl.col("field") == "customer_type").select(
        record.alias("_record"), pl.col("value").alias("_record_type")
    )
    contacts = (
        per_record.filter(pl.col("field") == "contact_name")
        .select("unified_id", normalised_value(pl.col("value")).alias("_norm"))
        .unique()
        .with_columns(_is_contact=pl.lit(True))
    )
    names = (
        candidates.filter(pl.col("field") == "name")
        .with_columns(record.alias("_record"), normalised_value(pl.col("value")).alias("_norm"))
        .join(record_type, on="_record", how="left")
        .join(contacts, on=["unified_id", "_norm"], how="left")
        .with_columns(
            _script(pl.col("value")).alias("_script"),
            has_legal_form(pl.col("value")).alias("_legal"),
        )
    )
    latin_person = pl.col("value").str.contains(LATIN_PERSON) & ~pl.col("value").str.contains(
        LATIN_COMPANY_WORDS
    )
    company = pl.col("_customer_type") == "company"
    personal = (
        looks_like_person_name(pl.col("value"))
        | pl.col("value").str.contains(HANDLE)
        | (company & ~pl.col("_legal") & (pl.col("_record_type") == "person"))
        | (company & ~pl.col("_legal") & pl.col("_is_contact").fill_null(False))
        | (company & latin_person & pl.col("_record_type").ne_missing("company"))
    )
    # The primary script: that of most of the customer's records' names, persons aside;
    # a tie leaves it open (no name is then a translation).
    votes = (
        names.filter(~personal & pl.col("_script").is_not_null())
        .group_by("unified_id", "_script")
        .len()
        .with_columns(
            (pl.col("len") == pl.col("len").max().over("unified_id")).alias("_top"),
        )
        .filter("_top")
        .filter(pl.len().over("unified_id") == 1)
        .select("unified_id", pl.col("_script").alias("_primary"))
    )
    translated = pl.col("_primary").is_not_null() & pl.col("_script").ne_missing(pl.col("_primary"))
    role = (
        pl.when(company)
        .then(
            pl.when(personal)
            .then(pl.lit("personal_name"))
            .when(translated)
            .then(pl.lit("translated_name"))
            .when(pl.col("_legal"))
            .then(pl.lit("legal_name"))
            .otherwise(pl.lit("short_name"))
        )
        .when(pl.col("_customer_type") == "person")
        .then(
            pl.when(_partial_person_name(names))
            .then(pl.lit("partial_name"))
            .when(_surname_first(names))
            .then(pl.lit("surname_first"))
            .otherwise(pl.lit("full_name"))
        )
        .when(pl.col("_customer_type").is_null() & pl.col("value").str.contains(TITLE_OR_HANDLE))
        .then(pl.lit("partial_name"))
        .otherwise(pl.lit(UNCLASSIFIED))
    )
    return names.join(votes, on="unified_id", how="left").select("_row", role.alias("role"))


def _partial_person_name(names: pl.DataFrame) -> pl.Expr:
    """True for a person's name that is only part of the name (``PARTIAL_PERSON_NAME``).

    Also a Chinese given name alone (豪煜) where the customer has the full name (陈豪煜)
    among its candidates: one more character in front. A two-character name alone is
    not partial (黄平 is a whole name), so the test needs the longer candidate.
    """
    han = names.filter(pl.col("value").str.contains(r"^\p{Han}{1,3}$")).select(
        "unified_id", pl.col("value").alias("_given")
    )
    given_only = (
        han.join(han.rename({"_given": "_whole"}), on="unified_id")
        .filter(
            (pl.col("_whole").str.len_chars() == pl.col("_given").str.len_chars() + 1)
            & pl.col("_whole").str.ends_with(pl.col("_given"))
        )
        .select("unified_id", "_given")
        .unique()
    )
    key = pl.concat_str("unified_id", "value", separator="\x1f")
    keys = given_only.select(pl.concat_str("unified_id", "_given", separator="\x1f"))
    return pl.col("value").str.strip_chars().str.contains(PARTIAL_PERSON_NAME) | key.is_in(
        keys.to_series().implode()
    )


def _surname_first(names: pl.DataFrame) -> pl.Expr:
    """True for 'Roberts Sarah' where 'Sarah Roberts' is a candidate too and a titled
    record ('Ms. Roberts') says Roberts is the surname: the family-first order of a
    Latin name (an airline or passport habit) is not how the person writes it. Without
    a title naming the surname nothing says which order is the given one.
    """
    words = pl.col("value").str.strip_chars().str.to_lowercase().str.split(" ")
    two_words = names.filter(
        pl.col("value").str.contains(r"^\p{Latin}[\p{L}'-]*\s\p{Latin}[\p{L}'-]*$")
    ).select(
        "unified_id",
        words.list.first().alias("_first"),
        words.list.last().alias("_last"),
    )
    surnames = (
        names.select(
            "unified_id",
            pl.col("value")
            .str.strip_chars()
            .str.extract(TITLED_SURNAME, 1)
            .str.to_lowercase()
            .alias("_first"),
        )
        .drop_nulls()
        .unique()
    )
    reversed_ = (
        two_words.join(
            two_words.select(
                "unified_id",
                pl.col("_last").alias("_first"),
                pl.col("_first").alias("_last"),
            ),
            on=["unified_id", "_first", "_last"],
            how="semi",
        )
        .join(surnames, on=["unified_id", "_first"], how="semi")
        .select(pl.concat_str("unified_id", "_first", "_last", separator="\x1f"))
    )
    key = pl.concat_str("unified_id", words.list.first(), words.list.last(), separator="\x1f")
    return key.is_in(reversed_.to_series().implode()).fill_null(False) & (words.list.len() == 2)


# A Latin legal form in one spelling, for the variant key (Corp. stays apart from Inc.).
_LATIN_FORM_SPELLING = tuple(
    (pattern, " corp" if "(corp|" in pattern else f" {code}") for pattern, code in LATIN_LEGAL_FORMS
)


def name_variant_key(value: pl.Expr) -> pl.Expr:
    """One key for the spellings of one company name (see the module docstring).

    Example:
        >>> names = pl.Series(["宏智管理咨询（广州）有限公司", "广州宏智管理咨询有限公司",
        ...                    "Acme Widgets Incorporated", "ACME WIDGETS INC."])
        >>> pl.select(name_variant_key(names)).to_series().to_list()
        ['广州宏智管理咨询有限公司', '广州宏智管理咨询有限公司', 'acmewidgetsinc', 'acmewidgetsinc']
    """
    moved = value.str.strip_chars().str.replace(
        r"^(\p{Han}+?)[(（](\p{Han}{2,4})[)）](.*)$", "${2}${1}${3}"
    )
    for pattern, spelling in _LATIN_FORM_SPELLING:
        moved = moved.str.replace(pattern, spelling)
    return normalised_value(moved)


def _address_roles(addresses: pl.DataFrame) -> pl.DataFrame:
    """``_row, role`` for the address candidates."""
    norm = normalised_value(pl.col("value"))
    stripped = normalised_value(pl.col("value").str.replace(REGION_PREFIX, ""))
    clean = addresses.select("unified_id", norm.alias("_other")).unique()
    keyed = addresses.with_columns(norm.alias("_norm"), stripped.alias("_stripped"))
    prefixed_rows = (
        keyed.filter(pl.col("_stripped") != pl.col("_norm"))
        .join(clean, left_on=["unified_id", "_stripped"], right_on=["unified_id", "_other"])
        .select("_row")
        .unique()
        .with_columns(_prefixed=pl.lit(True))
    )
    role = (
        pl.when(pl.col("value").str.contains(SHIPPING_WORDS))
        .then(pl.lit("shipping_address"))
        .when(pl.col("_prefixed").fill_null(False))
        .then(pl.lit("prefixed_address"))
        .otherwise(pl.lit("address"))
    )
    return keyed.join(prefixed_rows, on="_row", how="left").select("_row", role.alias("role"))


def person_key(value: pl.Expr) -> pl.Expr:
    """A person's name compared: case-folded letters and digits, words in sorted order.

    'Juanli Gao' and 'GAO, Juanli' are one key; 高娟立 and its pinyin are not (no
    transliteration: comparing pinyin as well, homophones and all, flagged fewer
    true recipients and lost more own addresses on the B2B bench).

    Example:
        >>> names = pl.Series(["Juanli Gao", "GAO, Juanli", "高娟立", "tb947360894"])
        >>> pl.select(person_key(names)).to_series().to_list()
        ['gaojuanli', 'gaojuanli', '高娟立', 'tb947360894']
    """
    words = value.str.to_lowercase().str.extract_all(r"[\p{L}\p{N}]+").list.sort().list.join("")
    return pl.when(words != "").then(words)


def _own_record_contacts(candidates: pl.DataFrame) -> pl.Expr:
    """True on the ``contact_name`` candidates of records that themselves say ``person``.

    On a person's own record the contact name is whom the order went to
    (``matching.standardise.legal_form``), never a contact person of the customer.
    """
    persons = (
        candidates.filter((pl.col("field") == "customer_type") & (pl.col("value") == "person"))
        .select(pl.struct(RECORD_KEY_COLUMNS).alias("_record"))
        .unique()
        .to_series()
        .implode()
    )
    return (pl.col("field") == "contact_name") & pl.struct(RECORD_KEY_COLUMNS).is_in(persons)


def recipient_records(recipients: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """``_record`` of a person customer's records whose parcel went to someone else.

    ``recipients`` are the ``contact_name`` candidates of persons' own records (a
    shop's 收货人). Whom a parcel went to is the customer when the recipient's name
    is one of the names the customer's records carry (``person_key``), or when
    several of its orders went to that name (a customer whose records hold only
    shop handles still orders to themself most often). Otherwise the parcel went to
    a friend or relative, and the phone and address on that record are theirs:
    fresher than the customer's own, but not the customer's.
    """
    record = pl.struct(RECORD_KEY_COLUMNS).alias("_record")
    named = recipients.filter(pl.col("_customer_type") == "person").select(
        "unified_id", record, person_key(pl.col("value")).alias("_key")
    )
    names = candidates.filter(pl.col("field") == "name").join(
        named.select("unified_id").unique(), on="unified_id", how="semi"
    )
    keys = names.select("unified_id", person_key(pl.col("value")).alias("_key")).drop_nulls()
    others = named.filter(
        pl.col("_key").is_not_null() & (pl.len().over("unified_id", "_key") == 1)
    ).join(keys.unique(), on=["unified_id", "_key"], how="anti")
    return others.select("_record").unique()


def _role_rank(field: pl.Expr, customer_type: pl.Expr, role: pl.Expr) -> pl.Expr:
    ranks = {
        f"{field_}\x1f{kind}\x1f{name}": position
        for (field_, kind), names in ROLE_ORDER.items()
        for position, name in enumerate(names)
    }
    key = pl.concat_str(field, customer_type.fill_null(""), role, separator="\x1f")
    return key.replace_strict(ranks, default=0, return_dtype=pl.Int64)


def _with_recipient_roles(
    roles: pl.DataFrame, framed: pl.DataFrame, sent: pl.Series, fields: set[str]
) -> pl.DataFrame:
    """A person's phone and address on a record sent to someone else: ``recipient_*``."""
    wanted = [f for f in ("phone", "address") if f in fields]
    if not wanted:
        return roles
    rows = framed.filter(
        pl.col("field").is_in(wanted)
        & (pl.col("_customer_type") == "person")
        & pl.struct(RECORD_KEY_COLUMNS).is_in(sent.implode())
    ).select("_row", pl.format("recipient_{}", "field").alias("_recipient"))
    return roles.join(rows, on="_row", how="left").select(
        "_row", pl.coalesce("_recipient", "role").alias("role")
    )


def _order_names(recipients: pl.DataFrame, sent: pl.Series) -> pl.DataFrame:
    """A person customer's order recipients as ``name`` candidates, with their role.

    Most orders go to the customer themself, so the name on them is the person's full
    name where the records' own names are only shop handles (tb947360894, 快乐的布丁929).
    ``order_name`` (the customer by ``recipient_records``) and ``recipient_name`` (maybe
    someone else) rank after every full name and before partial ones: a handle is
    never the person's name, a recipient's name is most often theirs.
    """
    orders = recipients.filter(pl.col("_customer_type") == "person")
    role = (
        pl.when(pl.struct(RECORD_KEY_COLUMNS).is_in(sent.implode()))
        .then(pl.lit("recipient_name"))
        .otherwise(pl.lit("order_name"))
    )
    return orders.with_columns(pl.lit("name").alias("field"), role.alias("_order_role"))


def classify_roles(
    candidates: pl.DataFrame,
    *,
    settings: SurvivorshipSettings,
    field_authority: Mapping[str, float],
) -> pl.DataFrame:
    """Add ``role``, ``role_rank``, ``variant`` and ``agreement`` to scored candidates.

    ``role`` is null outside ``settings.role_fields``; ``role_rank`` orders the roles
    of the customer's type (``ROLE_ORDER``; 0 for an unknown type). ``variant`` is the
    spelling key of a company's name (``name_variant_key``), null elsewhere or with
    ``settings.common_spelling`` off. ``agreement`` is the
    survivorship key of cross-source agreement (see ``with_agreement``).

    Args:
        candidates: Scored candidates (``lineage.trust.score_candidates``).
        settings: ``role_fields`` and the agreement settings, and the rule of
            ``customer_type``.
        field_authority: Field -> the highest configured trust of any source for it
            (``authority_table(...).group_by("field").max()``).

    Example::

        roles = classify_roles(scored, settings=settings, field_authority={"phone": 0.85})
        roles.filter(pl.col("field") == "phone").select("value", "role", "role_rank")
    """
    kinds = customer_types(candidates).rename({"customer_type": "_customer_type"})
    framed = candidates.with_columns(pl.int_range(pl.len()).alias("_row")).join(
        kinds, on="unified_id", how="left", maintain_order="left"
    )
    # A person's own contact name is a parcel's recipient: read here, never a candidate.
    own_contact = _own_record_contacts(framed)
    recipients = framed.filter(own_contact)
    framed = framed.filter(~own_contact)
    fields = set(settings.role_fields)
    parts: list[pl.DataFrame] = []
    phones = framed.filter(pl.col("field") == "phone")
    if "phone" in fields and not phones.is_empty():
        parts.append(_phone_roles(phones, framed))
    if "name" in fields:
        parts.append(_name_roles(framed))
    addresses = framed.filter(pl.col("field") == "address")
    if "address" in fields and not addresses.is_empty():
        parts.append(_address_roles(addresses))
    roles = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=ROLE_SCHEMA)
    if not recipients.is_empty():
        sent = recipient_records(recipients, framed).to_series()
        roles = _with_recipient_roles(roles, framed, sent, fields)
        if "name" in fields:
            orders = _order_names(recipients, sent)
            roles = pl.concat([roles, orders.select("_row", pl.col("_order_role").alias("role"))])
            framed = pl.concat([framed, orders.drop("_order_role")])
    # Only a company's own names are spellings of its name; a contact's is not.
    spelled = (
        (pl.col("field") == "name")
        & (pl.col("_customer_type") == "company")
        & (pl.col("role") != "personal_name")
    )
    unknown_type = (
        (pl.col("field") == "phone")
        | ((pl.col("field") == "name") & (pl.col("role") != "partial_name"))
    ) & pl.col("_customer_type").is_null()
    classified = framed.join(roles, on="_row", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("role").is_not_null() & unknown_type)
        .then(pl.lit(UNCLASSIFIED))
        .when((pl.col("role") != UNCLASSIFIED) & (pl.col("validity") < 1.0))
        .then(pl.lit(INVALID_ROLE))
        .otherwise(pl.col("role"))
        .alias("role")
    )
    # An invalid or placeholder value gains nothing from its role: it ranks last.
    ranked = classified.with_columns(
        pl.when(pl.col("role") == INVALID_ROLE)
        .then(pl.lit(INVALID_RANK, pl.Int64))
        .when(pl.col("role").is_not_null())
        .then(_role_rank(pl.col("field"), pl.col("_customer_type"), pl.col("role")))
        .alias("role_rank"),
        pl.when(spelled & pl.lit(settings.common_spelling))
        .then(name_variant_key(pl.col("value")))
        .alias("variant"),
    ).drop("_row", "_customer_type")
    return with_agreement(ranked, settings=settings, field_authority=field_authority)


def with_agreement(
    candidates: pl.DataFrame,
    *,
    settings: SurvivorshipSettings,
    field_authority: Mapping[str, float],
) -> pl.DataFrame:
    """The agreement key: how many sources stand behind a value, up to ``agreement_min_sources``.

    Agreement counts distinct source systems of the customer holding the same
    normalised value (letters and digits, case-folded: the standardised phone or
    e-mail, the name or address as written). Where some value of a customer's field
    is agreed (held by ``agreement_min_sources`` sources or more), agreed values and
    values of the field's authority (a source with the highest configured trust for
    the field) get the key ``agreement_min_sources`` and every other value 1; where
    none is agreed, every value gets 1 and the rule alone decides. Survivorship ranks
    this key after the role and before the rule, so a value that several sources
    agree on beats a lone, more recent or more trusted value of a lesser source, the
    authority is never outvoted (the ERP's registered name or tier), and between
    agreed values and the authority's the rule (trust, with its corroboration bonus)
    decides. Why a threshold and not the raw
    count: stale values are repeated by the older exports, so counting without a
    cap would let three old copies of a moved address beat the authority's current
    one. Null (no effect) outside ``settings.agreement_fields`` or with a threshold
    below 2.
    """
    needed = settings.agreement_min_sources
    if needed < 2 or not settings.agreement_fields:
        return candidates.with_columns(pl.lit(None, pl.Int64).alias("agreement"))
    group = ("unified_id", "field")
    window = pl.duration(days=settings.agreement_window_days)
    # Two steps: a window inside another window's filter would see the inner group only.
    framed = candidates.with_columns(
        (pl.col("source_updated_at") >= pl.col("source_updated_at").max().over(group) - window)
        .fill_null(False)
        .alias("_current"),
        normalised_value(pl.col("value")).alias("_agreement_norm"),
    )
    # Whom an order went to is no source writing the customer's name: it is no witness.
    witness = pl.col("_current") & ~pl.col("role").is_in(ORDER_ROLES).fill_null(False)
    sources = (
        pl.when(witness)
        .then(pl.col("source_system"))
        .drop_nulls()
        .n_unique()
        .over(*group, "_agreement_norm")
        .cast(pl.Int64)
    )
    top = pl.col("field").replace_strict(
        dict(field_authority), default=None, return_dtype=pl.Float64
    )
    is_authority = (pl.col("authority") >= top).fill_null(False)
    agreed = pl.col("_sources") >= needed
    contested = agreed.any().over(group)
    key = (
        pl.when(contested & (agreed | is_authority))
        .then(pl.lit(needed, pl.Int64))
        .otherwise(pl.lit(1, pl.Int64))
    )
    in_scope = pl.col("field").is_in(list(settings.agreement_fields))
    return (
        framed.with_columns(sources.alias("_sources"))
        .with_columns(pl.when(in_scope).then(key).alias("agreement"))
        .drop("_current", "_agreement_norm", "_sources")
    )
