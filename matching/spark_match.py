"""``match_records`` with the candidate pairs kept on Spark from blocking to clustering.

``match_records`` with ``engine: spark`` hands Spark only the comparison levels
and the clustering, and holds every candidate pair on the driver in between
(the pipeline needs the scored pairs there for the match evidence it
publishes). ``match_on_spark`` is the path for data whose pairs do not fit
one machine: candidate generation (``spark_blocking``), levels, EM pattern
counts and scoring (``spark_scoring``) and clustering (``spark_clustering``)
run on the executors, the scored pairs are written by Spark as Parquet, and
the driver holds only per-record data (the standardised records, their name
vectors, the cluster labels), the random pairs for u (a fixed
``u_sample_pairs``), and the level patterns.

Thin-cluster completion (``matching.cluster_completion``) runs as in
``match_records``: the executors count the scored pairs inside each cluster of
a size it considers, the driver receives those counts and the pairs inside the
thin clusters only, scores the uncompared pairs with the shared
``score_completion_pairs`` (at most ``max_cluster_size`` choose 2 per thin
cluster), and they are appended to the pairs on Spark, which cluster again and
are written with them (rule 'cluster_completion').

What still runs on the driver and grows with the records (not the pairs):
standardised records, name embedding and the semantic and sorted-neighbourhood
rules (at most a window or neighbour list per record), each exact-key rule's
keys, and the cluster labels. The clusters equal ``match_records``' for a run
without steward decisions or labels (which this path does not take); a stored
model is scored with as ``match_records`` does (no EM).

``fusion run`` with ``engine: spark`` takes this path through
``matching.spark_indexed`` (docs/SCALING.md): the scored pairs are then written
in the match evidence's order (``record_order``), and the two things the run
reads of every pair besides the evidence, the pairs per decision and each
record's best link inside its cluster, are aggregated here on the executors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from matching.attributes import run_comparisons
from matching.cluster_completion import thin_clusters_of_counts, uncompared_pairs
from matching.cluster_limits import limit_cluster_sizes
from matching.comparisons import Comparison, PairFrame
from matching.domain_owner import apply_domain_moves, domain_owner_moves, moving_records
from matching.engines.spark_blocking import candidates_on_spark
from matching.engines.spark_clustering import cluster_on_spark
from matching.engines.spark_compare import levels_on_spark, record_side
from matching.engines.spark_frames import from_spark, to_spark
from matching.engines.spark_session import spark_session
from matching.linkage import (
    random_pairs,
    record_name_vectors,
    score_completion_pairs,
    term_frequency_reference,
    weak_links,
)
from matching.model import FellegiSunterModel, fit_model
from matching.semantic import Embedder, TfidfCharNgramEmbedder, embed_names
from matching.settings import MatchSettings
from matching.spark_scoring import (
    candidate_levels,
    pattern_counts,
    scored_on_spark,
    term_frequency_shares,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

EDGE_COLUMNS = ("left", "right", "match_weight", "match_probability", "weak_link")


@dataclass(frozen=True)
class SparkMatchResult:
    """What ``match_on_spark`` decided; the scored pairs are in ``scored_pairs_path``.

    ``stage_seconds``: wall time of each stage (each ends with its result
    materialised on the executors), ``stage_rows``: what each stage processed.
    """

    clusters: pl.DataFrame
    model: FellegiSunterModel
    blocking_report: pl.DataFrame
    oversized_clusters: pl.DataFrame
    candidate_pairs: int
    scored_pairs_path: Path | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_rows: dict[str, int] = field(default_factory=dict)
    # Scored pairs per ``decision`` (match / review / non_match), counted on Spark.
    decision_counts: dict[str, int] = field(default_factory=dict)
    # Per record in a multi-record cluster: the highest ``match_probability`` of a scored
    # pair inside its cluster (``record_index`` UInt32, ``match_probability`` Float64).
    record_match_probability: pl.DataFrame = field(default_factory=pl.DataFrame)
    # Pairs thin-cluster completion added to the candidate pairs (in the scored pairs too).
    completion_pairs: int = 0


class _Clock:
    """Wall seconds per stage, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 3)
        self._last = now


def match_on_spark(
    std: pl.DataFrame,
    *,
    settings: MatchSettings,
    embedder: Embedder | None = None,
    comparisons: tuple[Comparison, ...] | None = None,
    scored_pairs_out: Path | None = None,
    model: FellegiSunterModel | None = None,
    tf_population: int | None = None,
    semantic_neighbours: tuple[np.ndarray, np.ndarray] | None = None,
    record_order: pl.DataFrame | None = None,
) -> SparkMatchResult:
    """Block, compare, learn, score and cluster with the pairs on Spark executors.

    ``scored_pairs_out``: a directory Spark writes the scored pairs to (Parquet,
    the columns of ``MatchResult.scored_pairs`` with levels and rules as text,
    plus ``weak_link``), or None not to keep them. ``record_order``
    (``record_index``, ``rank``): write them sorted by their left then right
    record's rank (one part file after another), else in no particular order.

    ``model``, ``tf_population`` and ``semantic_neighbours`` are
    ``match_records``' arguments of those names: a model that fits the
    comparisons is scored with instead of learnt.

    Example::

        result = match_on_spark(std, settings=MatchSettings(engine="spark"),
                                scored_pairs_out=Path("out/scored_pairs"))
    """
    clock = _Clock()
    spark = spark_session(settings.spark)
    comparisons = comparisons or run_comparisons(settings)
    embedder = embedder or TfidfCharNgramEmbedder()
    vectors = embed_names(std, embedder=embedder)
    clock.lap("embed")
    candidates = candidates_on_spark(
        spark,
        std,
        name_vectors=vectors,
        settings=settings.blocking,
        name_aliases=settings.name_aliases,
        semantic_neighbours=semantic_neighbours,
    )
    n_pairs = int(candidates.report["new_pairs"].sum())
    clock.lap("candidates")
    records = record_side(spark, std, comparisons=comparisons, name_vectors=vectors)
    levels = candidate_levels(
        candidates.pairs,
        records,
        comparisons=comparisons,
        labels=candidates.labels,
        std_schema=std.schema,
    ).localCheckpoint(eager=True)
    clock.lap("levels")
    n_patterns = 0
    u_pairs = 0
    if model is None or not model.fits(comparisons):
        patterns, counts = pattern_counts(levels, comparisons)
        n_patterns = len(counts)
        u_left, u_right = random_pairs(
            std.height, count=settings.model.u_sample_pairs, seed=settings.model.seed
        )
        u_pairs = len(u_left)
        u_levels = levels_on_spark(
            spark,
            PairFrame.build(std, u_left, u_right, name_vectors=vectors),
            records,
            comparisons=comparisons,
        )
        model = fit_model(
            np.zeros((0, len(comparisons)), dtype=np.int8),
            u_levels,
            comparisons=comparisons,
            settings=settings.model,
            term_frequency_reference=term_frequency_reference(
                std, comparisons, population=tf_population
            ),
            pattern_counts=(patterns, counts),
        )
        del u_levels
    records.frame.unpersist()
    del vectors
    clock.lap("em")
    scored = scored_on_spark(
        levels,
        to_spark(spark, term_frequency_shares(std, comparisons, population=tf_population)),
        model=model,
        comparisons=comparisons,
        settings=settings,
        labels=candidates.labels,
    ).localCheckpoint(eager=True)
    clock.lap("scoring")
    labels, oversized = _clustered(spark, std, scored, settings=settings)
    clock.lap("clustering")
    # Thin-cluster completion as ``complete_thin_clusters`` does it: the driver scores
    # the thin clusters' uncompared pairs, Spark clusters again with them appended.
    completion = _thin_clusters_uncompared(spark, scored, labels, settings=settings)
    if completion.height:
        added = score_completion_pairs(
            std,
            completion,
            name_vectors_of=lambda rows: record_name_vectors(std, rows, embedder),
            model=model,
            comparisons=comparisons,
            settings=settings,
            tf_population=tf_population,
        )
        scored = _appended(spark, scored, added, settings=settings)
        labels, oversized = _clustered(spark, std, scored, settings=settings)
    clock.lap("completion")
    clusters = pl.DataFrame(
        {"record_index": np.arange(std.height, dtype=np.uint32), "cluster": labels}
    )
    decisions = {
        str(r["decision"]): int(r["count"]) for r in scored.groupBy("decision").count().collect()
    }
    best = _record_match_probability(spark, scored, clusters)
    if scored_pairs_out is not None:
        _write_scored(spark, scored, scored_pairs_out, record_order=record_order)
    clock.lap("pair_outputs")
    return SparkMatchResult(
        clusters=clusters,
        model=model,
        blocking_report=candidates.report,
        oversized_clusters=oversized,
        candidate_pairs=n_pairs,
        scored_pairs_path=scored_pairs_out,
        stage_seconds=clock.seconds,
        stage_rows={
            "records": std.height,
            "candidate_pairs": n_pairs,
            "level_patterns": n_patterns,
            "u_pairs": u_pairs,
            "completion_pairs": completion.height,
        },
        decision_counts=decisions,
        record_match_probability=best,
        completion_pairs=completion.height,
    )


def _clustered(
    spark: SparkSession, std: pl.DataFrame, scored: DataFrame, *, settings: MatchSettings
) -> tuple[np.ndarray, pl.DataFrame]:
    """Cluster labels of ``scored``'s pairs and the oversized report, as
    ``cluster_under_decisions`` gives them with no steward decision: components and
    constrained clustering, the size limit, then the domain owners.

    One helper, as the default engine's one call: run once, and again after completion.
    """
    edges = scored.select(*EDGE_COLUMNS)
    labels = cluster_on_spark(
        std.height,
        edges,
        match_threshold=settings.model.match_threshold,
        cannot_link_probability=settings.clustering.cannot_link_probability,
    )
    labels, oversized = limit_cluster_sizes(
        labels,
        _edges_of_oversized(spark, edges, labels, max_cluster_size=settings.max_cluster_size),
        max_cluster_size=settings.max_cluster_size,
        match_threshold=settings.model.match_threshold,
    )
    if settings.clustering.attach_to_domain_owners:
        labels = _attached_to_domain_owners(spark, std, edges, labels, settings=settings)
    return labels, oversized


def _thin_clusters_uncompared(
    spark: SparkSession, scored: DataFrame, labels: np.ndarray, *, settings: MatchSettings
) -> pl.DataFrame:
    """The thin clusters' uncompared pairs (``left``, ``right``; ``matching.cluster_completion``).

    The executors count the scored pairs inside each cluster of a size completion
    considers; the driver receives one count per such cluster, then only the pairs
    inside the thin ones (fewer than ``thin_cluster_compared_share`` of at most
    ``max_cluster_size`` choose 2 each). Empty when completion is off or no cluster
    is thin.
    """
    cluster = settings.clustering
    none = pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
    if not cluster.complete_thin_clusters:
        return none
    sizes = np.bincount(labels, minlength=len(labels))[labels]
    sized = np.flatnonzero(
        (sizes >= cluster.thin_cluster_min_records) & (sizes <= settings.max_cluster_size)
    )
    if not len(sized):
        return none
    members = to_spark(
        spark, pl.DataFrame({"record_index": sized.astype(np.int64), "cluster": labels[sized]})
    )
    within = _pairs_within_clusters(scored.select("left", "right"), members)
    counts = from_spark(within.groupBy("cluster").count())
    compared = np.zeros(len(labels), dtype=np.int64)
    compared[counts["cluster"].to_numpy()] = counts["count"].to_numpy()
    thin = thin_clusters_of_counts(
        labels,
        compared,
        min_records=cluster.thin_cluster_min_records,
        compared_share=cluster.thin_cluster_compared_share,
        max_records=settings.max_cluster_size,
    )
    if not thin.height:
        return none
    inside = within.join(to_spark(spark, thin.select("cluster")), "cluster", "left_semi")
    return uncompared_pairs(labels, from_spark(inside.select("left", "right")), thin["cluster"])


def _appended(
    spark: SparkSession, scored: DataFrame, added: pl.DataFrame, *, settings: MatchSettings
) -> DataFrame:
    """``scored`` with the completion pairs ``added`` after it, in ``scored_on_spark``'s
    columns and types (levels, decision and rules as text, ``weak_link`` computed alike)."""
    from pyspark.sql import functions as F

    added = added.with_columns(
        weak_links(added, corroborating_bits=settings.clustering.corroborating_bits)
    )
    extra = to_spark(spark, added.select(scored.columns))
    return scored.unionByName(
        extra.select(*(F.col(f.name).cast(f.dataType).alias(f.name) for f in scored.schema))
    )


def _attached_to_domain_owners(
    spark: SparkSession,
    std: pl.DataFrame,
    edges: DataFrame,
    labels: np.ndarray,
    *,
    settings: MatchSettings,
) -> np.ndarray:
    """``matching.domain_owner`` as ``cluster_under_decisions`` applies it, with only the
    cannot-links among the moving clusters' records fetched from the executors."""
    from pyspark.sql import functions as F

    moves = domain_owner_moves(std, labels)
    if not moves.height:
        return labels
    members = to_spark(
        spark, pl.DataFrame({"record": moving_records(labels, moves).astype(np.int64)})
    )
    cannot = (
        edges.where(F.col("match_probability") < settings.clustering.cannot_link_probability)
        .join(members.withColumnRenamed("record", "left"), "left", "left_semi")
        .join(members.withColumnRenamed("record", "right"), "right", "left_semi")
        .select("left", "right")
    )
    moved, _ = apply_domain_moves(labels, moves, from_spark(cannot))
    return moved


def _edges_of_oversized(
    spark: SparkSession, edges: DataFrame, labels: np.ndarray, *, max_cluster_size: int
) -> pl.DataFrame:
    """The edges whose left record is in a cluster over the limit: all ``limit_cluster_sizes``
    reads (none, and nothing collected, when every cluster is within it)."""
    sizes = np.bincount(labels, minlength=len(labels))
    oversized = np.flatnonzero(sizes[labels] > max_cluster_size)
    empty = pl.DataFrame(
        schema={"left": pl.Int64, "right": pl.Int64, "match_weight": pl.Float64,
                "match_probability": pl.Float64, "weak_link": pl.Boolean}
    )  # fmt: skip
    if not len(oversized):
        return empty
    members = to_spark(spark, pl.DataFrame({"left": oversized.astype(np.int64)}))
    return from_spark(edges.join(members, on="left", how="left_semi"))


def _write_scored(
    spark: SparkSession, scored: DataFrame, out: Path, *, record_order: pl.DataFrame | None
) -> None:
    """The scored pairs as Parquet under ``out``, with a null ``steward_decision`` as
    ``match_records`` gives pairs no steward decided; sorted by ``record_order`` if given."""
    from pyspark.sql import functions as F

    written = scored.withColumn("steward_decision", F.lit(None).cast("string"))
    if record_order is not None:
        ranks = to_spark(spark, record_order.select(pl.col("record_index", "rank").cast(pl.Int64)))
        columns = written.columns
        written = (
            written.join(ranks.withColumnsRenamed({"record_index": "left", "rank": "__lr"}), "left")
            .join(ranks.withColumnsRenamed({"record_index": "right", "rank": "__rr"}), "right")
            .orderBy("__lr", "__rr")
            .select(*columns)
        )
    written.write.mode("overwrite").parquet(str(out))


def _record_match_probability(
    spark: SparkSession, scored: DataFrame, clusters: pl.DataFrame
) -> pl.DataFrame:
    """Per record, the highest probability of a scored pair inside its own cluster.

    What the unified-ID step reads of every pair, aggregated on the executors:
    the driver receives one row per record that has such a pair.
    """
    from pyspark.sql import functions as F

    labels = to_spark(spark, clusters.select(pl.col("record_index", "cluster").cast(pl.Int64)))
    within = _pairs_within_clusters(scored.select("left", "right", "match_probability"), labels)
    ends = within.select(F.col("left").alias("record_index"), "match_probability").unionByName(
        within.select(F.col("right").alias("record_index"), "match_probability")
    )
    best = ends.groupBy("record_index").agg(F.max("match_probability").alias("match_probability"))
    return from_spark(best).select(
        pl.col("record_index").cast(pl.UInt32), pl.col("match_probability").cast(pl.Float64)
    )


def _pairs_within_clusters(pairs: DataFrame, labels: DataFrame) -> DataFrame:
    """``pairs`` whose two records share a cluster of ``labels`` (``record_index``,
    ``cluster``), with that ``cluster``; a pair with a record outside ``labels`` is dropped."""
    from pyspark.sql import functions as F

    return (
        pairs.join(labels.withColumnRenamed("record_index", "left"), "left")
        .join(labels.withColumnsRenamed({"record_index": "right", "cluster": "__rc"}), "right")
        .where(F.col("cluster") == F.col("__rc"))
        .drop("__rc")
    )
