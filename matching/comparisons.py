"""Comparisons that declare, score and explain themselves.

Like Splink's comparison creators, each comparison knows which columns it
reads, how to compute its level for many pairs at once (rapidfuzz ``cpdist``
over the pair list, or vectorised equality) and how to label each level for
``match_evidence``. Level -1 means "a value is missing": it carries no weight.
Higher levels always mean "more alike", which the model relies on to keep
weights monotone in similarity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol, Self

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from matching.aliases import NameAliases, alias_key_expr
from matching.semantic import cosine_of_pairs

MISSING = -1

# The evidence group of the postcode and the city: a shared postcode implies a
# shared city, so the model's seed and its weights count them once. The street
# address is not in it: within one postcode it still tells sites apart (pooled
# with the postcode, chicago_childcare's pairwise F1 fell from 0.932 to 0.918).
LOCATION = "location"


@dataclass(frozen=True)
class PairFrame:
    """Candidate pairs as two record_index arrays over the standardised frame.

    Columns are gathered for both sides only when a comparison asks for them,
    one column at a time, so scoring millions of pairs never materialises a
    copy of every standardised column per pair.
    """

    std: pl.DataFrame
    left_index: np.ndarray
    right_index: np.ndarray
    name_vectors: object

    @classmethod
    def build(
        cls, std: pl.DataFrame, left: np.ndarray, right: np.ndarray, *, name_vectors: object
    ) -> PairFrame:
        """Pairs over ``std`` (left/right are record_index arrays)."""
        return cls(std, np.asarray(left), np.asarray(right), name_vectors)

    def __len__(self) -> int:
        return len(self.left_index)

    def slice(self, start: int, stop: int) -> PairFrame:
        """The pairs ``start:stop`` (for chunked scoring)."""
        return PairFrame(
            self.std, self.left_index[start:stop], self.right_index[start:stop], self.name_vectors
        )

    def subset(self, mask: np.ndarray) -> Self:
        """The pairs where ``mask`` holds, in order (a frame of the same kind)."""
        return replace(self, left_index=self.left_index[mask], right_index=self.right_index[mask])

    def sides(self, column: str | pl.Expr) -> tuple[pl.Series, pl.Series]:
        """The column (or expression over ``std``) for the left and the right records."""
        expr = pl.col(column) if isinstance(column, str) else column
        values = self.std.select(expr.alias("v"))["v"]
        return values.gather(self.left_index), values.gather(self.right_index)

    def equal(self, column: str | pl.Expr) -> np.ndarray:
        """Where both sides are present and equal (vectorised)."""
        left, right = self.sides(column)
        return (left == right).fill_null(False).to_numpy()

    def present(self, column: str) -> np.ndarray:
        """Where both sides hold a value."""
        left, right = self.sides(column)
        return (left.is_not_null() & right.is_not_null()).to_numpy()

    def texts(self, column: str) -> tuple[list[str], list[str], np.ndarray]:
        """Both sides as lists of strings ('' for null) and the mask where both exist."""
        lcol, rcol = self.sides(column)
        present = (lcol.is_not_null() & rcol.is_not_null()).to_numpy()
        return lcol.fill_null("").to_list(), rcol.fill_null("").to_list(), present


class Comparison(Protocol):
    """A named comparison with ordered levels.

    ``tf_column``: when set, agreement at the top level is term-frequency
    adjusted by how common the agreed value of that column is.
    """

    @property
    def name(self) -> str:
        """Name of the comparison; prefixes its match_evidence columns."""
        ...

    @property
    def tf_column(self) -> str | None:
        """Column whose value frequency adjusts top-level agreement, if any."""
        ...

    @property
    def labels(self) -> tuple[str, ...]:
        """Label of each level; index = level."""
        ...

    def levels(self, pairs: PairFrame) -> np.ndarray:
        """Level per pair (int8), -1 where a value is missing."""
        ...


def _bucket(scores: np.ndarray, present: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Level = number of thresholds reached (thresholds in descending order)."""
    level = np.zeros(len(scores), dtype=np.int8)
    for threshold in thresholds:
        level += (scores >= threshold).astype(np.int8)
    level[~present] = MISSING
    return level


def _cpdist(left: list[str], right: list[str], scorer: Any) -> np.ndarray:
    if not left:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(process.cpdist(left, right, scorer=scorer, workers=-1), dtype=np.float32)


# The name level of a short form: one name key is the other's brand without its region,
# industry words or legal form ('致光健康' / '宁波致光健康科技', 'royaldale' / 'royaldale design').
SHORT_FORM = "short_form"
HAN_CHARACTER = r"[\u3400-\u9fff]"


def _short_form_of_the_other(left: list[str], right: list[str]) -> np.ndarray:
    """Per pair: one Chinese name key of two or more characters is contained in the other.

    Chinese companies are named region + brand + industry + legal form, and a
    ticket or an order names the brand alone ('致光健康' for 宁波致光健康科技有限公司).
    Latin names are left out: there a contained name is as often another site of
    one organisation ('mary crane league' / 'mary crane league mary crane west',
    different customers on chicago_childcare) as a short form.
    """
    pairs = pl.DataFrame({"a": left, "b": right}, schema={"a": pl.String, "b": pl.String})
    a_shorter = pl.col("a").str.len_chars() <= pl.col("b").str.len_chars()
    short = pl.when(a_shorter).then(pl.col("a")).otherwise(pl.col("b"))
    long = pl.when(a_shorter).then(pl.col("b")).otherwise(pl.col("a"))
    contained = (
        (short.str.len_chars() >= 2)
        & (short != long)
        & short.str.contains(HAN_CHARACTER)
        & long.str.contains(short, literal=True)
    )
    return pairs.select(contained.fill_null(False))[:, 0].to_numpy()


@dataclass(frozen=True)
class NameSimilarity:
    """Best of three name similarities, with exact key agreement as its own level.

    - Levenshtein (Indel) ratio of the name keys: typos, dropped legal forms;
    - the same ratio on the romanised, token-sorted names: '王伟' / 'Wei Wang',
      '上海星辰贸易' / 'Shanghai Xingchen Trading';
    - cosine of the TF-IDF name embeddings (matching.semantic): reordered and
      abbreviated names, weighted by how distinctive the shared n-grams are.

    They are folded into one comparison because they measure the same thing:
    as separate Fellegi-Sunter comparisons their evidence would be counted
    twice. Jaro-Winkler is not used: its prefix bonus rates every pair of
    companies from one city ('上海星辰贸易' / '上海华拓科技') as similar.
    Exact agreement is term-frequency adjusted on ``name_key`` (a shared
    'Michael Brown' says less than a shared '上海星辰贸易').

    With an alias table (``aliases``, see matching.aliases), two names the
    table makes one ('IBM' / 'International Business Machines') are rated at
    the top similarity level, however unlike they are spelt: the table is a
    steward's word that they are the same name, not that the same literal
    name was typed twice, so they do not get ``exact_key`` and its
    term-frequency adjustment.
    """

    name: str = "name"
    thresholds: tuple[float, ...] = (0.70, 0.85, 0.93)
    tf_column: str | None = "name_key"
    aliases: NameAliases | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return (
            f"sim<{self.thresholds[0]}",
            *(f"sim>={t}" for t in self.thresholds[:-1]),
            SHORT_FORM,
            f"sim>={self.thresholds[-1]}",
            "exact_key",
        )

    def levels(self, pairs: PairFrame) -> np.ndarray:
        present = pairs.present("name_key")
        same_key = pairs.equal("name_key")
        # Equal keys get the top level whatever the similarities say: scored are the others.
        todo = present & ~same_key
        fuzzy = pairs.subset(todo)
        lkey, rkey, _ = fuzzy.texts("name_key")
        llat, rlat = fuzzy.sides(pl.col("name_latin_sorted").str.replace_all(" ", "").fill_null(""))
        key_score = _cpdist(lkey, rkey, fuzz.ratio) / 100.0
        latin_score = _cpdist(llat.to_list(), rlat.to_list(), fuzz.ratio) / 100.0
        cosine = cosine_of_pairs(fuzzy.name_vectors, fuzzy.left_index, fuzzy.right_index)
        best = np.zeros(len(pairs), dtype=np.float32)
        best[todo] = np.maximum(np.maximum(key_score, latin_score), cosine)
        level = _bucket(best, present, self.thresholds)
        # Room for the short-form level below the top similarity level.
        level[level == len(self.thresholds)] += 1
        short = np.zeros(len(pairs), dtype=bool)
        short[todo] = _short_form_of_the_other(lkey, rkey)
        short_level = len(self.thresholds) - 1 + 1
        level[short & (level < short_level)] = short_level
        if self.aliases is not None:
            level[pairs.equal(alias_key_expr(self.aliases))] = len(self.thresholds) + 1
        level[same_key] = len(self.thresholds) + 2
        return level


def _ratio_where_unequal(
    pairs: PairFrame, column: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(both present, equal, Levenshtein ratio 0-1 of the present unequal pairs, else 0)."""
    present = pairs.present(column)
    same = pairs.equal(column)
    todo = present & ~same
    left, right, _ = pairs.subset(todo).texts(column)
    score = np.zeros(len(pairs), dtype=np.float32)
    score[todo] = _cpdist(left, right, fuzz.ratio) / 100.0
    return present, same, score


@dataclass(frozen=True)
class ExactOrFuzzy:
    """Exact agreement, else a Levenshtein-ratio level, on one column."""

    name: str
    column: str
    fuzzy_threshold: float = 0.85
    tf_column: str | None = None
    evidence_group: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", f"lev>={self.fuzzy_threshold}", "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        present, same, score = _ratio_where_unequal(pairs, self.column)
        level = _bucket(score, present, (self.fuzzy_threshold,))
        level[same] = 2
        return level


@dataclass(frozen=True)
class EmailAgreement:
    """Same address; else one typo; else the same company domain; else different.

    One comparison, because the levels are one fact seen at finer grain: two
    equal addresses share their domain. Two different addresses on one company
    domain (``company_domain``: free-mail providers excluded) are two people of
    one company, which is its own level with its own m and u: as separate
    comparisons, "different address" counted against the pair that "same
    company domain" counted for, and a contact's ticket lost the company it
    writes for.
    """

    name: str = "email"
    column: str = "email"
    domain_column: str = "company_domain"
    fuzzy_threshold: float = 0.85
    tf_column: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", "same_company_domain", f"lev>={self.fuzzy_threshold}", "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        present, same, score = _ratio_where_unequal(pairs, self.column)
        level = np.zeros(len(pairs), dtype=np.int8)
        level[pairs.equal(self.domain_column)] = 1
        level[score >= self.fuzzy_threshold] = 2
        level[same] = 3
        level[~present] = MISSING
        return level


def phone_digits() -> pl.Expr:
    """A phone's digits: what the phone comparison's "exact" level and the phone rule compare."""
    return pl.col("phone").str.replace_all(r"\D", "")


@dataclass(frozen=True)
class PhoneAgreement:
    """Same E.164 number; else same last seven digits (a re-typed area code)."""

    name: str = "phone"
    tf_column: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", "last7_equal", "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        digits = phone_digits()
        level = np.zeros(len(pairs), dtype=np.int8)
        level[pairs.equal(pl.when(digits.str.len_chars() >= 7).then(digits.str.slice(-7)))] = 1
        level[pairs.equal(digits)] = 2
        level[~pairs.present("phone")] = MISSING
        return level


@dataclass(frozen=True)
class ExactMatch:
    """Two levels: equal or not."""

    name: str
    column: str
    tf_column: str | None = None
    evidence_group: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        level = pairs.equal(self.column).astype(np.int8)
        level[~pairs.present(self.column)] = MISSING
        return level


@dataclass(frozen=True)
class ExactOrOneEdit:
    """Exact agreement, else at most one typing error: an identifier typed twice.

    The error is counted by optimal string alignment (Damerau-Levenshtein
    without repeated edits of one substring): one wrong, missing or extra
    character, or two neighbours swapped ('6503115' / '6503215', '6503115' /
    '6053115'). A social security or credit code number that close is rarely
    someone else's. A ratio threshold (``ExactOrFuzzy``) would mean a
    different number of errors for a 7-digit number and an 18-character
    credit code; one edit means one typing error at any length.
    """

    name: str
    column: str
    tf_column: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", "one_edit", "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        present = pairs.present(self.column)
        same = pairs.equal(self.column)
        todo = present & ~same
        left, right, _ = pairs.subset(todo).texts(self.column)
        level = np.zeros(len(pairs), dtype=np.int8)
        level[todo] = _cpdist(left, right, OSA.distance) <= 1
        level[same] = 2
        level[~present] = MISSING
        return level


@dataclass(frozen=True)
class DateAgreement:
    """Same date; else one typing error in its digits, or day and month swapped.

    Reads ISO dates (``YYYY-MM-DD``) where ``valid_column`` holds, so a date
    that did not parse counts as missing, not as different. One edit of the
    eight digits covers a mistyped digit ('1956-02-23' / '1956-02-28') and two
    swapped neighbours ('1956-02-23' / '1965-02-23'); the day-month swap
    ('1956-02-03' / '1956-03-02') is a US export read as European or back.
    """

    name: str = "birth_date"
    column: str = "birth_date"
    valid_column: str = "birth_date_valid"
    tf_column: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", "one_edit_or_day_month_swapped", "exact")

    def dates(self) -> pl.Expr:
        """The ISO date of each record, null where it is missing or did not parse."""
        return pl.when(pl.col(self.valid_column)).then(pl.col(self.column))

    def levels(self, pairs: PairFrame) -> np.ndarray:
        date = self.dates()
        left, right = pairs.sides(date.str.replace_all("-", ""))
        present = (left.is_not_null() & right.is_not_null()).to_numpy()
        edits = _cpdist(left.fill_null("").to_list(), right.fill_null("").to_list(), OSA.distance)
        swapped, _ = pairs.sides(
            pl.concat_str(date.str.slice(0, 4), date.str.slice(8, 2), date.str.slice(5, 2))
        )
        level = ((edits <= 1) | (swapped == right).fill_null(False).to_numpy()).astype(np.int8)
        level[(left == right).fill_null(False).to_numpy()] = 2
        level[~present] = MISSING
        return level


@dataclass(frozen=True)
class TokenSetSimilarity:
    """rapidfuzz token_set_ratio levels: word order and extra words forgiven.

    ``house_numbers``: two addresses whose first numbers differ by more than one
    typing error are two buildings of one street, whatever else they share
    ('1711 w 35th st' / '1723 w 35th st', '东方路1377号' / '东方路1233号'): the
    lowest level. Token similarity alone put two sites of one organisation
    a few doors apart at the top level.
    """

    name: str
    column: str
    thresholds: tuple[float, ...] = (0.7, 0.9)
    tf_column: str | None = None
    evidence_group: str | None = None
    house_numbers: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return (f"tokens<{self.thresholds[0]}", *(f"tokens>={t}" for t in self.thresholds))

    def levels(self, pairs: PairFrame) -> np.ndarray:
        left, right, present = pairs.texts(self.column)
        score = _cpdist(left, right, fuzz.token_set_ratio) / 100.0
        if self.house_numbers:
            score[_other_building(pairs, self.column)] = 0.0
        return _bucket(score, present, self.thresholds)


def _other_building(pairs: PairFrame, column: str) -> np.ndarray:
    """Pairs whose first numbers (the house number) are both present and over one edit apart."""
    # A number standing alone (not '35th', not 'A12'): '1377' in '东方路1377号' too.
    number = pl.col(column).str.extract(r"(?:^|[^\p{Latin}\d])(\d+)(?:[^\p{Latin}\d]|$)", 1)
    left, right = pairs.sides(number)
    both = (left.is_not_null() & right.is_not_null()).to_numpy()
    conflict = np.zeros(len(pairs), dtype=bool)
    if both.any():
        a = left.filter(pl.Series(both)).to_list()
        b = right.filter(pl.Series(both)).to_list()
        conflict[both] = _cpdist(a, b, OSA.distance) > 1
    return conflict


def default_comparisons(*, name_aliases: NameAliases | None = None) -> tuple[Comparison, ...]:
    """The comparisons of the default model, in match_evidence column order.

    ``name_aliases``: the run's alias table (``MatchSettings.name_aliases``),
    read by the name comparison; it adds no comparison and no level. A run's
    declared attributes follow these (``matching.attributes.run_comparisons``).
    """
    return (
        NameSimilarity(aliases=name_aliases),
        EmailAgreement(),
        PhoneAgreement(),
        ExactOrOneEdit("tax_id", "tax_id"),
        TokenSetSimilarity("contact", "contact_latin_sorted"),
        # Term-frequency adjusted: a parcel forwarder or a warehouse that many customers
        # ship to is agreement by chance (B2B generator at 100k: a 21-record cluster, 8 true).
        TokenSetSimilarity("address", "address_key", tf_column="address_key", house_numbers=True),
        ExactMatch("postcode", "postcode", evidence_group=LOCATION),
        ExactMatch("city", "city_key", tf_column="city_key", evidence_group=LOCATION),
        # Last, so that adding it left every earlier match_evidence column in place.
        DateAgreement(),
    )


def comparison_levels(
    pairs: PairFrame, comparisons: tuple[Comparison, ...], *, chunk_pairs: int = 1_000_000
) -> np.ndarray:
    """Level matrix (pairs x comparisons), int8, computed ``chunk_pairs`` pairs at a time.

    Chunking keeps the gathered strings of one chunk alive at a time, so memory
    stays flat however many candidate pairs there are.
    """
    levels = np.zeros((len(pairs), len(comparisons)), dtype=np.int8)
    if not comparisons:
        return levels
    for start in range(0, len(pairs), chunk_pairs):
        chunk = pairs.slice(start, start + chunk_pairs)
        for k, comparison in enumerate(comparisons):
            levels[start : start + len(chunk), k] = comparison.levels(chunk)
    return levels
