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


@pytest.mark.parametrize(
    ("weight", "probability"), [(0.0, 0.5), (10.0, 1024 / 1025), (-10.0, 1 / 1025)]
)
def test_probability_from_weight(weight: float, probability: float) -> None:
    assert probability_from_weight(np.array([weight]))[0] == pytest.approx(probability)
