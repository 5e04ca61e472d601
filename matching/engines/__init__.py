"""Where the heavy steps of matching run: one machine (``duckdb``) or Spark (``spark``).

``match_records`` is written once. It asks its engine for the two steps whose
cost grows with the data, the comparison levels of a pair list and the
clusters of the scored pairs, and runs everything else (blocking, EM,
scoring, steward decisions) itself. Each engine computes these steps with the
same shared functions (``comparison_levels``, ``cluster_pairs``), so there is
no second copy of the matching logic to drift; the Spark engine only decides
where the data is when they run (docs/SCALING.md).

Standardisation (``matching.engines.spark_standardise``) and survivorship
(``lineage.golden_spark``) follow the same rule outside ``match_records``.
``matching.spark_match.match_on_spark`` is the Spark path that also keeps the
candidate pairs off the driver (blocking in ``spark_blocking``, EM pattern
counts and scoring in ``matching.spark_scoring``); it lives beside
``matching.linkage`` because it reuses its scoring functions, and
``fusion run`` reaches it through ``matching.spark_indexed``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import polars as pl

from matching.clustering import cluster_pairs
from matching.comparisons import Comparison, PairFrame, comparison_levels
from matching.settings import MatchSettings


class MatchEngine(Protocol):
    """The heavy steps of ``match_records``; both return what the one-machine code returns."""

    def comparison_levels(
        self, pairs: PairFrame, comparisons: tuple[Comparison, ...]
    ) -> np.ndarray:
        """Level matrix (pairs x comparisons), int8, rows in pair order."""
        ...

    def cluster_pairs(
        self,
        n_records: int,
        scored_pairs: pl.DataFrame,
        *,
        match_threshold: float,
        cannot_link_probability: float,
    ) -> np.ndarray:
        """Cluster label (smallest record_index of the cluster) per record."""
        ...


class LocalEngine:
    """The default engine: the shared functions, called in this process."""

    def comparison_levels(
        self, pairs: PairFrame, comparisons: tuple[Comparison, ...]
    ) -> np.ndarray:
        """``matching.comparisons.comparison_levels``."""
        return comparison_levels(pairs, comparisons)

    def cluster_pairs(
        self,
        n_records: int,
        scored_pairs: pl.DataFrame,
        *,
        match_threshold: float,
        cannot_link_probability: float,
    ) -> np.ndarray:
        """``matching.clustering.cluster_pairs``."""
        return cluster_pairs(
            n_records,
            scored_pairs,
            match_threshold=match_threshold,
            cannot_link_probability=cannot_link_probability,
        )


def engine_for(settings: MatchSettings) -> MatchEngine:
    """The engine ``settings.engine`` names (Spark is imported only when chosen).

    Example:
        >>> type(engine_for(MatchSettings())).__name__
        'LocalEngine'
    """
    if settings.engine == "spark":
        from matching.engines.spark import SparkEngine

        return SparkEngine(settings.spark)
    return LocalEngine()
