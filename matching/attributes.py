"""Extra attributes a source config declares, as comparisons the model learns.

A user's export often carries evidence the canonical schema has no field for:
a person's birth place and occupation, a customer's own code in a partner's
system, a gender. The source config maps such a column to a named attribute
with a comparison kind (``attributes:`` in fusion.yaml); the connectors write
it as ``attribute_<name>``, standardisation cleans its text (``clean_attributes``)
and here each attribute becomes a comparison appended after the built-in ones.
So it enters EM with its own m and u per level, its weights show in
``match_evidence`` and ``fusion explain`` like any other, and an agreement on a
common value ('london', 'politician') weighs what its frequency says
(term-frequency adjusted, as the city is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz.distance import JaroWinkler

from matching.comparisons import (
    MISSING,
    Comparison,
    DateAgreement,
    ExactMatch,
    ExactOrFuzzy,
    PairFrame,
    _bucket,
    _cpdist,
    default_comparisons,
)
from matching.settings import ATTRIBUTE_KINDS, MatchSettings
from matching.standardise.attributes import attribute_column
from matching.standardise.dates import parse_birth_date_expr


def as_number(text: pl.Expr) -> pl.Expr:
    """A number written with thousands separators or spaces ('1,250') as a float, else null."""
    return text.str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False)


@dataclass(frozen=True)
class JaroWinklerLevels:
    """Exact, else Jaro-Winkler similarity levels: short words with typos ('devon' / 'devn')."""

    name: str
    column: str
    thresholds: tuple[float, ...] = (0.88, 0.95)
    tf_column: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return (f"jw<{self.thresholds[0]}", *(f"jw>={t}" for t in self.thresholds), "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        left, right, present = pairs.texts(self.column)
        score = _cpdist(left, right, JaroWinkler.normalized_similarity)
        level = _bucket(score, present, self.thresholds)
        level[pairs.equal(self.column)] = len(self.thresholds) + 1
        return level


@dataclass(frozen=True)
class DateAttribute(DateAgreement):
    """A date attribute, compared as birth dates are; a value that does not parse is missing."""

    valid_column: str = ""

    def dates(self) -> pl.Expr:
        return parse_birth_date_expr(pl.col(self.column))


@dataclass(frozen=True)
class NumericCloseness:
    """Equal, else within ``relative`` of the larger, else different; unparsed is missing."""

    name: str
    column: str
    relative: float = 0.1
    tf_column: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return ("different", f"within_{self.relative:g}", "exact")

    def levels(self, pairs: PairFrame) -> np.ndarray:
        left, right = pairs.sides(as_number(pl.col(self.column)))
        a, b = left.to_numpy(), right.to_numpy()
        present = (left.is_not_null() & right.is_not_null()).to_numpy()
        with np.errstate(invalid="ignore"):
            close = np.abs(a - b) <= self.relative * np.maximum(np.abs(a), np.abs(b))
        level = np.where(a == b, 2, np.where(close, 1, 0)).astype(np.int8)
        level[~present] = MISSING
        return level


def attribute_comparison(name: str, kind: str) -> Comparison:
    """The comparison of one declared attribute."""
    column = attribute_column(name)
    if kind == "exact":
        return ExactMatch(name, column, tf_column=column)
    if kind == "levenshtein":
        return ExactOrFuzzy(name, column, tf_column=column)
    if kind == "jaro_winkler":
        return JaroWinklerLevels(name, column, tf_column=column)
    if kind == "date":
        return DateAttribute(name=name, column=column)
    if kind == "numeric":
        return NumericCloseness(name, column)
    msg = f"attribute {name!r}: unknown comparison kind {kind!r}; known: {ATTRIBUTE_KINDS}"
    raise ValueError(msg)


def run_comparisons(settings: MatchSettings) -> tuple[Comparison, ...]:
    """The run's comparisons: the built-in ones, then each declared attribute's in order."""
    return (
        *default_comparisons(name_aliases=settings.name_aliases),
        *(attribute_comparison(name, kind) for name, kind in settings.attributes.items()),
    )
