"""m of each comparison re-estimated on the pairs the other comparisons establish.

EM's m for a comparison is the level distribution over every candidate pair,
weighted by the pair's posterior. Where records of different people agree on
correlated fields, many candidates sit at middling posteriors and pull m
towards what non-matches look like: on the 1M person file two namesakes in
one postcode with different birth dates are common, and EM gave a birth date
that differs m = 0.07 (a -3.8 bit disagreement), while among true matches it
is 0.0006. Two such namesakes then linked on name and postcode alone.

Splink estimates a comparison's m in an EM session blocked on *other*
columns for the same reason. Here it is done once after EM, on its own
result: for each comparison, the pairs whose weight without that comparison
(and without the rest of its evidence group, which is not independent of it)
reaches ``anchor_bits`` are matches by other evidence, and how often they
show the comparison's lowest level (the values disagree) is its m there. The
estimate is blended with EM's by ``pseudo_pairs`` pseudo-counts, so a
comparison that few anchored pairs observe (a small file, a rarely filled
field) keeps EM's m.

Only the lowest level is re-estimated; the other levels keep EM's proportions
among themselves. Non-matches EM half-counts disagree, so that is where they
inflate m; the anchored pairs, matched by strong other evidence, are also
cleaner records than matches in general, and re-estimating every level from
them made a near value (a typo, a one-digit date) look rarer among matches
than it is: historical_50k lost 0.019 pairwise F1 that way.

The anchored rate is therefore an *upper bound's* witness, not a replacement:
EM's rate stands unless it exceeds ``allowance`` times the anchored one. The
cleaner-records bias moved a rate by small factors where the truth is known
(historical_50k with attributes: a differing birth date 0.027 by EM, 0.028
among true matches, 0.019 anchored), while contamination by namesakes moves it
by orders of magnitude (people_1m: 0.070 by EM, 0.00056 true, 0.00094
anchored). Replacing EM's rate outright lowered the B2B generator and the
historical set with attributes; capping it at twice the anchored rate lowered
no set measured (BENCHMARKS.md, "Anchored m").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def anchored_m(
    patterns: np.ndarray,
    counts: np.ndarray,
    m: list[np.ndarray],
    contributions: np.ndarray,
    *,
    prior_weight: float,
    groups: Sequence[str],
    anchor_bits: float,
    pseudo_pairs: float,
    allowance: float,
) -> list[np.ndarray]:
    """Each comparison's m, its lowest level capped by its rate on the patterns matched without it.

    Args:
        patterns: Distinct level patterns (pattern x comparison; -1 missing, -2 implied).
        counts: Pairs per pattern.
        m: EM's m per comparison.
        contributions: Per pattern and comparison, the log2 Bayes factor counted
            (pooled within evidence groups, as scoring counts it).
        prior_weight: log2 of the prior odds.
        groups: Evidence group per comparison.
        anchor_bits: Weight without the comparison's group at or above which a
            pattern's pairs count as matches.
        pseudo_pairs: How many pairs EM's m counts as in the blend.
        allowance: How many times the anchored rate EM's rate may be before it
            is cut down to that multiple (1: the lower of the two).

    Example:
        Ten pairs agree on everything else and differ on comparison 0 once;
        EM said it differs in half of the matches. The anchored rate, blended
        with EM's by 10 pseudo-pairs, is 0.3; EM's 0.5 is within twice that and
        stands, but not within 1.5 times:

        >>> patterns = np.array([[1, 1], [0, 1], [0, 0]])
        >>> counts = np.array([9.0, 1.0, 500.0])
        >>> parts = np.array([[5.0, 12.0], [-1.0, 12.0], [-1.0, -3.0]])
        >>> m = [np.array([0.5, 0.5]), np.array([0.1, 0.9])]
        >>> def fit(allowance):
        ...     return anchored_m(patterns, counts, m, parts, prior_weight=-2.0, groups=["a", "b"],
        ...                       anchor_bits=10.0, pseudo_pairs=10.0, allowance=allowance)
        >>> fit(2.0)[0].round(3).tolist()
        [0.5, 0.5]
        >>> fit(1.5)[0].round(3).tolist()
        [0.45, 0.55]
    """
    total = prior_weight + contributions.sum(axis=1)
    names = list(groups)
    fitted = []
    for k, mk in enumerate(m):
        group = [j for j, name in enumerate(names) if name == names[k]]
        without = total - contributions[:, group].sum(axis=1)
        anchored = (patterns[:, k] >= 0) & (without >= anchor_bits)
        seen = np.bincount(
            patterns[anchored, k].astype(np.int64), weights=counts[anchored], minlength=len(mk)
        )
        blended = (seen + pseudo_pairs * mk) / (seen.sum() + pseudo_pairs)
        lowest = min(float(mk[0]), allowance * float(blended[0]))
        rest = mk[1:] * (1.0 - lowest) / max(1.0 - mk[0], 1e-12)
        fitted.append(np.concatenate([[lowest], rest]))
    return fitted
