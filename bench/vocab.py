"""Word lists for the synthetic benchmark sets.

The sample generator's vocabulary (``data/samples/generator/vocab.py``) is sized
for a few thousand customers; a million customers drawn from it would share
names far more often than real customers do. This module loads it (the file
is plain data) and widens it combinatorially: brands from pairs of syllables,
English surnames from stems and endings, Chinese brands from pairs of
characters. Everything is an ordered tuple, so a seed gives the same data.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from pypinyin import lazy_pinyin

SAMPLE_VOCAB = Path(__file__).resolve().parents[1] / "data" / "samples" / "generator" / "vocab.py"


@cache
def sample_vocab() -> ModuleType:
    """The sample generator's vocabulary module, loaded from its file."""
    spec = importlib.util.spec_from_file_location("_fusion_sample_vocab", SAMPLE_VOCAB)
    if spec is None or spec.loader is None:
        msg = f"cannot load the sample vocabulary from {SAMPLE_VOCAB}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


EN_BRAND_STEMS: tuple[str, ...] = (
    "North", "Blue", "Silver", "Iron", "Red", "Green", "Bright", "Clear", "Stone", "Oak",
    "Pine", "Star", "Sun", "Moon", "Sky", "River", "Lake", "Harbor", "Summit", "Golden",
    "Crystal", "Eagle", "Falcon", "Maple", "Cedar", "Coral", "Delta", "Apex", "Nova", "Vertex",
    "Quantum", "Atlas", "Orion", "Titan", "Pacific", "Atlantic", "Prime", "Swift", "True", "Bold",
    "Evergreen", "White", "Black", "Copper", "Granite", "Meadow", "Willow", "Aspen", "Frontier",
    "Pioneer", "Liberty", "Crown", "Royal", "Noble", "Urban", "Metro", "Global", "Key", "Bridge",
    "Lion",
)  # fmt: skip
EN_BRAND_ENDINGS: tuple[str, ...] = (
    "wind", "peak", "field", "stone", "bridge", "gate", "way", "point", "line", "crest",
    "view", "haven", "wood", "brook", "ridge", "light", "water", "land", "works", "port",
    "mark", "path", "shore", "dale", "ford", "star", "wave", "rock", "spring", "vale",
    "hill", "fort", "sight", "forge", "stream", "side", "bay", "moor", "glen", "leaf",
)  # fmt: skip
EN_COMPANY_WORDS: tuple[str, ...] = (
    "Logistics", "Software", "Technologies", "Systems", "Trading", "Foods", "Manufacturing",
    "Consulting", "Healthcare", "Capital", "Partners", "Retail", "Engineering", "Labs",
    "International Trading", "Analytics", "Energy", "Industries", "Solutions", "Media",
    "Pharmaceuticals", "Electronics", "Education", "Design", "Holdings", "Networks",
    "Management Services", "Medical Devices", "Precision Engineering", "Transport",
)  # fmt: skip
EN_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("International", "Intl"),
    ("Technologies", "Tech"),
    ("Engineering", "Eng"),
    ("Management", "Mgmt"),
    ("Systems", "Sys"),
    ("Manufacturing", "Mfg"),
    ("Pharmaceuticals", "Pharma"),
)
EN_FIRST_NAMES_EXTRA: tuple[str, ...] = (
    "Aaron", "Adam", "Alan", "Albert", "Alexander", "Alice", "Amanda", "Amy", "Andrea", "Angela",
    "Anna", "Anthony", "Arthur", "Ashley", "Barbara", "Benjamin", "Betty", "Brandon", "Brenda",
    "Brian", "Bruce", "Carl", "Carol", "Catherine", "Charles", "Cheryl", "Christina", "Christine",
    "Cynthia", "Daniel", "Deborah", "Debra", "Dennis", "Diana", "Donald", "Donna", "Dorothy",
    "Douglas", "Dylan", "Edward", "Elizabeth", "Emily", "Emma", "Eric", "Ethan", "Evelyn",
    "Frances", "Frank", "Gary", "George", "Gloria", "Grace", "Gregory", "Hannah", "Harold",
    "Heather", "Helen", "Henry", "Jack", "Jacob", "Jacqueline", "Janet", "Janice", "Jason",
    "Jean", "Jeffrey", "Jeremy", "Jerry", "Jesse", "Joan", "Joe", "Jonathan", "Jordan", "Joseph",
    "Joshua", "Joyce", "Judith", "Judy", "Julia", "Julie", "Justin", "Karen", "Katherine",
    "Kathleen", "Keith", "Kelly", "Kenneth", "Kevin", "Kimberly", "Kyle", "Larry", "Laura",
    "Lawrence", "Linda", "Lisa", "Logan", "Lori", "Madison", "Margaret", "Maria", "Marie",
    "Marilyn", "Mark", "Martha", "Mary", "Matthew", "Megan", "Melissa", "Nancy", "Natalie",
    "Nathan", "Nicholas", "Nicole", "Noah", "Olivia", "Pamela", "Patricia", "Patrick", "Paul",
    "Peter", "Philip", "Rachel", "Ralph", "Randy", "Raymond", "Rebecca", "Richard", "Robert",
    "Roger", "Ronald", "Rose", "Russell", "Ruth", "Ryan", "Samantha", "Samuel", "Sandra", "Sara",
    "Scott", "Sean", "Sharon", "Shirley", "Sophia", "Stephanie", "Stephen", "Steven", "Susan",
    "Teresa", "Terry", "Theresa", "Thomas", "Timothy", "Tyler", "Victoria", "Vincent", "Virginia",
    "Walter", "Wayne", "William", "Willie", "Zachary",
)  # fmt: skip
EN_SURNAME_STEMS: tuple[str, ...] = (
    "Ash", "Black", "Brad", "Brom", "Cald", "Craw", "Dun", "Els", "Fair", "Farn", "Good",
    "Green", "Hall", "Hart", "Hay", "Hol", "Kings", "Lang", "Lind", "Mans", "Mar", "Mid",
    "Mor", "New", "Nor", "Pen", "Rad", "Ren", "Rut", "Shel", "Stan", "Stock", "Sut", "Thorn",
    "Wal", "Wes", "Whit", "Wim", "Wood", "Yar",
)  # fmt: skip
EN_SURNAME_ENDINGS: tuple[str, ...] = (
    "ley", "ford", "ton", "well", "worth", "wood", "by", "field", "more", "den", "ham",
    "wick", "stead", "combe", "bury", "land", "brook", "cott", "dale", "mont",
)  # fmt: skip
EN_STREET_KINDS: tuple[tuple[str, str], ...] = (
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Boulevard", "Blvd"),
    ("Drive", "Dr"),
    ("Lane", "Ln"),
)
US_CITIES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("San Francisco", "California", ("415", "628"), "941"),
    ("New York", "New York", ("212", "646", "917"), "100"),
    ("Chicago", "Illinois", ("312", "773"), "606"),
    ("Seattle", "Washington", ("206",), "981"),
    ("Austin", "Texas", ("512",), "787"),
    ("Boston", "Massachusetts", ("617",), "021"),
    ("Denver", "Colorado", ("303", "720"), "802"),
    ("Atlanta", "Georgia", ("404", "678"), "303"),
    ("Portland", "Oregon", ("503",), "972"),
    ("Miami", "Florida", ("305", "786"), "331"),
)
EN_FREE_MAIL: tuple[str, ...] = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")
CN_FREE_MAIL: tuple[str, ...] = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com")
CN_MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158",
    "159", "186", "187", "188", "177", "183", "189", "199",
)  # fmt: skip
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def pinyin_of(text: str) -> str:
    """Pinyin syllables of ``text`` run together, capitalised: '星辰' -> 'Xingchen'."""
    return "".join(lazy_pinyin(text)).capitalize()


@cache
def cn_brand_chars() -> tuple[tuple[str, str], ...]:
    """Distinct characters of the sample's Chinese brands with their pinyin."""
    seen: dict[str, str] = {}
    for brand, _ in sample_vocab().CN_BRANDS:
        for char in brand:
            seen.setdefault(char, lazy_pinyin(char)[0].lower())
    return tuple(seen.items())


@cache
def cn_industry_words() -> tuple[tuple[str, str], ...]:
    """(Chinese, English) industry words of Chinese company names."""
    words: list[tuple[str, str]] = []
    for options in sample_vocab().CN_INDUSTRY_WORDS.values():
        words.extend(options)
    return tuple(words)


@cache
def en_first_names() -> tuple[str, ...]:
    """English given names: the sample's and more, without repeats, in a fixed order."""
    names = list(sample_vocab().EN_FIRST_NAMES)
    names += [n for n in EN_FIRST_NAMES_EXTRA if n not in names]
    return tuple(names)


@cache
def en_surnames() -> tuple[str, ...]:
    """English surnames: the sample's real ones plus stem+ending composites."""
    names = list(sample_vocab().EN_SURNAMES)
    names += [s + e for s in EN_SURNAME_STEMS for e in EN_SURNAME_ENDINGS]
    return tuple(dict.fromkeys(names))
