"""Seeded draws shared by the generator's modules; no other randomness is used."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

# Multiplier of the number scrambler: odd and not a multiple of 5, so that
# ``(k * A + salt) mod 10**d`` is a bijection on d-digit numbers for every d.
_SCRAMBLE = 48_271


def pick(options: Sequence[str], index: np.ndarray) -> pl.Series:
    """``options[index]`` as a string Series (one gather, no Python loop over rows)."""
    return pl.Series(list(options), dtype=pl.String).gather(index)


def zipf_weights(size: int, *, offset: float = 3.0) -> np.ndarray:
    """Weights ``1 / (rank + offset)``: a few values common, a long tail."""
    return 1.0 / (np.arange(size) + offset)


class Draw:
    """A seeded generator plus a counter handing out unique numbers.

    Every phone number, QQ number and registration number comes from
    :meth:`unique`, so two customers never share one unless the generator
    means them to (a household's landline, a branch's e-mail domain).

    >>> draw = Draw(1)
    >>> first, then = draw.unique(1000, digits=8), draw.unique(1000, digits=8)
    >>> len(set(first.to_list()) | set(then.to_list()))
    2000
    """

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self._next = 0
        self._salt = int(self.rng.integers(0, 10**7))

    def index(self, n: int, size: int, weights: np.ndarray | None = None) -> np.ndarray:
        """``n`` indices into ``range(size)``, uniform or by ``weights``."""
        if weights is None:
            return self.rng.integers(0, size, n)
        p = np.asarray(weights, dtype=np.float64)
        return self.rng.choice(size, size=n, p=p / p.sum())

    def choose(
        self, n: int, options: Sequence[str], weights: np.ndarray | None = None
    ) -> pl.Series:
        """``n`` draws from ``options`` as a string Series."""
        return pick(options, self.index(n, len(options), weights))

    def chance(self, n: int, p: float | np.ndarray) -> np.ndarray:
        """``n`` coin flips, each true with probability ``p``."""
        return self.rng.random(n) < p

    def uniform(self, n: int) -> pl.Series:
        """``n`` uniform draws in [0, 1) as a Series (to decide between renderings)."""
        return pl.Series(self.rng.random(n))

    def unique(self, n: int, *, digits: int) -> pl.Series:
        """``n`` distinct ``digits``-long numbers, never handed out before in this draw."""
        counters = np.arange(self._next, self._next + n, dtype=np.int64)
        self._next += n
        numbers = (counters * _SCRAMBLE + self._salt) % (10**digits)
        return pl.Series(numbers).cast(pl.String).str.zfill(digits)

    def letters(self, n: int, *, alphabet: str, length: int) -> pl.Series:
        """``n`` random strings of ``length`` characters of ``alphabet`` (ASCII)."""
        table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
        codes = table[self.rng.integers(0, len(table), (n, length))]
        return pl.Series(np.ascontiguousarray(codes).view(f"S{length}").ravel()).cast(pl.String)
