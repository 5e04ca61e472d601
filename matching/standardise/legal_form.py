"""Split the legal form off company names into its own field.

'上海星辰贸易有限公司', '上海星辰贸易' and 'Shanghai Xingchen Trading Co., Ltd.'
differ mostly in their legal form, which says little about identity. The form
is kept in ``legal_form`` (canonical code) and removed from ``name_key``. A
branch marker such as 分公司 is NOT a legal form: a branch is its own customer,
so it stays in the key.
"""

from __future__ import annotations

import polars as pl

# (pattern, canonical code). Chinese forms may sit mid-name ('...有限公司杭州分公司').
CHINESE_LEGAL_FORMS: tuple[tuple[str, str], ...] = (
    ("股份有限公司", "joint_stock"),
    ("有限责任公司", "ltd"),
    ("有限公司", "ltd"),
    ("(有限合伙)", "partnership"),
)
# Latin forms only at the end of the name, case-insensitive; longest alternatives first.
LATIN_LEGAL_FORMS: tuple[tuple[str, str], ...] = (
    (r"(?i)[\s,]*\bco(mpany)?\.?,?\s*(ltd|limited)\.?$", "ltd"),
    (r"(?i)[\s,]*\bpte\.?\s*(ltd|limited)\.?$", "ltd"),
    (r"(?i)[\s,]*\bpty\.?\s*(ltd|limited)\.?$", "ltd"),
    (r"(?i)[\s,]*\b(ltd|limited)\.?$", "ltd"),
    (r"(?i)[\s,]*\b(inc|incorporated)\.?$", "inc"),
    (r"(?i)[\s,]*\b(corp|corporation)\.?$", "inc"),
    (r"(?i)[\s,]*\b(llc|l\.l\.c\.)$", "llc"),
    (r"(?i)[\s,]*\bgmbh$", "gmbh"),
    (r"(?i)[\s,]*\bag$", "ag"),
    (r"(?i)[\s,]*\bplc$", "plc"),
)


def _legal_form_code(name: pl.Expr) -> pl.Expr:
    branches = [(name.str.contains(p, literal=True), code) for p, code in CHINESE_LEGAL_FORMS]
    branches += [(name.str.contains(p), code) for p, code in LATIN_LEGAL_FORMS]
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for condition, code in reversed(branches):
        expr = pl.when(condition).then(pl.lit(code)).otherwise(expr)
    return expr


def _strip_legal_forms(name: pl.Expr) -> pl.Expr:
    for pattern, _ in CHINESE_LEGAL_FORMS:
        name = name.str.replace_all(pattern, "", literal=True)
    for pattern, _ in LATIN_LEGAL_FORMS:
        name = name.str.replace(pattern, "")
    return name


def name_key_expr(name: pl.Expr) -> pl.Expr:
    """Comparable key: legal form removed, lower-case, punctuation to spaces; no spaces in CJK."""
    stripped = _strip_legal_forms(name).str.to_lowercase()
    words = stripped.str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()
    # Chinese is written without spaces; '星辰 贸易' and '星辰贸易' are the same name.
    no_cjk_spaces = words.str.replace_all(r"(\p{Han}) (\p{Han})", "$1$2").str.replace_all(
        r"(\p{Han}) (\p{Han})", "$1$2"
    )
    return pl.when(no_cjk_spaces == "").then(None).otherwise(no_cjk_spaces)


def split_legal_form(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: add ``legal_form``, ``name_key`` and ``contact_key``; ``name`` is unchanged.

    A person has no contact person: on a person's own record ``contact_name`` is
    whom the order went to (a shop's 收货人: the person themself, or someone else
    receiving the parcel). It gets no ``contact_key``, so matching never reads it:
    sources that repeat the person's own name as contact would otherwise count the
    name twice, as name and as contact evidence. The value itself is kept for
    survivorship, which tells a parcel's other recipient by it
    (``lineage.roles``: their phone and address are not the customer's) and puts
    no contact on a person's golden record.
    """
    name = pl.col("name")
    is_person = pl.col("customer_type") == "person"
    return frame.with_columns(
        _legal_form_code(name).alias("legal_form"),
        name_key_expr(name).alias("name_key"),
        pl.when(is_person)
        .then(None)
        .otherwise(name_key_expr(pl.col("contact_name")))
        .alias("contact_key"),
    )
