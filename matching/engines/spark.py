"""The Spark engine: comparison levels and clustering distributed, same functions.

| step of ``match_records`` | where it runs with ``engine: spark`` |
|---|---|
| name embedding (TF-IDF fitted on the run's names) | driver, ``embed_names`` |
| candidate generation (blocking rules, semantic neighbours) | driver, ``generate_candidates`` |
| comparison levels of candidate and random pairs | executors: Spark joins the pairs with
  both records' columns, ``comparison_levels`` runs per Arrow batch |
| EM over level patterns, scoring, steward decisions | driver, shared code |
| connected components | Spark, large-star / small-star |
| constrained clustering | executors, ``cluster_pairs`` per conflicted component |

docs/SCALING.md says which of the driver steps bound the scale and why.
``matching.spark_match.match_on_spark`` runs candidate generation, EM pattern
counts and scoring on the executors too; ``fusion run`` takes it for a full
match (``matching.spark_indexed``) and this engine for runs with steward
decisions or labels and for incremental runs.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from matching.comparisons import Comparison, PairFrame
from matching.engines.spark_clustering import cluster_on_spark
from matching.engines.spark_compare import RecordSide, levels_on_spark, record_side
from matching.engines.spark_frames import to_spark
from matching.engines.spark_session import spark_session
from matching.settings import SparkSettings


class SparkEngine:
    """``MatchEngine`` on a Spark session (local mode or a cluster).

    The records' compared columns and name vectors are sent to Spark once per
    run and cached there; candidate pairs and the random pairs for u reuse them.
    """

    def __init__(self, settings: SparkSettings) -> None:
        self.settings = settings
        self.spark = spark_session(settings)
        self._records: tuple[int, int, RecordSide] | None = None

    def _record_side(self, pairs: PairFrame, comparisons: tuple[Comparison, ...]) -> RecordSide:
        key = (id(pairs.std), id(pairs.name_vectors))
        if self._records is None or self._records[:2] != key:
            if self._records is not None:
                self._records[2].frame.unpersist()
            side = record_side(
                self.spark, pairs.std, comparisons=comparisons, name_vectors=pairs.name_vectors
            )
            self._records = (*key, side)
        return self._records[2]

    def comparison_levels(
        self, pairs: PairFrame, comparisons: tuple[Comparison, ...]
    ) -> np.ndarray:
        """Level matrix of ``pairs``, computed per Arrow batch on the executors."""
        records = self._record_side(pairs, comparisons)
        return levels_on_spark(self.spark, pairs, records, comparisons=comparisons)

    def cluster_pairs(
        self,
        n_records: int,
        scored_pairs: pl.DataFrame,
        *,
        match_threshold: float,
        cannot_link_probability: float,
    ) -> np.ndarray:
        """Labels by large-star / small-star components, then ``cluster_pairs`` per component."""
        weak = (
            pl.col("weak_link") if "weak_link" in scored_pairs.columns else pl.lit(False)
        ).alias("weak_link")
        edges = scored_pairs.select(
            pl.col("left", "right").cast(pl.Int64), "match_weight", "match_probability", weak
        )
        return cluster_on_spark(
            n_records,
            to_spark(self.spark, edges),
            match_threshold=match_threshold,
            cannot_link_probability=cannot_link_probability,
        )
