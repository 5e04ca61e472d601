"""Each source's export of a record: which value it holds and how it is written.

CRM and ERP write a company's full name (ERP mostly the invoice form with the
city in parentheses), the e-commerce shop often a nickname instead of a
person's name and a parcel's recipient and drop-off point instead of the
customer's own; the ticket system knows a requester (张先生, 'Wei Wang', 小王)
and, for a company, a short name or nothing. Every value is the one valid at
the record's time: older records hold older phones, e-mails, addresses, tiers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from bench import vocab
from bench.synthetic import noise
from bench.synthetic.draw import Draw
from bench.synthetic.places import pickup_points
from bench.synthetic.world import SOURCES, World

CANONICAL_COLUMNS: tuple[str, ...] = (
    "customer_type", "name", "contact_name", "email", "phone", "address", "postcode", "city",
    "region", "country", "industry", "size_band", "tax_id", "tier",
)  # fmt: skip
# How a company's name is written, per source (shares sum to 1).
COMPANY_FORMS = (
    "blank", "full", "paren", "nolegal", "noregion", "short", "english", "pinyin", "ime",
    "typo", "traditional",
)  # fmt: skip
COMPANY_FORM_SHARES = {
    "crm": (0, 0.40, 0.20, 0.10, 0.08, 0, 0.08, 0.03, 0.05, 0.03, 0.03),
    "erp": (0, 0.55, 0.30, 0, 0, 0, 0.05, 0, 0.03, 0.02, 0.05),
    "web": (0, 0.25, 0, 0.15, 0.10, 0.25, 0.10, 0, 0.10, 0.05, 0),
    "tickets": (0.25, 0.10, 0, 0, 0, 0.50, 0.08, 0.02, 0.05, 0, 0),
}
# How a person's name is written, per source.
PERSON_FORMS = ("full", "pinyin", "ime", "traditional", "typo", "nickname", "title", "given")
PERSON_FORM_SHARES = {
    "crm": (0.75, 0.10, 0.05, 0.03, 0.07, 0, 0, 0),
    "erp": (0.85, 0.07, 0.03, 0.03, 0.02, 0, 0, 0),
    "web": (0.45, 0.10, 0.05, 0, 0.05, 0.35, 0, 0),
    "tickets": (0.25, 0.20, 0, 0, 0, 0.15, 0.25, 0.15),
}
# Share of records of each source that carry a field at all.
PRESENCE = {
    "crm": {"tax_id": 0.25, "industry": 0.8, "size_band": 0.6, "tier": 0.9, "address": 0.75},
    "erp": {"tax_id": 0.85, "industry": 0.9, "size_band": 0.8, "tier": 0.95, "address": 0.9},
    "web": {"tax_id": 0.02, "industry": 0.1, "size_band": 0.05, "tier": 0.0, "address": 0.95},
    "tickets": {"tax_id": 0.0, "industry": 0.0, "size_band": 0.0, "tier": 0.0, "address": 0.0},
}
# Parcels of a shop order: the customer's own address, else work, a pick-up point or
# warehouse, or another person's home (a gift, a relative).
DELIVERY_SHARES = np.array([0.60, 0.15, 0.15, 0.10])
OTHER_RECIPIENT = 0.25


def _per_source(
    draw: Draw, source: np.ndarray, shares: Mapping[str, tuple[float, ...]]
) -> np.ndarray:
    """A category index per record, drawn from its source's shares."""
    table = np.array([shares[s] for s in SOURCES], dtype=np.float64)
    table /= table.sum(axis=1, keepdims=True)
    position = np.select([source == s for s in SOURCES], list(range(len(SOURCES))))
    cumulative = np.cumsum(table, axis=1)[position]
    return np.minimum(
        (draw.rng.random(len(source))[:, None] > cumulative).sum(axis=1), table.shape[1] - 1
    )


def _by_form(form: pl.Expr, forms: Mapping[str, pl.Expr]) -> pl.Expr:
    """The rendering whose index in COMPANY_FORMS ``form`` holds; null for 'blank'."""
    chosen: pl.Expr = pl.lit(None, pl.String)
    for name, rendering in forms.items():
        chosen = pl.when(form == COMPANY_FORMS.index(name)).then(rendering).otherwise(chosen)
    return chosen


def _keep(draw: Draw, source: np.ndarray, shares: dict[str, float]) -> pl.Expr:
    p = np.select([source == s for s in SOURCES], [shares[s] for s in SOURCES])
    return pl.lit(pl.Series(draw.chance(len(source), p)))


def _as_of(column: str, changed: str) -> pl.Expr:
    """The value valid at the record's time ``at``: the old one before the change."""
    return (
        pl.when((pl.col(changed) > 0) & (pl.col("at") < pl.col(changed)))
        .then(pl.col(f"{column}_old"))
        .otherwise(pl.col(column))
    )


def _requester(draw: Draw, n: int, prefix: str = "") -> dict[str, pl.Expr]:
    """The ways a person's name is written in a ticket or a shop: all candidates."""
    family, given = pl.col(f"{prefix}family"), pl.col(f"{prefix}given")
    family_latin, given_latin = pl.col(f"{prefix}family_latin"), pl.col(f"{prefix}given_latin")
    han = family.str.contains(r"^\p{Han}")
    female = pl.col(f"{prefix}female")
    english = pl.lit(draw.choose(n, vocab.CN_ENGLISH_NAMES))
    style = pl.lit(draw.uniform(n))
    nick_cn = (
        pl.when(style < 0.35)
        .then("小" + family)
        .when(style < 0.55)
        .then("老" + family)
        .when(style < 0.7)
        .then("阿" + given.str.slice(-1))
        .otherwise(english)
    )
    nickname = given.replace_strict(vocab.EN_NICKNAMES, default=given)
    return {
        "full": pl.when(han).then(family + given).otherwise(given + " " + family),
        "pinyin": pl.when(style < 0.5)
        .then(given_latin + " " + family_latin)
        .when(style < 0.8)
        .then(family_latin + " " + given_latin)
        .otherwise((family_latin + " " + given_latin).str.to_uppercase()),
        "title": pl.when(han)
        .then(family + pl.when(female).then(pl.lit("女士")).otherwise(pl.lit("先生")))
        .otherwise(pl.when(female).then(pl.lit("Ms. ")).otherwise(pl.lit("Mr. ")) + family),
        "given": pl.when(han & (given.str.len_chars() >= 2))
        .then(given)
        .when(han)
        .then(given_latin)
        .otherwise(given),
        "nickname": pl.when(han).then(nick_cn).otherwise(nickname),
    }


def _contact_names(draw: Draw, frame: pl.DataFrame, source: np.ndarray) -> pl.Series:
    n = frame.height
    forms = _requester(draw, n, "c_")
    form = _per_source(draw, source, PERSON_FORM_SHARES)
    # Outside tickets a contact is filed under the full name (now and then in pinyin).
    office = pl.lit(pl.Series(source != "tickets"))
    choice = pl.lit(pl.Series(form))
    expr = (
        pl.when(office & (choice == PERSON_FORMS.index("pinyin")))
        .then(forms["pinyin"])
        .when(office)
        .then(forms["full"])
    )
    for name in ("pinyin", "title", "given", "nickname"):
        expr = expr.when(choice == PERSON_FORMS.index(name)).then(forms[name])
    return frame.select(expr.otherwise(forms["full"]).alias("c")).to_series()


def companies(draw: Draw, world: World, records: pl.DataFrame) -> pl.DataFrame:
    """The company records as their sources export them."""
    n = records.height
    source = records["source"].to_numpy()
    firm = world.firms[records["row"].to_numpy()].drop("entity", "n_records")
    person = world.contacts[records["contact"].to_numpy()].select(pl.all().name.prefix("c_"))
    rec = pl.concat([records, firm, person], how="horizontal")
    rec = rec.with_columns(brand_ime=noise.ime_homophone(rec["brand"]))
    region, brand, term = pl.col("name_city"), pl.col("brand"), pl.col("term")
    legal, branch = pl.col("legal"), pl.col("branch")
    full = region + brand + term + legal + branch
    fullwidth = pl.lit(pl.Series(draw.chance(n, 0.5)))
    paren = (
        brand + term
        + pl.when(fullwidth).then("（" + region + "）").otherwise("(" + region + ")")
        + legal + branch
    )  # fmt: skip
    english_parts = [
        pl.col("brand_latin"),
        pl.col("term_en"),
        "(" + pl.col("name_city_latin") + ")",
        pl.lit(draw.choose(n, ("Co., Ltd.", "CO., LTD.", "CO LTD", "Co. Ltd"))),
        pl.col("branch_en"),
    ]
    english_title = pl.concat_str(english_parts, separator=" ").str.strip_chars()
    upper = pl.lit(pl.Series(draw.chance(n, 0.6)))
    english = pl.when(upper).then(english_title.str.to_uppercase()).otherwise(english_title)
    pinyin = pl.concat_str(
        [pl.col("name_city_latin"), pl.col("brand_latin"), pl.col("term_latin"),
         pl.col("legal_latin")],
        separator=" ",
    )  # fmt: skip
    with_trade = pl.lit(pl.Series(draw.chance(n, 0.6)))
    short = pl.when(with_trade).then(brand + term.str.slice(0, 2)).otherwise(brand)
    cn_forms = {
        "full": full,
        "paren": paren,
        "nolegal": region + brand + term + branch,
        "noregion": brand + term + legal + branch,
        "short": short,
        "english": english,
        "pinyin": pinyin,
        "ime": region + pl.col("brand_ime") + term + legal + branch,
        "typo": noise.typo(full, draw, n, latin=False),
        "traditional": pl.col("traditional"),
    }
    us_full = pl.col("en_brand") + " " + pl.col("en_word") + " " + pl.col("en_legal")
    abbreviated = us_full
    for long, short_word in vocab.EN_ABBREVIATIONS:
        abbreviated = abbreviated.str.replace(long, short_word, literal=True)
    legal_variant = us_full
    for long, variant in (("Inc.", "Incorporated"), ("LLC", "L.L.C."), ("Ltd", "Limited"),
                          ("Corp.", "Corporation")):  # fmt: skip
        legal_variant = legal_variant.str.replace(f" {long}", f" {variant}", literal=True)
    us_forms = {
        "full": us_full,
        "paren": legal_variant,
        "nolegal": pl.col("en_brand") + " " + pl.col("en_word"),
        "noregion": abbreviated,
        "short": pl.col("en_brand"),
        "english": us_full.str.to_uppercase(),
        "pinyin": us_full,
        "ime": noise.typo(us_full, draw, n),
        "typo": noise.typo(us_full, draw, n),
        "traditional": us_full,
    }
    form = pl.lit(pl.Series(_per_source(draw, source, COMPANY_FORM_SHARES)))
    rec = rec.with_columns(traditional=noise.traditional(rec.select(full.alias("f"))["f"]))
    cn_name, us_name = _by_form(form, cn_forms), _by_form(form, us_forms)
    name = pl.when(pl.col("chinese")).then(cn_name).otherwise(us_name)
    rec = rec.with_columns(contact_name=_contact_names(draw, rec, source))
    main_line = _as_of("main_line", "phone_changed_at")
    u = [pl.lit(draw.uniform(n)) for _ in range(4)]
    is_ = {s: pl.lit(pl.Series(source == s)) for s in SOURCES}
    generic = pl.lit(draw.choose(n, ("info", "sales", "service", "finance", "admin")))
    email = (
        pl.when(is_["erp"] & (u[0] < 0.2)).then(generic + "@" + pl.col("domain"))
        .when(is_["erp"] & (u[0] < 0.7)).then(pl.col("c_email"))
        .when(is_["crm"] & (u[0] < 0.05)).then(generic + "@" + pl.col("domain"))
        .when(is_["crm"] & (u[0] < 0.90)).then(pl.col("c_email"))
        .when(is_["web"] & (u[0] < 0.90)).then(pl.col("c_email"))
        # A ticket system keys every ticket on the requester's mailbox.
        .when(is_["tickets"]).then(pl.col("c_email"))
    )  # fmt: skip
    phone = (
        pl.when(is_["crm"] & (u[1] < 0.50)).then(pl.col("c_mobile"))
        .when(is_["crm"] & (u[1] < 0.85)).then(main_line)
        .when(is_["erp"] & (u[1] < 0.80)).then(main_line)
        .when(is_["web"] & (u[1] < 0.85)).then(pl.col("c_mobile"))
        .when(is_["tickets"] & (u[1] < 0.35)).then(pl.col("c_mobile"))
        .when(is_["tickets"] & (u[1] < 0.45)).then(main_line)
    )  # fmt: skip
    pickup = pickup_points(draw, rec)
    address = (
        pl.when(is_["web"] & (u[2] < 0.2))
        .then(pl.lit(pickup))
        .otherwise(_as_of("address", "address_changed_at"))
    )
    rec = rec.with_columns(
        pl.when(~is_["tickets"]).then(pl.lit("company")).alias("customer_type"),
        name.alias("name"),
        email.alias("email"),
        phone.alias("phone"),
        address.alias("address"),
        _as_of("postcode", "address_changed_at").alias("postcode"),
        _as_of("tier", "tier_changed_at").alias("tier"),
    )
    return _finish(draw, rec, source)


def persons(draw: Draw, world: World, records: pl.DataFrame) -> pl.DataFrame:
    """The person records as their sources export them."""
    n = records.height
    source = records["source"].to_numpy()
    rows = records["row"].to_numpy()
    own = world.persons[rows].drop("entity", "n_records")
    # The other recipient of a parcel: the person one lives with, else anyone.
    household = own["household_of"].to_numpy()
    chinese = world.persons["chinese"].to_numpy()
    anyone = np.zeros(n, dtype=np.int64)
    for script in (True, False):
        pool = np.flatnonzero(chinese == script)
        mine = chinese[rows] == script
        if len(pool):
            anyone[mine] = pool[draw.index(int(mine.sum()), len(pool))]
    other = world.persons[np.where(household >= 0, household, anyone)].select(
        pl.col("family").alias("c_family"),
        pl.col("given").alias("c_given"),
        pl.col("family_latin").alias("c_family_latin"),
        pl.col("given_latin").alias("c_given_latin"),
        pl.col("female").alias("c_female"),
        pl.col("phone").alias("c_phone"),
        pl.col("address").alias("c_address"),
    )
    rec = pl.concat([records, own, other], how="horizontal")
    forms = _requester(draw, n)
    full = forms["full"]
    nick_style = pl.lit(draw.uniform(n))
    taobao = "tb" + pl.lit(draw.unique(n, digits=9))
    shop_nick = (
        pl.when(nick_style < 0.4)
        .then(taobao)
        .when(pl.col("chinese") & (nick_style < 0.85))
        .then(
            pl.lit(draw.choose(n, vocab.SHOP_NICK_HEADS))
            + pl.lit(draw.choose(n, vocab.SHOP_NICK_TAILS))
            + pl.lit(pl.Series(draw.rng.integers(1, 999, n))).cast(pl.String)
        )
        .otherwise(
            pl.lit(draw.choose(n, vocab.EN_SHOP_NICKS))
            + "_"
            + pl.lit(pl.Series(draw.rng.integers(1, 9999, n))).cast(pl.String)
        )
    )
    form = pl.lit(pl.Series(_per_source(draw, source, PERSON_FORM_SHARES)))
    is_web = pl.lit(pl.Series(source == "web"))
    han = pl.col("family").str.contains(r"^\p{Han}")
    full_text = rec.select(full.alias("f"))["f"]
    rec = rec.with_columns(
        ime=noise.ime_homophone(full_text), traditional=noise.traditional(full_text)
    )
    name = (
        pl.when(form == PERSON_FORMS.index("pinyin")).then(forms["pinyin"])
        .when(form == PERSON_FORMS.index("ime")).then(pl.when(han).then("ime").otherwise(full))
        .when(form == PERSON_FORMS.index("traditional")).then("traditional")
        .when(form == PERSON_FORMS.index("typo"))
        .then(pl.when(han).then(full).otherwise(noise.typo(full, draw, n)))
        .when((form == PERSON_FORMS.index("nickname")) & is_web).then(shop_nick)
        .when(form == PERSON_FORMS.index("nickname")).then(forms["nickname"])
        .when(form == PERSON_FORMS.index("title")).then(forms["title"])
        .when(form == PERSON_FORMS.index("given")).then(forms["given"])
        .otherwise(full)
    )  # fmt: skip
    other_recipient = is_web & pl.lit(pl.Series(draw.chance(n, OTHER_RECIPIENT)))
    recipient = _requester(draw, n, "c_")["full"]
    delivery = pl.lit(pl.Series(draw.index(n, len(DELIVERY_SHARES), DELIVERY_SHARES)))
    home = _as_of("address", "address_changed_at")
    u = [pl.lit(draw.uniform(n)) for _ in range(3)]
    phone_keep = np.select([source == s for s in SOURCES], [0.75, 0.85, 0.9, 0.4])
    current_phone = _as_of("phone", "phone_changed_at")
    email_keep = np.select([source == s for s in SOURCES], [0.85, 0.6, 0.97, 0.98])
    rec = rec.with_columns(
        pl.when(~pl.lit(pl.Series(source == "tickets"))).then(pl.lit("person")).alias(
            "customer_type"
        ),
        name.alias("name"),
        pl.when(other_recipient)
        .then(recipient)
        .when(is_web & (u[0] < 0.8))
        .then(full)
        .alias("contact_name"),
        pl.when(pl.lit(pl.Series(draw.chance(n, email_keep))))
        .then(_as_of("email", "email_changed_at"))
        .alias("email"),
        pl.when(pl.lit(pl.Series(draw.chance(n, phone_keep))))
        .then(pl.when(other_recipient).then("c_phone").otherwise(current_phone))
        .alias("phone"),
        pl.when(is_web & (delivery == 1)).then("work_address")
        .when(is_web & (delivery == 2)).then(pl.lit(pickup_points(draw, rec)))
        .when(is_web & ((delivery == 3) | other_recipient)).then("c_address")
        .otherwise(home)
        .alias("address"),
        _as_of("postcode", "address_changed_at").alias("postcode"),
        _as_of("city", "address_changed_at").alias("city"),
        _as_of("region", "address_changed_at").alias("region"),
        _as_of("tier", "tier_changed_at").alias("tier"),
        pl.lit(None, pl.String).alias("industry"),
        pl.lit(None, pl.String).alias("size_band"),
        pl.lit(None, pl.String).alias("tax_id"),
    )  # fmt: skip
    return _finish(draw, rec, source)


def _finish(draw: Draw, rec: pl.DataFrame, source: np.ndarray) -> pl.DataFrame:
    """Blank what each source leaves out, format phones and e-mails, keep the columns."""
    n = rec.height
    keep = {f: _keep(draw, source, {s: PRESENCE[s][f] for s in SOURCES}) for f in PRESENCE["crm"]}
    located = keep["address"] | pl.lit(pl.Series(draw.chance(n, 0.3) & (source != "tickets")))
    return rec.select(
        "entity",
        "source",
        "at",
        "customer_type",
        "name",
        "contact_name",
        noise.email_case(draw, pl.col("email"), n).alias("email"),
        noise.format_phone(draw, pl.col("phone"), n).alias("phone"),
        pl.when(keep["address"]).then("address").alias("address"),
        pl.when(keep["address"]).then("postcode").alias("postcode"),
        pl.when(located).then("city").alias("city"),
        pl.when(located).then("region").alias("region"),
        pl.when(located).then("country").alias("country"),
        *(pl.when(keep[f]).then(f).alias(f) for f in ("industry", "size_band", "tax_id", "tier")),
    )
