"""The Fellegi-Sunter model recovers known m/u parameters (Splink's own test idea)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from matching.model import fit_model, probability_from_weight
from matching.settings import ModelSettings


@dataclass(frozen=True)
class _Levels:
    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class _Grouped:
    name: str
    labels: tuple[str, ...]
    evidence_group: str | None = None


TRUE_M = [np.array([0.05, 0.15, 0.8]), np.array([0.1, 0.9]), np.array([0.02, 0.08, 0.2, 0.7])]
TRUE_U = [np.array([0.9, 0.08, 0.02]), np.array([0.95, 0.05]), np.array([0.85, 0.1, 0.04, 0.01])]
COMPARISONS = tuple(
    _Levels(f"c{k}", tuple(f"l{i}" for i in range(len(m)))) for k, m in enumerate(TRUE_M)
)


def _simulate(rng: np.random.Generator, n: int, probabilities: list[np.ndarray]) -> np.ndarray:
    return np.column_stack([rng.choice(len(p), size=n, p=p) for p in probabilities]).astype(np.int8)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_em_recovers_m_and_prior(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matches, non_matches = 6_000, 14_000
    candidates = np.vstack([_simulate(rng, matches, TRUE_M), _simulate(rng, non_matches, TRUE_U)])
    random_pairs = _simulate(rng, 50_000, TRUE_U)
    model = fit_model(candidates, random_pairs, comparisons=COMPARISONS, settings=ModelSettings())
    assert model.prior == pytest.approx(matches / (matches + non_matches), abs=0.03)
    for params, m, u in zip(model.levels, TRUE_M, TRUE_U, strict=True):
        assert np.asarray(params.m) == pytest.approx(m, abs=0.04)
        assert np.asarray(params.u) == pytest.approx(u, abs=0.02)


def test_missing_levels_carry_no_weight() -> None:
    rng = np.random.default_rng(7)
    candidates = np.vstack([_simulate(rng, 3_000, TRUE_M), _simulate(rng, 7_000, TRUE_U)])
    model = fit_model(candidates, _simulate(rng, 20_000, TRUE_U), comparisons=COMPARISONS,
                      settings=ModelSettings())  # fmt: skip
    complete = np.array([[2, 1, 3]], dtype=np.int8)
    with_missing = np.array([[2, -1, 3]], dtype=np.int8)
    weight_complete, parts = model.match_weights(complete)
    weight_missing, _ = model.match_weights(with_missing)
    assert weight_complete[0] - weight_missing[0] == pytest.approx(parts[0, 1])


def test_weights_are_monotone_in_level_even_when_em_is_not() -> None:
    rng = np.random.default_rng(11)
    # Matches prefer level 1 over level 2 of c0: raw m/u would not be monotone.
    odd_m = [np.array([0.05, 0.6, 0.35]), TRUE_M[1], TRUE_M[2]]
    candidates = np.vstack([_simulate(rng, 5_000, odd_m), _simulate(rng, 5_000, TRUE_U)])
    model = fit_model(candidates, _simulate(rng, 20_000, TRUE_U), comparisons=COMPARISONS,
                      settings=ModelSettings())  # fmt: skip
    for params in model.levels:
        factors = params.bayes_factors_log2
        assert np.all(np.diff(factors) >= -1e-9), (params.comparison, factors)


MONOTONE_CASES = [
    # Level 1 above level 2: pooled to their count-weighted mean, (1*1 + 3*3) / 4 = 2.5.
    {"m": [0.1, 0.6, 0.3], "u": [0.8, 0.1, 0.1], "counts": [1.0, 1.0, 3.0]},
    # Already monotone: unchanged.
    {"m": [0.05, 0.15, 0.8], "u": [0.9, 0.08, 0.02], "counts": [4.0, 2.0, 9.0]},
    # Decreasing throughout, one level never seen (count 0, floored to 1e-9).
    {"m": [0.5, 0.3, 0.15, 0.05], "u": [0.25, 0.25, 0.25, 0.25], "counts": [2.0, 0.0, 1.0, 5.0]},
]


def test_monotone_pools_a_level_that_outweighs_the_next() -> None:
    from matching.model import _monotone

    m, u, counts = (np.array(MONOTONE_CASES[0][k]) for k in ("m", "u", "counts"))
    pooled = np.exp((np.log(6.0) + 3 * np.log(3.0)) / 4)  # weighted mean of log(m/u)
    expected = u * np.array([0.125, pooled, pooled])
    assert _monotone(m, u, counts) == pytest.approx(expected / expected.sum())


@pytest.mark.parametrize("case", MONOTONE_CASES)
def test_monotone_equals_scikit_learns_isotonic_regression(case: dict[str, list[float]]) -> None:
    """scipy's isotonic_regression replaced scikit-learn's; the weights are the same."""
    from sklearn.isotonic import IsotonicRegression

    from matching.model import _monotone

    m, u, counts = (np.array(case[k]) for k in ("m", "u", "counts"))
    fitted = IsotonicRegression(increasing=True).fit_transform(
        np.arange(len(m)), np.log(m / u), sample_weight=np.maximum(counts, 1e-9)
    )
    expected = u * np.exp(fitted)
    assert _monotone(m, u, counts) == pytest.approx(expected / expected.sum(), rel=1e-12)


@pytest.mark.parametrize(
    ("weight", "probability"), [(0.0, 0.5), (10.0, 1024 / 1025), (-10.0, 1 / 1025)]
)
def test_probability_from_weight(weight: float, probability: float) -> None:
    assert probability_from_weight(np.array([weight]))[0] == pytest.approx(probability)


def test_a_shared_postcode_and_city_do_not_seed_em() -> None:
    """The 1M failure: pairs a postcode rule made, agreeing on postcode and city only, were
    seeded as matches (city counted as a rare agreement), and EM learnt "same postcode"."""
    from matching.model import STRONG_AGREEMENT_U, seed_posterior

    random_city_agreement = 0.04  # one random pair in 25 shares a city (synthetic 1M)
    random_postcode_agreement = 0.0002
    strong = np.array([0.001, 0.0001, random_postcode_agreement, random_city_agreement])
    strong = strong < STRONG_AGREEMENT_U
    levels = np.array(
        [[0, 0, 1, 1],  # same postcode and city, different name and e-mail
         [2, 1, 1, 1],  # same name, e-mail, postcode, city
         [2, -1, 1, 1]],  # same name, postcode and city, no e-mail
        dtype=np.int8,
    )  # fmt: skip
    assert seed_posterior(levels, [3, 2, 2, 2], strong=strong).tolist() == [0.0, 1.0, 1.0]


def test_em_does_not_settle_on_a_blocking_key_that_many_non_matches_share() -> None:
    """A rule blocking on postcode can make 'same postcode' look like the match class.

    Comparisons: name (0 different .. 2 exact), e-mail (0/1), postcode (0/1), city (0/1).
    Most candidates are non-matches that a postcode rule put together: they agree on
    postcode and city only. Random pairs almost never share a postcode, so EM started
    from random-pair u would call every one of them a match.
    """
    comparisons = (
        _Levels("name", ("diff", "close", "exact")),
        _Levels("email", ("diff", "exact")),
        _Levels("postcode", ("diff", "exact")),
        _Levels("city", ("diff", "exact")),
    )
    rng = np.random.default_rng(5)
    matches = _simulate(
        rng,
        2_000,
        [np.array([0.03, 0.12, 0.85]), np.array([0.1, 0.9]), np.array([0.05, 0.95]),
         np.array([0.01, 0.99])],
    )  # fmt: skip
    same_postcode = _simulate(
        rng,
        20_000,
        [np.array([0.97, 0.025, 0.005]), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
         np.array([0.0, 1.0])],
    )  # fmt: skip
    random_pairs = _simulate(
        rng,
        100_000,
        [np.array([0.995, 0.004, 0.001]), np.array([0.9999, 0.0001]), np.array([0.999, 0.001]),
         np.array([0.96, 0.04])],
    )  # fmt: skip
    model = fit_model(
        np.vstack([matches, same_postcode]),
        random_pairs,
        comparisons=comparisons,
        settings=ModelSettings(),
    )
    postcode_only, _ = model.match_weights(np.array([[0, 0, 1, 1]], dtype=np.int8))
    name_and_email, _ = model.match_weights(np.array([[2, 1, 1, 1]], dtype=np.int8))
    assert probability_from_weight(postcode_only)[0] < 0.01
    assert probability_from_weight(name_and_email)[0] > 0.99
    assert model.prior == pytest.approx(2_000 / 22_000, abs=0.02)


def test_term_frequency_adjustment_uses_the_stored_reference() -> None:
    rng = np.random.default_rng(3)
    candidates = np.vstack([_simulate(rng, 3_000, TRUE_M), _simulate(rng, 7_000, TRUE_U)])
    model = fit_model(
        candidates,
        _simulate(rng, 20_000, TRUE_U),
        comparisons=COMPARISONS,
        settings=ModelSettings(),
        term_frequency_reference={"c0": 0.001},
    )
    top = np.array([[2, 1, 3]] * 3, dtype=np.int8)
    shares = {0: np.array([0.001, 0.016, 0.0001])}  # average, 16x as common, 10x as rare
    weights, parts = model.match_weights(top, term_frequencies=shares)
    base, _ = model.match_weights(top[:1])
    assert weights[0] == pytest.approx(base[0])
    assert weights[1] - weights[0] == pytest.approx(-4.0)
    assert weights[2] - weights[0] == pytest.approx(np.log2(10))
    below_top = np.array([[1, 1, 3]], dtype=np.int8)
    unadjusted, _ = model.match_weights(below_top)
    adjusted, _ = model.match_weights(below_top, term_frequencies={0: np.array([0.5])})
    assert adjusted[0] == pytest.approx(unadjusted[0])  # only agreement on the value counts
    restored = type(model).from_dict(model.to_dict())
    assert restored.term_frequency_reference == {"c0": 0.001}
    assert np.allclose(restored.match_weights(top, term_frequencies=shares)[0], weights)


@pytest.mark.parametrize(
    ("key", "companion", "random_agreement"),
    [
        ("city", "region", 0.04),  # one random pair in 25 shares a city
        ("postcode", "city", 0.001),
        ("surname", "surname_phonetic", 0.01),  # a common surname ('smith', '王')
    ],
)
def test_em_does_not_settle_on_any_blocking_key(
    key: str, companion: str, random_agreement: float
) -> None:
    """Built like the postcode case above, for a rule keyed on ``key``.

    Ten times as many candidates are non-matches that the rule paired for sharing
    the key; they share its ``companion`` too (a postcode implies its city), and
    most of them lack an e-mail and a birth date, as person exports do.
    """
    comparisons = (
        _Grouped("first_name", ("diff", "close", "exact")),
        _Grouped("email", ("diff", "exact")),
        _Grouped("birth_date", ("diff", "exact")),
        # Declared one piece of evidence, as matching.comparisons declares a postcode and city.
        _Grouped(key, ("diff", "exact"), evidence_group=key),
        _Grouped(companion, ("diff", "exact"), evidence_group=key),
    )
    rng = np.random.default_rng(17)
    matches = _simulate(
        rng,
        2_000,
        [np.array([0.05, 0.15, 0.8]), np.array([0.2, 0.8]), np.array([0.05, 0.95]),
         np.array([0.1, 0.9]), np.array([0.1, 0.9])],
    )  # fmt: skip
    sharing_the_key = _simulate(
        rng,
        20_000,
        [np.array([0.9, 0.08, 0.02]), np.array([0.999, 0.001]), np.array([0.998, 0.002]),
         np.array([0.0, 1.0]), np.array([0.0, 1.0])],
    )  # fmt: skip
    sharing_the_key[rng.random(20_000) < 0.7, 1] = -1
    sharing_the_key[rng.random(20_000) < 0.7, 2] = -1
    random_pairs = _simulate(
        rng,
        100_000,
        [np.array([0.95, 0.04, 0.01]), np.array([0.9999, 0.0001]), np.array([0.9995, 0.0005]),
         np.array([1 - random_agreement, random_agreement]),
         np.array([1 - random_agreement, random_agreement])],
    )  # fmt: skip
    model = fit_model(
        np.vstack([matches, sharing_the_key]),
        random_pairs,
        comparisons=comparisons,
        settings=ModelSettings(),
    )
    key_only, _ = model.match_weights(np.array([[0, -1, -1, 1, 1]], dtype=np.int8))
    name_and_birth_date, _ = model.match_weights(np.array([[2, -1, 1, 1, 1]], dtype=np.int8))
    assert probability_from_weight(key_only)[0] < 0.01
    assert probability_from_weight(name_and_birth_date)[0] > 0.99
    # Non-matches with the same first name and key are told apart by nothing here:
    # some of them (about 500 of 20,000) rightly end up in the match class.
    assert model.prior == pytest.approx(2_000 / 22_000, abs=0.03)


def test_a_disagreement_never_adds_weight() -> None:
    """Every candidate agrees on the key, so u of 'different' is ~0 among candidates; a
    pair that another rule found and that differs there must not gain weight from it."""
    rng = np.random.default_rng(23)
    comparisons = (_Levels("name", ("diff", "close", "exact")), _Levels("key", ("diff", "exact")))
    matches = _simulate(rng, 3_000, [np.array([0.05, 0.15, 0.8]), np.array([0.1, 0.9])])
    non_matches = _simulate(rng, 9_000, [np.array([0.9, 0.08, 0.02]), np.array([0.0, 1.0])])
    random_pairs = _simulate(rng, 50_000, [np.array([0.95, 0.04, 0.01]), np.array([0.99, 0.01])])
    model = fit_model(np.vstack([matches, non_matches]), random_pairs, comparisons=comparisons,
                      settings=ModelSettings())  # fmt: skip
    for params in model.levels:
        assert params.bayes_factors_log2[0] <= 1e-9, params


def test_implied_and_missing_levels_carry_no_weight() -> None:
    from matching.blocked_evidence import IMPLIED

    rng = np.random.default_rng(29)
    candidates = np.vstack([_simulate(rng, 3_000, TRUE_M), _simulate(rng, 7_000, TRUE_U)])
    candidates[::7, 2] = IMPLIED
    model = fit_model(candidates, _simulate(rng, 20_000, TRUE_U), comparisons=COMPARISONS,
                      settings=ModelSettings())  # fmt: skip
    implied = np.array([[2, 1, IMPLIED]], dtype=np.int8)
    missing = np.array([[2, 1, -1]], dtype=np.int8)
    assert model.match_weights(implied)[0][0] == pytest.approx(model.match_weights(missing)[0][0])
    assert model.match_weights(implied)[1][0, 2] == 0.0


@pytest.mark.parametrize(
    ("parts", "groups", "expected"),
    [
        # postcode and city agree: one fact, counted once (the stronger)
        ([8.8, 8.7, 1.0], ["loc", "loc", "name"], [8.8, 0.0, 1.0]),
        # moved within the city: the postcode's disagreement and the city's agreement both count
        ([-2.5, 8.7, 1.0], ["loc", "loc", "name"], [-2.5, 8.7, 1.0]),
        # both differ: the stronger disagreement alone
        ([-2.5, -2.3, -4.0], ["loc", "loc", "name"], [-2.5, 0.0, -4.0]),
        # comparisons of their own group are untouched
        ([3.0, 2.0, -1.0], ["a", "b", "c"], [3.0, 2.0, -1.0]),
        ([0.0, 0.0, 0.0], ["loc", "loc", "loc"], [0.0, 0.0, 0.0]),
    ],
)
def test_pooled_within_groups(parts: list[float], groups: list[str], expected: list[float]) -> None:
    from matching.model import pooled_within_groups

    pooled = pooled_within_groups(np.array([parts]), groups)
    assert pooled[0].tolist() == pytest.approx(expected)


def test_evidence_groups_are_learnt_stored_and_pool_the_weight() -> None:
    comparisons = (
        _Grouped("c0", ("l0", "l1", "l2")),
        _Grouped("c1", ("l0", "l1"), evidence_group="g"),
        _Grouped("c2", ("l0", "l1", "l2", "l3"), evidence_group="g"),
    )
    rng = np.random.default_rng(31)
    candidates = np.vstack([_simulate(rng, 3_000, TRUE_M), _simulate(rng, 7_000, TRUE_U)])
    model = fit_model(candidates, _simulate(rng, 20_000, TRUE_U), comparisons=comparisons,
                      settings=ModelSettings())  # fmt: skip
    assert model.evidence_groups == {"c1": "g", "c2": "g"}
    restored = type(model).from_dict(model.to_dict())
    assert restored.evidence_groups == model.evidence_groups
    both_agree = np.array([[2, 1, 3]], dtype=np.int8)
    weight, parts = model.match_weights(both_agree)
    factors = [p.bayes_factors_log2 for p in model.levels]
    assert parts[0, 1:].tolist() == pytest.approx([0.0, factors[2][3]])
    assert weight[0] == pytest.approx(restored.match_weights(both_agree)[0][0])
    # A model stored before groups existed keeps adding every comparison.
    document = model.to_dict()
    del document["evidence_groups"]
    ungrouped = type(model).from_dict(document)
    assert ungrouped.match_weights(both_agree)[0][0] - weight[0] == pytest.approx(factors[1][1])


def _others_and_random_pairs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Candidate non-matches of (name, place, birth date, phone), and random record pairs."""
    others = _simulate(
        rng, 20_000, [np.array([0.6, 0.4]), np.array([0.7, 0.3]),
                      np.array([0.96, 0.03, 0.01]), np.array([0.999, 0.001])],
    )  # fmt: skip
    random_pairs = _simulate(
        rng, 50_000, [np.array([0.99, 0.01]), np.array([0.99, 0.01]),
                      np.array([0.96, 0.03, 0.01]), np.array([0.9999, 0.0001])],
    )  # fmt: skip
    return others, random_pairs


def _with_namesakes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Candidates of (name, place, birth date, phone): true matches whose birth dates
    differ 1 time in 200, plus namesakes in one place born on other days, whom
    blocking on name and place proposes and who agree on the two correlated fields.
    """
    name_place_m = [np.array([0.05, 0.95]), np.array([0.1, 0.9])]
    birth_m = np.array([0.005, 0.07, 0.925])
    phone_m = np.array([0.2, 0.8])
    matches = _simulate(rng, 4_000, [*name_place_m, birth_m, phone_m])
    namesakes = _simulate(
        rng, 3_000, [np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                     np.array([0.96, 0.03, 0.01]), np.array([0.999, 0.001])],
    )  # fmt: skip
    namesakes[rng.random(len(namesakes)) < 0.8, 3] = -1  # most give no phone
    others, random_pairs = _others_and_random_pairs(rng)
    return np.vstack([matches, namesakes, others]), random_pairs


NAMESAKE_COMPARISONS = (
    _Levels("name", ("different", "exact")),
    _Levels("place", ("different", "exact")),
    _Levels("birth_date", ("different", "one_edit", "exact")),
    _Levels("phone", ("different", "exact")),
)


@pytest.mark.parametrize("seed", [1, 2])
def test_anchored_m_is_not_pulled_towards_namesakes(seed: int) -> None:
    """EM counts many namesakes half as matches, which raises m of a differing birth
    date; re-estimated on the pairs the other comparisons establish, it is near the
    true 0.005 and a namesake born on another day loses the link."""
    candidates, random_pairs = _with_namesakes(np.random.default_rng(seed))
    fitted = {
        anchored: fit_model(candidates, random_pairs, comparisons=NAMESAKE_COMPARISONS,
                            settings=ModelSettings(anchored_m=anchored))
        for anchored in (False, True)
    }  # fmt: skip
    m_differs = {k: model.levels[2].m[0] for k, model in fitted.items()}
    anchored_rate = fit_model(
        candidates, random_pairs, comparisons=NAMESAKE_COMPARISONS,
        settings=ModelSettings(anchor_allowance=1.0),
    ).levels[2].m[0]  # fmt: skip
    assert anchored_rate < 0.02
    assert m_differs[True] == pytest.approx(2.0 * anchored_rate, rel=1e-9)
    assert m_differs[True] < 0.05 < 0.4 < m_differs[False]
    namesake = np.array([[1, 1, 0, 0]], dtype=np.int8)
    assert probability_from_weight(fitted[True].match_weights(namesake)[0])[0] < 0.5
    # The agreeing levels keep EM's proportions among themselves.
    ratio = {k: model.levels[2].m[2] / model.levels[2].m[1] for k, model in fitted.items()}
    assert ratio[True] == pytest.approx(ratio[False], rel=1e-6)


def _with_noisy_records(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Candidates of (name, place, birth date, phone) without namesakes, where a fifth of
    the matches come from noisy records that err in every field more often: the pairs
    the other fields establish are the cleaner ones, and show fewer differing dates."""
    clean = _simulate(
        rng, 3_200, [np.array([0.01, 0.99]), np.array([0.05, 0.95]),
                     np.array([0.005, 0.05, 0.945]), np.array([0.1, 0.9])],
    )  # fmt: skip
    noisy = _simulate(
        rng, 800, [np.array([0.3, 0.7]), np.array([0.3, 0.7]),
                   np.array([0.08, 0.3, 0.62]), np.array([0.4, 0.6])],
    )  # fmt: skip
    others, random_pairs = _others_and_random_pairs(rng)
    return np.vstack([clean, noisy, others]), random_pairs


@pytest.mark.parametrize("seed", [1, 2])
def test_anchored_m_leaves_a_rate_that_cleaner_anchors_merely_undercount(seed: int) -> None:
    """Without namesakes EM's rate of a differing date is near the true 0.02 (EM reads
    0.011-0.014); the anchored pairs undercount it by less than the allowance, so EM's
    rate stands, where the anchored rate itself (an allowance of 1) would be lower."""
    candidates, random_pairs = _with_noisy_records(np.random.default_rng(seed))

    def m_differs(**settings: object) -> float:
        model = fit_model(candidates, random_pairs, comparisons=NAMESAKE_COMPARISONS,
                          settings=ModelSettings(**settings))  # fmt: skip
        return model.levels[2].m[0]

    em = m_differs(anchored_m=False)
    assert em == pytest.approx(0.02, abs=0.01)
    assert m_differs() == pytest.approx(em, rel=1e-9)
    assert m_differs(anchor_allowance=1.0) < 0.9 * em
