"""``match_in_full`` with the candidate pairs kept on Spark: the path of ``fusion run`` on Spark.

``match_in_full`` (``matching.incremental``) calls ``match_records``, which with
``engine: spark`` gathers every candidate pair on the driver. This module runs
the same full match through ``matching.spark_match.match_on_spark`` instead,
under the same frozen name statistics (the fitted IDF, its vectors and
semantic neighbour lists, the TF population), and returns what the pipeline
reads of a match result without the scored pairs ever being held whole by the
driver:

* ``clusters``, ``model``, ``blocking_report``, ``oversized_clusters`` and the
  incremental index (name vectors, neighbours, statistics), as ``match_in_full``
  gives them (they grow with the records, not the pairs);
* the scored pairs as Parquet that Spark wrote in the match evidence's order
  (by the two records' source keys), read back ``part_pairs`` at a time by
  ``scored_pair_parts`` with ``match_records``' column types;
* the two aggregates the run needs of every pair besides the evidence: pairs per
  decision and each record's best in-cluster probability, computed on Spark.

``scored_pairs`` of the result is empty (the schema of ``match_records``' scored
pairs): readers of a ``PairsOnSparkResult`` use the fields above instead.

Runs this path does not take (``pairs_on_spark_unsupported``): steward link
decisions or ``fusion label`` answers, which ``match_records`` turns into
labelled candidates and clustering constraints on the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from matching.attributes import run_comparisons
from matching.comparisons import Comparison, PairFrame
from matching.incremental import IndexedMatchResult, names_and_neighbours
from matching.incremental_rules import _neighbour_frame
from matching.labels import training_pairs
from matching.linkage import score_pairs
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf, PrecomputedVectors
from matching.settings import MatchSettings
from matching.spark_match import match_on_spark
from matching.steward import steward_pairs

# The records' key the match evidence is ordered by (pipelines.stages.evidence).
KEY_TEXT = ("source_system", "source_record_id")


@dataclass(frozen=True)
class PairsOnSparkResult(IndexedMatchResult):
    """A full match whose scored pairs stayed on Spark: they are in ``scored_pairs_path``.

    ``scored_pairs`` is empty, with the columns and types of ``match_records``'.
    """

    scored_pairs_path: Path = field(kw_only=True)
    candidate_pairs: int = field(kw_only=True)
    decision_counts: dict[str, int] = field(kw_only=True)
    record_match_probability: pl.DataFrame = field(kw_only=True)

    def scored_pair_parts(
        self, part_pairs: int, *, batch_rows: int = 65_536
    ) -> Iterator[pl.DataFrame]:
        """The scored pairs in source-key order, ``part_pairs`` rows a part (at least one part).

        Read file after file in batches of ``batch_rows``, each typed as
        ``match_records``' scored pairs at once (the level labels become one-byte
        codes while the batch is small); a batch that crosses a part's end is
        split, so the driver holds one part and one batch.
        """
        schema = self.scored_pairs.schema
        pending: list[pl.DataFrame] = []
        held = 0
        emitted = False
        for path in sorted(self.scored_pairs_path.glob("*.parquet")):
            batches = pq.ParquetFile(path).iter_batches(
                batch_size=batch_rows, columns=list(schema.names())
            )
            for batch in batches:
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                frame = frame.cast(schema)
                while held + frame.height >= part_pairs:
                    need = part_pairs - held
                    yield pl.concat([*pending, frame.slice(0, need)])
                    emitted = True
                    frame = frame.slice(need)
                    pending, held = [], 0
                if frame.height:
                    pending.append(frame)
                    held += frame.height
        if held or not emitted:
            yield pl.concat(pending) if pending else self.scored_pairs


def pairs_on_spark_unsupported(
    std: pl.DataFrame, *, decisions: pl.DataFrame | None, labels: pl.DataFrame | None
) -> str | None:
    """Why this run cannot keep its pairs on Spark (None: it can).

    Steward link decisions and label answers become labelled candidates, EM
    labels and clustering constraints in ``match_records``, on the driver.
    """
    if steward_pairs(std, decisions).height:
        return "steward link decisions are in force"
    if training_pairs(std, labels=labels, decisions=None).height:
        return "fusion label answers are in force"
    return None


def scored_pairs_schema(
    model: FellegiSunterModel, comparisons: tuple[Comparison, ...], settings: MatchSettings
) -> pl.Schema:
    """The columns and types of ``match_records``' scored pairs (no pair scored)."""
    empty = np.zeros(0, dtype=np.uint32)
    scored = score_pairs(
        PairFrame(pl.DataFrame(), empty, empty, None),
        np.zeros((0, len(comparisons)), dtype=np.int8),
        model=model,
        comparisons=comparisons,
        settings=settings,
        term_frequencies={},
    )
    return pl.Schema(
        {**scored.schema, "blocking_rules": pl.Categorical(), "steward_decision": pl.String()}
    )


def match_in_full_on_spark(
    std: pl.DataFrame,
    *,
    settings: MatchSettings,
    statistics: NameIdf | None,
    pairs_dir: Path,
    model: FellegiSunterModel | None = None,
    comparisons: tuple[Comparison, ...] | None = None,
) -> PairsOnSparkResult:
    """``match_in_full`` (no decisions, no labels) with the pairs on Spark, kept in ``pairs_dir``.

    ``std`` must hold the records' source keys (``KEY_TEXT``): the pairs are
    written in the order of their records' keys.
    """
    comparisons = comparisons or run_comparisons(settings)
    statistics, vectors, directed = names_and_neighbours(std, statistics, settings=settings)
    order = std.select("record_index", *KEY_TEXT).sort(*KEY_TEXT).with_row_index("rank")
    result = match_on_spark(
        std,
        settings=settings,
        embedder=PrecomputedVectors(vectors),
        comparisons=comparisons,
        scored_pairs_out=pairs_dir,
        model=model,
        tf_population=statistics.population,
        semantic_neighbours=directed,
        record_order=order.select("record_index", "rank"),
    )
    schema = scored_pairs_schema(result.model, comparisons, settings)
    # What match_in_full counts of its scored pairs: the candidates and completion's pairs.
    scored = result.candidate_pairs + result.completion_pairs
    return PairsOnSparkResult(
        scored_pairs=schema.to_frame(),
        clusters=result.clusters,
        model=result.model,
        blocking_report=result.blocking_report,
        oversized_clusters=result.oversized_clusters,
        name_vectors=vectors,
        neighbours=_neighbour_frame(*directed),
        statistics=statistics,
        work={"records": std.height, "rescored_pairs": scored},
        scored_pairs_path=pairs_dir,
        candidate_pairs=scored,
        decision_counts=result.decision_counts,
        record_match_probability=result.record_match_probability,
    )
