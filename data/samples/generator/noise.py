"""How people and systems mangle names, phones and e-mails.

Each function takes the clean value and returns one plausible variant. They
are the raw material; ``render`` decides per source how often to use which.
Ops marked HEAVY change a name enough that matching on the name alone gets
hard; ``render`` only applies them when the record still carries a reliable
e-mail or phone.
"""

from __future__ import annotations

import random

import opencc
import phonenumbers

from .identity import PersonName
from .vocab import CN_LEGAL_LATIN, CN_SIMILAR_CHARS, EN_ABBREVIATIONS, EN_LEGAL_VARIANTS
from .world import CompanyName

HEAVY = frozenset({"typo", "similar_char", "latin_rendering", "drop_city"})
_S2T = opencc.OpenCC("s2t")
KEYBOARD_NEIGHBOURS = {
    "a": "sq",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


def traditional(text: str) -> str:
    """Taiwan/Hong Kong keyboards, or an old CRM import: the whole name in traditional script."""
    return _S2T.convert(text)


def typo(rng: random.Random, text: str) -> str:
    """One slip of the finger in a Latin word: substitute, delete or transpose (never 1st char)."""
    positions = [i for i, c in enumerate(text) if c.isalpha() and c.isascii() and i > 0]
    if not positions:
        return text
    i = rng.choice(positions)
    op = rng.randrange(3)
    if op == 0:
        near = KEYBOARD_NEIGHBOURS.get(text[i].lower(), "e")
        repl = rng.choice(near)
        return text[:i] + (repl.upper() if text[i].isupper() else repl) + text[i + 1 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    j = i + 1 if i + 1 < len(text) and text[i + 1].isalpha() else i - 1
    if j <= 0:
        return text[:i] + text[i + 1 :]
    a, b = sorted((i, j))
    return text[:a] + text[b] + text[a] + text[b + 1 :]


def similar_char(rng: random.Random, text: str) -> str:
    """A homophone picked from the IME candidate list instead of the right character."""
    positions = [i for i, c in enumerate(text) if c in CN_SIMILAR_CHARS]
    if not positions:
        return text
    i = rng.choice(positions)
    return text[:i] + CN_SIMILAR_CHARS[text[i]] + text[i + 1 :]


def fullwidth(text: str) -> str:
    """ASCII letters and digits typed with a Chinese IME in full-width mode."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def extra_spaces(rng: random.Random, text: str) -> str:
    """A stray space inside, or padding around, the value."""
    if len(text) > 2 and rng.random() < 0.6:
        i = rng.randrange(1, len(text) - 1)
        return text[:i] + " " + text[i:]
    return rng.choice((" ", "  ", "")) + text + rng.choice((" ", "  "))


def cn_company_variant(rng: random.Random, name: CompanyName, op: str) -> str:
    """A Chinese company name as someone other than the registrar writes it."""
    branch = f"{name.branch_city}分公司" if name.branch_city else ""
    body = f"{name.brand}{name.word}"
    if op == "drop_legal":
        return f"{name.city}{body}{branch}"
    if op == "legal_variant":
        legal = {
            "有限公司": "有限责任公司",
            "有限责任公司": "有限公司",
            "股份有限公司": "股份公司",
        }[name.legal]
        return f"{name.city}{body}{legal}{branch}"
    if op == "city_in_brackets":
        return f"{body}（{name.city}）{name.legal}{branch}"
    if op == "drop_city":
        return f"{body}{name.legal}{branch}"
    if op == "latin_rendering":
        return cn_company_latin(rng, name)
    raise ValueError(op)


def cn_company_latin(rng: random.Random, name: CompanyName) -> str:
    """The English name Chinese companies print on business cards and web shops."""
    legal = rng.choice(CN_LEGAL_LATIN[name.legal])
    text = f"{name.city_latin} {name.brand_latin} {name.word_latin} {legal}"
    if name.branch_city:
        text += f" {name.branch_city_latin} Branch"
    return text


def en_company_variant(rng: random.Random, name: CompanyName, op: str) -> str:
    """An English company name with its legal form or words written differently."""
    base = f"{name.brand} {name.word}"
    if op == "drop_legal":
        return base
    if op == "legal_variant":
        return f"{base} {rng.choice(EN_LEGAL_VARIANTS[name.legal])}"
    if op == "abbreviation":
        for long, short in EN_ABBREVIATIONS:
            if long in base:
                return f"{base.replace(long, short)} {name.legal}"
        return f"{base} {rng.choice(EN_LEGAL_VARIANTS[name.legal])}"
    if op == "case":
        return rng.choice((name.full.upper(), name.full.lower()))
    if op == "typo":
        return typo(rng, name.full)
    raise ValueError(op)


def cn_person_latin(rng: random.Random, name: PersonName) -> str:
    """Pinyin as typed into a foreign web shop: either name order, sometimes upper-case family."""
    return rng.choice(
        (
            f"{name.family_latin} {name.given_latin}",
            f"{name.given_latin} {name.family_latin}",
            f"{name.family_latin.upper()} {name.given_latin}",
        )
    )


def en_person_variant(rng: random.Random, name: PersonName, op: str) -> str:
    """An English personal name as different systems store it."""
    if op == "initial":
        return f"{name.given[0]}. {name.family}"
    if op == "family_first":
        return f"{name.family}, {name.given}"
    if op == "case":
        return name.full.upper()
    if op == "typo":
        return typo(rng, name.full)
    raise ValueError(op)


def email_case(rng: random.Random, email: str) -> str:
    """Mailboxes are case-insensitive, so people type them any way they like."""
    local, domain = email.split("@")
    style = rng.randrange(3)
    if style == 0:
        return email.upper()
    if style == 1:
        return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
    return local.capitalize() + "@" + domain


def _group(digits: str, sizes: tuple[int, ...]) -> list[str]:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    if i < len(digits):
        parts[-1] += digits[i:]
    return parts


def format_phone(rng: random.Random, e164: str, style: str) -> str:
    """Render a true E.164 number the way a given kind of system or person writes it.

    ``style`` is "international" (always with country code), "national" (may
    drop it: only safe where the record also says which country) or "erp".
    """
    number = phonenumbers.parse(e164)
    nsn = phonenumbers.national_significant_number(number)
    cc = str(number.country_code)
    if cc == "86":
        return _format_cn(rng, nsn, style)
    options = [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        e164,
    ]
    if cc == "1":
        options.append(f"+1 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}")
    if style != "international":
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        options += [national, national]
        if cc == "1":
            options.append(f"{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}")
    return rng.choice(options)


def _format_cn(rng: random.Random, nsn: str, style: str) -> str:
    if len(nsn) == 11 and nsn.startswith("1"):  # mobile; Beijing landlines start with 10 too
        a, b, c = _group(nsn, (3, 4, 4))
        if style == "erp":
            return rng.choice((f"{a} {b} {c}", nsn, f"{a}-{b}-{c}"))
        return rng.choice(
            (nsn, nsn, f"{a} {b} {c}", f"+86 {a} {b} {c}", f"86-{nsn}", f"+86{nsn}", f"{a}-{b}-{c}")
        )
    area_len = 2 if nsn[:2] in ("10", "20", "21", "22", "23", "24", "25", "27", "28", "29") else 3
    area, local = nsn[:area_len], nsn[area_len:]
    half = len(local) - 4
    spaced = f"{local[:half]} {local[half:]}"
    dashed = f"{local[:half]}-{local[half:]}"
    if style == "erp":
        return rng.choice((f"0{area}-{spaced}", f"0{area}-{local}", f"0{area}-{spaced}"))
    return rng.choice(
        (
            f"0{area}-{spaced}",
            f"(0{area}) {dashed}",
            f"0{area}-{local}",
            f"+86 {area} {spaced}",
            f"0{area}{local}",
            f"86-{area}-{local}",
        )
    )
