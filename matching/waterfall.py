"""The match-weight waterfall of one pair, computed by the run's own scoring code.

Levels and weights come from ``comparison_levels`` and ``score_pairs`` on a
one-pair ``PairFrame``, with the run's name vectors and term-frequency
population, so they equal what a run stores in ``match_evidence``; each weight
is then split into its level's log2 Bayes factor and the term-frequency
adjustment. Pure functions over frames: no warehouse, no Dagster. Reading a
release to explain a pair is ``pipelines.stewardship.explain``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from matching.blocked_evidence import IMPLIED, without_implied_evidence
from matching.comparisons import MISSING, Comparison, PairFrame, comparison_levels
from matching.linkage import score_with_term_frequencies
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf, PrecomputedVectors
from matching.semantic import TfidfCharNgramEmbedder, embed_names, name_embedding_text
from matching.settings import MatchSettings

# A TF adjustment smaller than the 4-decimal rounding of match_evidence is no adjustment.
_TF_EPSILON = 5e-4


@dataclass(frozen=True)
class ComparisonStep:
    """One bar of the waterfall: a comparison's level and what it added to the weight."""

    comparison: str
    level: str
    column: str | None
    left_value: str | None
    right_value: str | None
    bayes_factor_log2: float
    tf_adjustment_log2: float
    weight: float
    cumulative_weight: float


def run_name_vectors(std: pl.DataFrame, *, statistics: NameIdf | None) -> object:
    """The name vectors the run scored with, in ``record_index`` order.

    A run embeds names with the statistics stored beside its model
    (``matching.incremental.match_in_full``); a release from before those were
    stored used ``match_records``' default, TF-IDF fitted on all of its names.
    """
    if statistics is None:
        return embed_names(std, embedder=TfidfCharNgramEmbedder())
    vectors = statistics.embed(name_embedding_text(std))
    return embed_names(std, embedder=PrecomputedVectors(vectors))


@dataclass(frozen=True)
class Waterfall:
    """How one pair's match weight builds up, from the prior through every comparison."""

    prior_weight: float
    steps: tuple[ComparisonStep, ...]
    match_weight: float
    match_probability: float
    decision: str


def pair_waterfall(
    std: pl.DataFrame,
    left: int,
    right: int,
    *,
    model: FellegiSunterModel,
    settings: MatchSettings,
    comparisons: tuple[Comparison, ...],
    name_vectors: object,
    tf_population: int | None = None,
    blocking_rules: str | None = None,
) -> Waterfall:
    """Score records ``left`` and ``right`` of ``std`` exactly as a run does, step by step.

    The levels and weights are those of ``score_pairs`` (the run's own code);
    each weight is split into the level's log2 Bayes factor and the rest, the
    term-frequency adjustment. ``left`` should be the lower ``record_index``,
    as in a run's candidate pairs; ``tf_population`` is the denominator of
    term-frequency shares the run used (see ``pair_term_frequencies``);
    ``blocking_rules``: the rules that found the pair in the run ('birth_date,email'),
    whose implied agreement the run did not count (``matching.blocked_evidence``).
    """
    pairs = PairFrame.build(
        std, np.array([left], dtype=np.uint32), np.array([right], dtype=np.uint32),
        name_vectors=name_vectors,
    )  # fmt: skip
    levels = without_implied_evidence(
        comparison_levels(pairs, comparisons), pl.Series([blocking_rules or ""]), comparisons
    )
    scored = score_with_term_frequencies(
        std,
        pairs,
        levels,
        model=model,
        comparisons=comparisons,
        settings=settings,
        tf_population=tf_population,
    ).row(0, named=True)
    # The weight every pair starts from: the log2 prior odds of a match.
    prior = math.log2(model.prior / (1.0 - model.prior))
    cumulative = prior
    steps = []
    for k, comparison in enumerate(comparisons):
        level = int(levels[0, k])
        weight = float(scored[f"{comparison.name}_weight"])
        counted = level not in (MISSING, IMPLIED)
        base = float(model.levels[k].bayes_factors_log2[level]) if counted else 0.0
        adjustment = weight - base if abs(weight - base) > _TF_EPSILON else 0.0
        cumulative += weight
        column = _compared_column(comparison, std)
        values = [None, None] if column is None else [std[column][left], std[column][right]]
        steps.append(
            ComparisonStep(
                comparison=comparison.name,
                level=str(scored[f"{comparison.name}_level"]),
                column=column,
                left_value=None if values[0] is None else str(values[0]),
                right_value=None if values[1] is None else str(values[1]),
                bayes_factor_log2=round(base, 4),
                tf_adjustment_log2=round(adjustment, 4),
                weight=weight,
                cumulative_weight=round(cumulative, 4),
            )
        )
    return Waterfall(
        prior_weight=round(prior, 4),
        steps=tuple(steps),
        match_weight=float(scored["match_weight"]),
        match_probability=float(scored["match_probability"]),
        decision=str(scored["decision"]),
    )


def _compared_column(comparison: Comparison, std: pl.DataFrame) -> str | None:
    """The standardised column a comparison reads, for showing both values."""
    column = getattr(comparison, "column", None) or comparison.tf_column
    if column is None and comparison.name in std.columns:
        column = comparison.name
    return column if column in std.columns else None
