"""An unsupervised Fellegi-Sunter model learnt by EM over all candidate pairs.

m (how often the *same* customer agrees at a level), u (how often two
*different* candidate records do) and the prior are learnt together by
expectation-maximisation over all candidate pairs at once, not per training
block, so a block that correlates with a compared field cannot collapse the
estimate (Splink's documented failure when it trains within blocks).

Two guards keep EM honest:
- it starts from a seed (pairs agreeing exactly on most comparisons), not a
  vague guess, so it lands in the right basin;
- u never drops below its value on random record pairs (estimated by
  sampling, as Splink does): blocking enriches agreement among candidate
  non-matches, it never makes agreement rarer, and without the floor a level
  EM saw in no non-match would get an unbounded weight.

Weights are then made monotone in similarity with isotonic regression: a
closer name never counts for less than a farther one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression

from matching.anchored_m import anchored_m
from matching.comparisons import Comparison
from matching.labels import LabelledPatterns, with_labelled_patterns
from matching.settings import ModelSettings


@dataclass(frozen=True)
class LevelParameters:
    """m and u of every level of one comparison."""

    comparison: str
    labels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]

    @property
    def bayes_factors_log2(self) -> np.ndarray:
        """log2(m/u) per level: the weight a pair gains at that level."""
        return np.log2(np.asarray(self.m) / np.asarray(self.u))


@dataclass(frozen=True)
class FellegiSunterModel:
    """Learnt parameters; serialisable with ``to_dict`` and stored with the run."""

    levels: tuple[LevelParameters, ...]
    prior: float
    em_iterations: int
    # Per term-frequency-adjusted comparison, the chance that two records drawn at
    # random hold the same value (sum of squared value shares), fixed when the
    # model is learnt so that scoring a new batch with this model does not shift
    # the weights of pairs the batch does not touch.
    term_frequency_reference: Mapping[str, float] = field(default_factory=dict)
    # Comparison -> the evidence it measures (see ``pooled_within_groups``). Empty
    # for models stored before groups existed: their weights stay as they were.
    evidence_groups: Mapping[str, str] = field(default_factory=dict)
    # What the model learnt from besides the candidates (see matching.labels): how many
    # labelled pairs of each origin, and the label weight. Empty: unsupervised EM.
    training: Mapping[str, float] = field(default_factory=dict)

    def match_weights(
        self, level_matrix: np.ndarray, *, term_frequencies: dict[int, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Total match weight per pair and the per-comparison log2 Bayes factors.

        Args:
            level_matrix: Level per pair and comparison.
            term_frequencies: Comparison position -> per pair, the share of records
                holding the agreed value. At the top level the weight is adjusted by
                ``log2(reference / share)``, ``reference`` being the comparison's
                ``term_frequency_reference``: two 'Michael Brown' records agree more
                often by chance than two '上海星辰贸易' records, so the first lose
                weight and the second gain it (Splink's term-frequency adjustment).
                The reasoning: a value's share of chance agreements grows with the
                square of its frequency, its share of true matches about linearly.
                A model stored without a reference (older releases) falls back to
                penalising values more common than u_top.
        """
        contributions = np.zeros(level_matrix.shape, dtype=np.float64)
        for k, params in enumerate(self.levels):
            factors = params.bayes_factors_log2
            column = level_matrix[:, k]
            present = column >= 0
            contributions[present, k] = factors[column[present]]
            if term_frequencies and k in term_frequencies:
                top = len(params.u) - 1
                share = np.maximum(term_frequencies[k], 1e-12)
                reference = self.term_frequency_reference.get(params.comparison)
                if reference is None:
                    u_top = params.u[top]
                    adjustment = np.log2(u_top / np.maximum(share, u_top))
                else:
                    adjustment = np.log2(reference / share)
                contributions[:, k] += np.where(column == top, adjustment, 0.0)
        contributions = pooled_within_groups(
            contributions,
            [self.evidence_groups.get(p.comparison, p.comparison) for p in self.levels],
        )
        prior_weight = math.log2(self.prior / (1.0 - self.prior))
        return prior_weight + contributions.sum(axis=1), contributions

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> FellegiSunterModel:
        """The model ``to_dict`` stored with a run, e.g. to score an incremental run."""
        return cls(
            levels=tuple(
                LevelParameters(
                    comparison=c["comparison"],
                    labels=tuple(level["label"] for level in c["levels"]),
                    m=tuple(float(level["m"]) for level in c["levels"]),
                    u=tuple(float(level["u"]) for level in c["levels"]),
                )
                for c in document["comparisons"]
            ),
            prior=float(document["prior"]),
            em_iterations=int(document["em_iterations"]),
            evidence_groups=dict(document.get("evidence_groups", {})),
            training=dict(document.get("training", {})),
            term_frequency_reference={
                name: float(value)
                for name, value in document.get("term_frequency_reference", {}).items()
            },
        )

    def fits(self, comparisons: Sequence[Comparison]) -> bool:
        """Whether the model was learnt for exactly these comparisons and levels."""
        return [(p.comparison, p.labels) for p in self.levels] == [
            (c.name, c.labels) for c in comparisons
        ]

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly parameters, for the run record and the auditor."""
        return {
            "prior": self.prior,
            "em_iterations": self.em_iterations,
            "term_frequency_reference": dict(self.term_frequency_reference),
            **({"evidence_groups": dict(self.evidence_groups)} if self.evidence_groups else {}),
            **({"training": dict(self.training)} if self.training else {}),
            "comparisons": [
                {
                    "comparison": p.comparison,
                    "levels": [
                        {"label": label, "m": m, "u": u, "log2_bayes_factor": math.log2(m / u)}
                        for label, m, u in zip(p.labels, p.m, p.u, strict=True)
                    ],
                }
                for p in self.levels
            ],
        }


def pooled_within_groups(contributions: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Per pair, only the strongest agreement and strongest disagreement of a group count.

    Comparisons of one evidence group are not independent: two records in one
    postcode share its city, so adding both agreements counts one fact twice
    (8.8 + 8.7 bits on people_100k). In each group the largest positive and
    the most negative contribution are kept and the others set to 0, so the
    parts still add up to the weight and each kept part is the comparison's own.
    A group of one comparison is left as it is.

    Example:
        >>> parts = np.array([[8.8, 8.7, 1.0], [-2.5, 8.7, 1.0]])
        >>> pooled_within_groups(parts, ["location", "location", "name"]).tolist()
        [[8.8, 0.0, 1.0], [-2.5, 8.7, 1.0]]
    """
    names = list(groups)
    for group in dict.fromkeys(names):
        columns = [k for k, name in enumerate(names) if name == group]
        if len(columns) < 2:
            continue
        block = contributions[:, columns]
        rows = np.arange(block.shape[0])
        kept = np.zeros_like(block)
        strongest = block.argmax(axis=1)
        kept[rows, strongest] = np.maximum(block[rows, strongest], 0.0)
        weakest = block.argmin(axis=1)
        kept[rows, weakest] += np.minimum(block[rows, weakest], 0.0)
        contributions[:, columns] = kept
    return contributions


def probability_from_weight(weight: np.ndarray) -> np.ndarray:
    """Match probability from a log2 odds weight."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -60.0, 60.0)))


def level_frequencies(
    level_matrix: np.ndarray, n_levels: list[int], *, weights: np.ndarray | None, smoothing: float
) -> list[np.ndarray]:
    """Smoothed, normalised frequency of each level per comparison (missing ignored)."""
    if weights is None:
        weights = np.ones(level_matrix.shape[0])
    out = []
    for k, n in enumerate(n_levels):
        column = level_matrix[:, k]
        present = column >= 0
        counted = np.bincount(column[present], weights=weights[present], minlength=n)[:n]
        smoothed = counted.astype(np.float64) + smoothing
        total = smoothed.sum()
        out.append(smoothed / total if total > 0 else np.full(n, 1.0 / n))
    return out


def _log_likelihood(level_matrix: np.ndarray, probabilities: list[np.ndarray]) -> np.ndarray:
    total = np.zeros(level_matrix.shape[0])
    for k, p in enumerate(probabilities):
        column = level_matrix[:, k]
        present = column >= 0
        total[present] += np.log(p[column[present]])
    return total


STRONG_AGREEMENT_U = 0.01


def evidence_group(comparison: Comparison) -> str:
    """What a comparison is evidence of: its declared ``evidence_group``, else its name."""
    group = getattr(comparison, "evidence_group", None)
    return str(group) if group else comparison.name


def seed_posterior(
    level_matrix: np.ndarray,
    n_levels: list[int],
    *,
    strong: np.ndarray | None = None,
    groups: Sequence[str] | None = None,
) -> np.ndarray:
    """A starting guess of which candidates match: those agreeing exactly on most comparisons.

    EM only finds a local optimum. Started from a vague guess it can settle on
    "pairs with similar names" as the match class (similar-name non-matches
    are plentiful among blocked candidates, and name-like comparisons are
    correlated). Pairs that agree at the top level on at least half of their
    present comparisons (and on two or more) are nearly all true matches, so
    their level frequencies start m in the right basin.

    ``strong`` marks the comparisons whose top-level agreement is rare between
    random records; only those count towards the two agreements. Two of a
    million records that share a common name and a city agree on both, yet
    are usually different people: without this, at scale such pairs outnumber
    the true matches in the seed and EM learns "same name" as "same customer".

    ``groups`` names the evidence each comparison measures: comparisons of one
    group (a postcode and its city say one thing) count once, both towards
    the two strong agreements and towards the half. Two records in one
    postcode share its city too: counted twice, a shared postcode alone
    seeded a pair, and on people_100k EM learnt "same
    postcode and city" as the match class.
    """
    top = np.asarray(n_levels) - 1
    present = level_matrix >= 0
    at_top = (level_matrix == top) & present
    strong_mask = (
        np.ones(len(n_levels), dtype=bool) if strong is None else np.asarray(strong, dtype=bool)
    )
    names = list(groups) if groups is not None else [str(k) for k in range(len(n_levels))]
    group_present, group_agree, group_strong = [], [], []
    for group in dict.fromkeys(names):
        members = np.array([name == group for name in names])
        group_present.append(present[:, members].any(axis=1))
        group_agree.append(at_top[:, members].any(axis=1))
        group_strong.append(at_top[:, members & strong_mask].any(axis=1))
    agree = np.column_stack(group_agree).sum(axis=1)
    needed = np.maximum(2, np.ceil(np.column_stack(group_present).sum(axis=1) / 2))
    seeded = (agree >= needed) & (np.column_stack(group_strong).sum(axis=1) >= 2)
    return seeded.astype(np.float64)


def _monotone(m: np.ndarray, u: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Adjust m so that log(m/u) never decreases with the level (isotonic fit)."""
    if len(m) < 2:
        return m
    log_ratio = np.log(m / u)
    # Weighted pool-adjacent-violators over the levels in order (scipy's, since 1.12).
    fitted = isotonic_regression(log_ratio, weights=np.maximum(counts, 1e-9), increasing=True).x
    adjusted = u * np.exp(fitted)
    return adjusted / adjusted.sum()


def _floored_every_level(u: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Probabilities with no level below its random-pair value ``floor``, renormalised.

    The default: u stays close to the distribution of random record pairs, so an
    agreement weighs what it says about the whole population (as in Splink).
    """
    raised = np.maximum(u, floor)
    return raised / raised.sum()


def _floored_agreement_levels(u: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Agreement levels no rarer than ``floor``; the lowest level takes the rest.

    The fallback when EM ``collapsed``: blocking can make
    agreement among candidate non-matches far more common than among random
    pairs, and only a lowest level ("different") free to fall below its
    random-pair value (0.999 for a postcode) lets u say so.
    """
    raised = u.astype(np.float64).copy()
    raised[1:] = np.maximum(raised[1:], floor[1:])
    agreement = raised[1:].sum()
    if agreement >= 1.0:
        raised[1:] *= (1.0 - 1e-9) / agreement
        agreement = raised[1:].sum()
    raised[0] = max(1.0 - agreement, 1e-9)
    return raised / raised.sum()


def _disagreement_never_favours_a_match(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """u whose lowest level is at least as likely as under m: "different" never adds weight.

    Among candidates, u of the lowest level can be near zero for a column a
    blocking rule keyed on (every candidate of a postcode rule shares the
    postcode). A pair found by another rule that differs there must not gain
    weight from log(m/u) with a vanishing u.
    """
    if u[0] >= m[0]:
        return u
    raised = u.astype(np.float64).copy()
    raised[0] = m[0]
    rest = raised[1:].sum()
    if rest > 0:
        raised[1:] *= (1.0 - m[0]) / rest
    return raised / raised.sum()


def level_patterns(level_matrix: np.ndarray, n_levels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a level matrix and how often each occurs.

    Millions of candidate pairs share a few thousand level patterns at most, and
    EM only needs each pattern once with its count: the same estimates as over
    every pair, at a fraction of the cost. Rows are packed into one integer key
    (mixed radix over ``level + 1``) so finding them is a 1-d sort.
    """
    if level_matrix.shape[0] == 0:
        return level_matrix, np.zeros(0, dtype=np.float64)
    # Levels run from -2 (implied by blocking) and -1 (missing) to n - 1.
    radix = np.asarray(n_levels, dtype=np.int64) + 2
    key = np.zeros(level_matrix.shape[0], dtype=np.int64)
    for k in range(level_matrix.shape[1]):
        key = key * radix[k] + (level_matrix[:, k].astype(np.int64) + 2)
    unique_keys, first, counts = np.unique(key, return_index=True, return_counts=True)
    del unique_keys
    return level_matrix[first], counts.astype(np.float64)


def collapsed(prior: float, *, seeded: float) -> bool:
    """Whether EM ran away from its seed: most candidates called matches, three times the seed.

    With u floored at random-pair values on every level, candidates that a
    blocking rule paired for sharing a postcode look like matches once the
    seed's first estimates are in, and EM can absorb them all (prior 0.99 from
    a seed of 0.09 in tests/matching/test_model.py; 0.58 from 0.14 on
    historical_50k, with a 107-record cluster). Real sets stayed below half and
    near their seed: chicago_childcare 0.44 from 0.34, people_100k 0.05 from 0.04.

    Example:
        >>> collapsed(0.99, seeded=0.09), collapsed(0.44, seeded=0.34)
        (True, False)
    """
    return prior >= 0.5 and prior >= 3.0 * seeded


@dataclass(frozen=True)
class _EmFit:
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int


def _expectation_maximisation(
    patterns: np.ndarray,
    counts: np.ndarray,
    seed: np.ndarray,
    outside: list[np.ndarray],
    u_random: list[np.ndarray],
    with_labels: LabelledPatterns,
    settings: ModelSettings,
    floored: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> _EmFit:
    """EM from the seed, u floored by ``floored`` against the random-pair levels.

    ``fit_model`` runs it with every level floored, and again with only the
    agreement levels floored when the first fit ``collapsed``: EM called most
    candidates matches, which happens when they share a blocking key that
    random pairs rarely share.
    """
    n_levels = [len(level) for level in u_random]
    smoothing = settings.laplace_smoothing
    m = level_frequencies(patterns, n_levels, weights=seed * counts, smoothing=smoothing)
    u = [floored(uk, floor) for uk, floor in zip(outside, u_random, strict=True)]
    total = max(float(with_labels.prior_counts.sum()), 1.0)
    prior = float(np.clip((seed * with_labels.prior_counts).sum() / total, 1e-3, 1 - 1e-3))
    iterations = 0
    for iterations in range(1, settings.em_max_iterations + 1):  # noqa: B007
        log_match = np.log(prior) + _log_likelihood(patterns, m)
        log_non_match = np.log(1.0 - prior) + _log_likelihood(patterns, u)
        posterior = 1.0 / (1.0 + np.exp(np.clip(log_non_match - log_match, -700, 700)))
        posterior = with_labels.posterior(posterior)
        new_prior = float(
            np.clip((posterior * with_labels.prior_counts).sum() / total, 1e-6, 1 - 1e-6)
        )
        new_m = level_frequencies(
            patterns, n_levels, weights=posterior * counts, smoothing=smoothing * 1e-3
        )
        u = level_frequencies(
            patterns, n_levels, weights=(1.0 - posterior) * counts, smoothing=smoothing * 1e-3
        )
        u = [floored(uk, floor) for uk, floor in zip(u, u_random, strict=True)]
        change = max(
            abs(new_prior - prior),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)),
        )
        m, prior = new_m, new_prior
        if change < settings.em_tolerance:
            break
    u = [floored(uk, floor) for uk, floor in zip(u, u_random, strict=True)]
    u = [floored(uk, floor) for uk, floor in zip(u, u_random, strict=True)]
    return _EmFit(m=m, u=u, prior=prior, iterations=iterations)


def fit_model(
    candidate_levels: np.ndarray,
    u_levels: np.ndarray,
    *,
    comparisons: tuple[Comparison, ...],
    settings: ModelSettings,
    term_frequency_reference: Mapping[str, float] | None = None,
    labelled: np.ndarray | None = None,
    pattern_counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> FellegiSunterModel:
    """Learn m, u and the prior by seeded EM over candidate pairs (u floored by random pairs).

    EM runs over the distinct level patterns weighted by their counts
    (``level_patterns``), which gives the same estimates as running over every pair.

    Args:
        candidate_levels: Level matrix of the candidate pairs.
        u_levels: Level matrix of random record pairs.
        comparisons: The comparisons, in level-matrix column order.
        settings: Model settings (iterations, smoothing).
        term_frequency_reference: Stored with the model for scoring (see
            ``FellegiSunterModel.term_frequency_reference``).
        labelled: Per candidate pair 1.0 (labelled a match), 0.0 (a non-match) or NaN;
            a labelled pair's posterior is its label in every E-step, and it counts
            ``settings.label_weight`` times in m and u (semi-supervised EM, see
            ``matching.labels``).
        pattern_counts: The candidates' distinct level rows and their counts, in
            ``level_patterns`` order, when counted elsewhere (the Spark engine counts
            them on its executors); ``candidate_levels`` is then only read for labels.
    """
    n_levels = [len(c.labels) for c in comparisons]
    smoothing = settings.laplace_smoothing
    u_random = level_frequencies(u_levels, n_levels, weights=None, smoothing=smoothing)
    if pattern_counts is None:
        patterns, counts = level_patterns(
            candidate_levels if labelled is None else candidate_levels[np.isnan(labelled)],
            n_levels,
        )
    else:
        patterns, counts = pattern_counts
    with_labels = with_labelled_patterns(
        patterns, counts, candidate_levels, labelled, weight=settings.label_weight
    )
    patterns, counts = with_labels.patterns, with_labels.counts
    # Agreement at the top level of a comparison is "strong" when fewer than
    # STRONG_AGREEMENT_U of random record pairs agree there (a postcode or a name,
    # not a city: one random pair in 25 shares a city in the synthetic million).
    strong = np.array([u_k[-1] < STRONG_AGREEMENT_U for u_k in u_random])
    seed = seed_posterior(
        patterns, n_levels, strong=strong, groups=[evidence_group(c) for c in comparisons]
    )
    seed = with_labels.posterior(seed)
    # Start u from the candidates outside the seed, not from random pairs: against
    # random-pair u, every pair that a blocking rule put together for sharing a
    # postcode looks like a match in the first E-step, and at a million records
    # such pairs outnumber the true matches and EM settles on "same postcode".
    outside = level_frequencies(
        patterns, n_levels, weights=(1.0 - seed) * counts, smoothing=smoothing
    )
    fit = _expectation_maximisation(
        patterns, counts, seed, outside, u_random, with_labels, settings, _floored_every_level
    )
    seeded = float(
        (seed * with_labels.prior_counts).sum() / max(with_labels.prior_counts.sum(), 1.0)
    )
    if collapsed(fit.prior, seeded=seeded):
        fit = _expectation_maximisation(
            patterns, counts, seed, outside, u_random, with_labels, settings,
            _floored_agreement_levels,
        )  # fmt: skip
    m, u, prior, iterations = fit.m, fit.u, fit.prior, fit.iterations

    def learnt(m: list[np.ndarray], u: list[np.ndarray]) -> FellegiSunterModel:
        return FellegiSunterModel(
            levels=tuple(
                LevelParameters(
                    comparison=c.name,
                    labels=c.labels,
                    m=tuple(float(x) for x in mk),
                    u=tuple(float(x) for x in uk),
                )
                for c, mk, uk in zip(comparisons, m, u, strict=True)
            ),
            prior=prior,
            em_iterations=iterations,
            term_frequency_reference=dict(term_frequency_reference or {}),
            evidence_groups={
                c.name: evidence_group(c) for c in comparisons if evidence_group(c) != c.name
            },
        )

    if settings.anchored_m:
        # Each pattern's parts of the weight as EM's model scores it (pooled within groups).
        _, contributions = learnt(m, u).match_weights(patterns)
        m = anchored_m(
            patterns,
            counts,
            m,
            contributions,
            prior_weight=math.log2(prior / (1.0 - prior)),
            groups=[evidence_group(c) for c in comparisons],
            anchor_bits=settings.anchor_bits,
            pseudo_pairs=settings.anchor_pseudo_pairs,
            allowance=settings.anchor_allowance,
        )
    m = [_floored_every_level(mk, np.full(len(mk), settings.m_floor)) for mk in m]
    u = [_disagreement_never_favours_a_match(mk, uk) for mk, uk in zip(m, u, strict=True)]
    match_counts = level_frequencies(patterns, n_levels, weights=counts, smoothing=0.0)
    m = [_monotone(mk, uk, ck) for mk, uk, ck in zip(m, u, match_counts, strict=True)]
    return learnt(m, u)
