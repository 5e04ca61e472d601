"""The matching stage end to end: candidates -> levels -> model -> clusters.

Kept as plain functions over polars frames so Dagster assets, the CLI and the
tests run exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from matching.attributes import run_comparisons
from matching.blocked_evidence import IMPLIED, IMPLIED_LABEL, without_implied_evidence
from matching.blocking import CandidatePairs, generate_candidates
from matching.chunks import aligned_chunks
from matching.cluster_completion import COMPLETION_RULE, thin_clusters, uncompared_pairs
from matching.cluster_limits import empty_oversized, limit_cluster_sizes
from matching.comparisons import Comparison, PairFrame, comparison_levels
from matching.domain_owner import apply_domain_moves, domain_owner_moves, moving_records
from matching.engines import MatchEngine, engine_for
from matching.labels import (
    LABEL_ORIGIN,
    labelled_rows,
    training_pairs,
    with_labelled_candidates,
)
from matching.model import FellegiSunterModel, fit_model, probability_from_weight
from matching.name_idf import PrecomputedVectors
from matching.record_order import (
    KeyOrder,
    clusters_in_caller_order,
    key_order,
    pairs_in_caller_order,
)
from matching.semantic import Embedder, TfidfCharNgramEmbedder, embed_names, name_embedding_text
from matching.settings import MatchSettings
from matching.steward import CANNOT_LINK, steward_pairs, with_steward_decisions


@dataclass(frozen=True)
class MatchResult:
    """Everything the matching stage decided, with its evidence.

    ``scored_pairs`` holds one row per candidate pair: record indexes, the
    level label and log2 Bayes factor of each comparison, the total weight,
    probability and decision. ``clusters`` maps record_index to a cluster label.
    """

    scored_pairs: pl.DataFrame
    clusters: pl.DataFrame
    model: FellegiSunterModel
    blocking_report: pl.DataFrame
    # The clusters above matching.max_cluster_size, one row per part they became
    # (matching.cluster_limits.OVERSIZED_SCHEMA); keyword-only, so subclasses add fields freely.
    oversized_clusters: pl.DataFrame = field(default_factory=empty_oversized, kw_only=True)


def random_pairs(n_records: int, *, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct-record pairs drawn uniformly at random (seeded)."""
    if n_records < 2:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32)
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n_records, size=count, dtype=np.int64)
    offset = rng.integers(1, n_records, size=count, dtype=np.int64)
    right = (left + offset) % n_records
    return left.astype(np.uint32), right.astype(np.uint32)


DECISION_DTYPE = pl.Enum(["match", "review", "non_match"])


def level_dtype(comparison: Comparison) -> pl.Enum:
    """The dtype of a comparison's ``<name>_level`` column.

    Its labels, then 'implied_by_blocking' (level -2, see matching.blocked_evidence)
    and 'missing' (level -1): negative levels index from the end.
    """
    return pl.Enum([*comparison.labels, IMPLIED_LABEL, "missing"])


def stored_levels(scored: pl.DataFrame, comparisons: tuple[Comparison, ...]) -> np.ndarray:
    """The level matrix (as ``comparison_levels`` gives it) back from scored pairs' labels.

    The inverse of the ``<name>_level`` columns ``score_pairs`` writes: label k
    is level k, and 'missing' is level -1.
    """
    levels = np.empty((scored.height, len(comparisons)), dtype=np.int8)
    for k, comparison in enumerate(comparisons):
        codes = {label: code for code, label in enumerate(comparison.labels)} | {
            IMPLIED_LABEL: IMPLIED,
            "missing": -1,
        }
        levels[:, k] = (
            scored[f"{comparison.name}_level"]
            .cast(pl.String)
            .replace_strict(codes, return_dtype=pl.Int8)
            .to_numpy()
        )
    return levels


def _decision(probability: pl.Expr, settings: MatchSettings) -> pl.Expr:
    model = settings.model
    return (
        pl.when(probability >= model.match_threshold)
        .then(pl.lit("match"))
        .when(probability >= model.review_threshold)
        .then(pl.lit("review"))
        .otherwise(pl.lit("non_match"))
        .cast(DECISION_DTYPE)
    )


def pair_term_frequencies(
    std: pl.DataFrame,
    pairs: PairFrame,
    comparisons: tuple[Comparison, ...],
    *,
    population: int | None = None,
) -> dict[int, np.ndarray]:
    """Per TF-adjusted comparison, the share of records holding the left record's value.

    ``population``: the denominator of the share (default: the records of this
    run); matching.incremental fixes it with the stored model so that a new
    record changes the shares of its own values only.
    """
    out: dict[int, np.ndarray] = {}
    total = pl.len() if population is None else pl.lit(max(population, 1))
    for k, comparison in enumerate(comparisons):
        if comparison.tf_column is None:
            continue
        share = std.select((pl.len().over(comparison.tf_column) / total).alias("tf"))[
            "tf"
        ].to_numpy()
        out[k] = share[pairs.left_index.astype(np.int64)] if len(pairs) else np.zeros(0)
    return out


def term_frequency_reference(
    std: pl.DataFrame, comparisons: tuple[Comparison, ...], *, population: int | None = None
) -> dict[str, float]:
    """Per TF-adjusted comparison, the chance two random records share a value: sum of share².

    The shares are those of ``pair_term_frequencies`` (same ``population``), so a
    value as common as the average chance agreement gets no adjustment.
    """
    total = std.height if population is None else population
    out: dict[str, float] = {}
    for comparison in comparisons:
        if comparison.tf_column is None:
            continue
        # Sorted, so the float sum (and the weights) are the same on every run.
        counts = std[comparison.tf_column].drop_nulls().value_counts()["count"].sort()
        shares = counts.cast(pl.Float64) / max(total, 1)
        out[comparison.name] = max(float((shares * shares).sum()), 1.0 / max(total, 1) ** 2)
    return out


def score_pairs(
    pairs: PairFrame,
    levels: np.ndarray,
    *,
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    settings: MatchSettings,
    term_frequencies: dict[int, np.ndarray],
    chunk_pairs: int = 2_000_000,
) -> pl.DataFrame:
    """Scored pair frame with per-comparison level labels and weights.

    Scored ``chunk_pairs`` pairs at a time, so the float64 weight matrix of
    one chunk is alive at a time rather than that of every candidate pair
    (about 0.9 GiB at 14M pairs).
    """
    chunks = []
    for start in range(0, max(len(pairs), 1), chunk_pairs):
        stop = min(start + chunk_pairs, len(pairs))
        chunks.append(
            _score_chunk(
                pairs.left_index[start:stop],
                pairs.right_index[start:stop],
                levels[start:stop],
                model=model,
                comparisons=comparisons,
                term_frequencies={k: tf[start:stop] for k, tf in term_frequencies.items()},
            )
        )
    frame = pl.concat(chunks, rechunk=False)  # no second copy of 14M rows
    return aligned_chunks(
        frame.with_columns(_decision(pl.col("match_probability"), settings).alias("decision"))
    )


def score_with_term_frequencies(
    std: pl.DataFrame,
    pairs: PairFrame,
    levels: np.ndarray,
    *,
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    settings: MatchSettings,
    tf_population: int | None,
) -> pl.DataFrame:
    """``score_pairs`` with the pairs' term-frequency shares among ``std``'s records."""
    return score_pairs(
        pairs,
        levels,
        model=model,
        comparisons=comparisons,
        settings=settings,
        term_frequencies=pair_term_frequencies(std, pairs, comparisons, population=tf_population),
    )


def _score_chunk(
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray,
    *,
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    term_frequencies: dict[int, np.ndarray],
) -> pl.DataFrame:
    weight, contributions = model.match_weights(levels, term_frequencies=term_frequencies)
    columns: dict[str, object] = {
        "left": pl.Series(left, dtype=pl.UInt32),
        "right": pl.Series(right, dtype=pl.UInt32),
    }
    for k, comparison in enumerate(comparisons):
        # Levels -1 (missing) and -2 (implied) index the last labels. An Enum holds
        # one byte per pair (a string view holds 16): at 6.5M pairs that is 0.7 GiB less per run.
        dtype = level_dtype(comparison)
        labels = pl.Series(dtype.categories, dtype=dtype)
        columns[f"{comparison.name}_level"] = labels.gather(
            levels[:, k].astype(np.int64) % len(labels)
        )
        # Rounded to 4 decimals, a contribution fits float32 exactly enough (7 digits).
        columns[f"{comparison.name}_weight"] = np.round(contributions[:, k], 4).astype(np.float32)
    columns["match_weight"] = np.round(weight, 4)
    columns["match_probability"] = np.round(probability_from_weight(weight), 6)
    return pl.DataFrame(columns)


def match_records(
    std: pl.DataFrame,
    *,
    settings: MatchSettings,
    embedder: Embedder | None = None,
    comparisons: tuple[Comparison, ...] | None = None,
    steward_decisions: pl.DataFrame | None = None,
    model: FellegiSunterModel | None = None,
    tf_population: int | None = None,
    semantic_neighbours: tuple[np.ndarray, np.ndarray] | None = None,
    labels: pl.DataFrame | None = None,
) -> MatchResult:
    """Block, compare, learn the model, score and cluster standardised records.

    ``steward_decisions`` (must-link / cannot-link, see matching.steward) bind
    clustering whatever the model says; ``scored_pairs`` keeps the model's own
    score and adds ``steward_decision``.

    ``model``: score with these parameters instead of learning them (an
    incremental run reuses the model of the release it builds on, so records
    that did not change keep their scores); ``tf_population``: the denominator
    of term-frequency shares stored with that model (see pair_term_frequencies);
    ``semantic_neighbours``: the name-space neighbour lists, when the caller
    computed them already (see ``matching.semantic.nearest_name_pairs``);
    ``labels``: answers of ``fusion label`` (``matching.labels.LABEL_SCHEMA``). When
    the model is learnt, they and the steward decisions on candidate pairs are its
    labelled pairs (semi-supervised EM, ``matching.labels``); a labelled pair that
    blocking did not propose becomes a candidate.

    The records are matched in (source_system, source_record_id) order and the
    result is given in ``std``'s ``record_index`` (``matching.record_order``), so
    the same records in any row order give the same pairs and clusters.

    Example:
        >>> from connectors.canonical import empty_canonical_frame
        >>> from matching.standardise import standardise
        >>> std = standardise(empty_canonical_frame(), default_regions={})
        >>> match_records(std, settings=MatchSettings()).clusters.height
        0
    """
    arguments: dict[str, Any] = {
        "settings": settings,
        "embedder": embedder,
        "comparisons": comparisons,
        "steward_decisions": steward_decisions,
        "model": model,
        "tf_population": tf_population,
        "semantic_neighbours": semantic_neighbours,
        "labels": labels,
    }
    key = key_order(std)
    if key is None:
        return _match_in_key_order(std, **arguments)
    if isinstance(embedder, PrecomputedVectors):
        arguments["embedder"] = PrecomputedVectors(key.rows_by_rank(embedder.vectors))
    if semantic_neighbours is not None:
        left, right = semantic_neighbours
        arguments["semantic_neighbours"] = (key.ranks_of(left), key.ranks_of(right))
    return result_in_caller_order(_match_in_key_order(key.records(std), **arguments), key)


def result_in_caller_order(result: MatchResult, key: KeyOrder) -> MatchResult:
    """A result computed on ``key.records(std)``, in the caller's ``record_index``."""
    clusters, oversized = clusters_in_caller_order(result.clusters, result.oversized_clusters, key)
    return replace(
        result,
        scored_pairs=pairs_in_caller_order(result.scored_pairs, key),
        clusters=clusters,
        oversized_clusters=oversized,
    )


def _match_in_key_order(
    std: pl.DataFrame,
    *,
    settings: MatchSettings,
    embedder: Embedder | None,
    comparisons: tuple[Comparison, ...] | None,
    steward_decisions: pl.DataFrame | None,
    model: FellegiSunterModel | None,
    tf_population: int | None,
    semantic_neighbours: tuple[np.ndarray, np.ndarray] | None,
    labels: pl.DataFrame | None,
) -> MatchResult:
    """``match_records`` on records already in key order (``record_order.key_order`` None)."""
    engine = engine_for(settings)
    comparisons = comparisons or run_comparisons(settings)
    embedder = embedder or TfidfCharNgramEmbedder()
    vectors = embed_names(std, embedder=embedder)
    candidates: CandidatePairs = generate_candidates(
        std,
        name_vectors=vectors,
        settings=settings.blocking,
        name_aliases=settings.name_aliases,
        semantic_neighbours=semantic_neighbours,
    )
    learning = model is None or not model.fits(comparisons)
    training = training_pairs(std, labels=labels, decisions=steward_decisions if learning else None)
    if training.height:
        candidates = CandidatePairs(
            pairs=with_labelled_candidates(candidates.pairs, training), report=candidates.report
        )
    pair_frame = PairFrame.build(
        std,
        candidates.pairs["left"].to_numpy(),
        candidates.pairs["right"].to_numpy(),
        name_vectors=vectors,
    )
    levels = without_implied_evidence(
        engine.comparison_levels(pair_frame, comparisons),
        candidates.pairs["blocking_rules"],
        comparisons,
    )
    if model is None or learning:
        u_left, u_right = random_pairs(
            std.height, count=settings.model.u_sample_pairs, seed=settings.model.seed
        )
        u_levels = engine.comparison_levels(
            PairFrame.build(std, u_left, u_right, name_vectors=vectors), comparisons
        )
        model = fit_model(
            levels,
            u_levels,
            comparisons=comparisons,
            settings=settings.model,
            term_frequency_reference=term_frequency_reference(
                std, comparisons, population=tf_population
            ),
            labelled=labelled_rows(pair_frame.left_index, pair_frame.right_index, training)
            if training.height
            else None,
        )
        if training.height:
            model = replace(model, training=_training_record(training, settings=settings))
    # The name vectors (0.7 GiB at 1M records) are not needed past the comparisons.
    pair_frame = PairFrame.build(
        std, pair_frame.left_index, pair_frame.right_index, name_vectors=None
    )
    del vectors
    scored = score_with_term_frequencies(
        std,
        pair_frame,
        levels,
        model=model,
        comparisons=comparisons,
        settings=settings,
        tf_population=tf_population,
    )
    scored = aligned_chunks(
        scored.with_columns(candidates.pairs["blocking_rules"].cast(pl.Categorical))
    )
    # Clustering is the last peak at 1M records: the candidate frame (with its
    # rule labels), the level matrix and the pair arrays are not needed for it.
    report = candidates.report
    del candidates, levels, pair_frame
    clustered = cluster_under_decisions(
        std, scored, steward_decisions=steward_decisions, settings=settings, engine=engine
    )
    clustered = complete_thin_clusters(
        std,
        clustered,
        name_vectors_of=lambda rows: record_name_vectors(std, rows, embedder),
        model=model,
        comparisons=comparisons,
        settings=settings,
        tf_population=tf_population,
        steward_decisions=steward_decisions,
        engine=engine,
    )
    return MatchResult(
        scored_pairs=clustered.scored_pairs,
        clusters=clustered.clusters,
        model=model,
        blocking_report=report,
        oversized_clusters=clustered.oversized_clusters,
    )


def record_name_vectors(std: pl.DataFrame, rows: np.ndarray, embedder: Embedder) -> Any:
    """Name vectors of ``rows``: the run's own when precomputed, else embedded anew."""
    if isinstance(embedder, PrecomputedVectors):
        return embedder.vectors[rows]
    return embedder.embed(name_embedding_text(std[rows]))


def complete_thin_clusters(
    std: pl.DataFrame,
    clustered: Clustered,
    *,
    name_vectors_of: Callable[[np.ndarray], Any],
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    settings: MatchSettings,
    tf_population: int | None,
    steward_decisions: pl.DataFrame | None,
    engine: MatchEngine | None = None,
) -> Clustered:
    """``clustered`` with its thin clusters' uncompared pairs scored, then clustered again.

    See ``matching.cluster_completion``. The added pairs carry ``blocking_rules``
    'cluster_completion' (no rule implied their evidence) and stay in
    ``scored_pairs``, so ``match_evidence`` shows the disagreement that split a
    chain. Shared by a full and an incremental match (an incremental run drops
    the previous release's completion pairs with the rules that no longer find
    them, and completes its own clusters the same way).

    ``name_vectors_of(rows)``: the name vectors of those record indices.
    """
    cluster = settings.clustering
    if not cluster.complete_thin_clusters:
        return clustered
    labels = clustered.clusters["cluster"].to_numpy()
    thin = thin_clusters(
        labels,
        clustered.scored_pairs,
        min_records=cluster.thin_cluster_min_records,
        compared_share=cluster.thin_cluster_compared_share,
        max_records=settings.max_cluster_size,
    )
    if not thin.height:
        return clustered
    added = score_completion_pairs(
        std,
        uncompared_pairs(labels, clustered.scored_pairs, thin["cluster"]),
        name_vectors_of=name_vectors_of,
        model=model,
        comparisons=comparisons,
        settings=settings,
        tf_population=tf_population,
    )
    scored = clustered.scored_pairs.drop("steward_decision")
    # Appended, not sorted in: sorting copied every column of every pair (1 GiB at 1M
    # records); what reads the pairs in an order computes it (match_evidence's key order).
    scored = pl.concat([scored, added.select(scored.columns).cast(scored.schema)], rechunk=False)
    return cluster_under_decisions(
        std, scored, steward_decisions=steward_decisions, settings=settings, engine=engine
    )


def score_completion_pairs(
    std: pl.DataFrame,
    pairs: pl.DataFrame,
    *,
    name_vectors_of: Callable[[np.ndarray], Any],
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    settings: MatchSettings,
    tf_population: int | None,
) -> pl.DataFrame:
    """Thin clusters' uncompared ``pairs`` (``left``, ``right``), compared and scored.

    The columns of ``score_pairs`` plus ``blocking_rules`` 'cluster_completion'
    (no rule found the pair, so no evidence is implied by one). Shared by
    ``complete_thin_clusters`` and the Spark path (``matching.spark_match``), so a
    completed pair scores the same whichever engine found its cluster thin.

    ``name_vectors_of(rows)``: the name vectors of those record indices.
    """
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    rows = np.unique(np.concatenate([left, right]))
    position = np.zeros(std.height, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    # Levels on the records involved only: their name vectors are all that is embedded.
    local = PairFrame.build(
        std[rows], position[left], position[right], name_vectors=name_vectors_of(rows)
    )
    levels = comparison_levels(local, comparisons)
    del local
    pair_frame = PairFrame.build(std, left, right, name_vectors=None)
    return score_with_term_frequencies(
        std,
        pair_frame,
        levels,
        model=model,
        comparisons=comparisons,
        settings=settings,
        tf_population=tf_population,
    ).with_columns(pl.lit(COMPLETION_RULE).cast(pl.Categorical).alias("blocking_rules"))


def weak_links(scored: pl.DataFrame, *, corroborating_bits: float) -> pl.Expr:
    """``weak_link``: fewer than two comparisons of the pair add ``corroborating_bits`` or more.

    Read from the per-comparison ``<name>_weight`` columns, so pairs carried from
    an earlier release are judged like new ones (matching.clustering says how
    weak links are used).
    """
    parts = [
        c
        for c in scored.columns
        if c.endswith("_weight") and c != "match_weight" and scored.schema[c].is_numeric()
    ]
    if not parts:
        return pl.lit(False).alias("weak_link")
    agreeing = pl.sum_horizontal(
        (pl.col(c).fill_null(0.0) >= corroborating_bits).cast(pl.UInt8) for c in parts
    )
    return (agreeing < 2).alias("weak_link")


@dataclass(frozen=True)
class Clustered:
    """What ``cluster_under_decisions`` gives: see there."""

    scored_pairs: pl.DataFrame
    clusters: pl.DataFrame
    oversized_clusters: pl.DataFrame


def cluster_under_decisions(
    std: pl.DataFrame,
    scored: pl.DataFrame,
    *,
    steward_decisions: pl.DataFrame | None,
    settings: MatchSettings,
    engine: MatchEngine | None = None,
) -> Clustered:
    """Scored pairs with their ``steward_decision``, the clusters they bind, and the
    report of the clusters above ``settings.max_cluster_size`` (re-split on their strong
    links, matching.cluster_limits).

    Shared by a full match and an incremental one (matching.incremental), so
    both cluster the same way.
    """
    engine = engine or engine_for(settings)
    decided = steward_pairs(std, steward_decisions)
    # Only the decision column is joined: a join of the whole frame would copy
    # every evidence column of every pair (1.2 GiB at 6.5M pairs).
    if decided.height:
        decision = (
            scored.select("left", "right")
            .join(decided, on=["left", "right"], how="left", maintain_order="left")
            .get_column("steward_decision")
        )
    else:
        decision = pl.repeat(
            None, scored.height, dtype=decided.schema["steward_decision"], eager=True
        )
    scored = aligned_chunks(scored.with_columns(decision.alias("steward_decision")))
    edges = with_steward_decisions(
        scored.select(
            "left",
            "right",
            "match_weight",
            "match_probability",
            weak_links(scored, corroborating_bits=settings.clustering.corroborating_bits),
        ),
        decided,
    )
    labels = engine.cluster_pairs(
        std.height,
        edges,
        match_threshold=settings.model.match_threshold,
        cannot_link_probability=settings.clustering.cannot_link_probability,
    )
    labels, oversized = limit_cluster_sizes(
        labels,
        edges,
        max_cluster_size=settings.max_cluster_size,
        match_threshold=settings.model.match_threshold,
    )
    if settings.clustering.attach_to_domain_owners:
        labels = _attached_to_domain_owners(std, labels, edges, decided, settings=settings)
    clusters = pl.DataFrame(
        {"record_index": np.arange(std.height, dtype=np.uint32), "cluster": labels}
    )
    return Clustered(scored_pairs=scored, clusters=clusters, oversized_clusters=oversized)


def _attached_to_domain_owners(
    std: pl.DataFrame,
    labels: np.ndarray,
    edges: pl.DataFrame,
    decided: pl.DataFrame,
    *,
    settings: MatchSettings,
) -> np.ndarray:
    """``matching.domain_owner``'s attachments, reading only the cannot-links among the
    records of the clusters that would move (most of the pairs are cannot-links)."""
    moves = domain_owner_moves(std, labels)
    if not moves.height:
        return labels
    involved = np.zeros(len(labels), dtype=bool)
    involved[moving_records(labels, moves)] = True
    among = pl.Series(involved[edges["left"].to_numpy()] & involved[edges["right"].to_numpy()])
    cannot = pl.concat(
        [
            edges.filter(
                among & (pl.col("match_probability") < settings.clustering.cannot_link_probability)
            ).select(pl.col("left", "right").cast(pl.UInt32)),
            decided.filter(pl.col("steward_decision") == CANNOT_LINK).select(
                pl.col("left", "right").cast(pl.UInt32)
            ),
        ]
    )
    moved, _ = apply_domain_moves(labels, moves, cannot)
    return moved


def _training_record(training: pl.DataFrame, *, settings: MatchSettings) -> dict[str, float]:
    """What the model stores of its labelled pairs: how many of each origin, and their weight."""
    answered = training.filter(pl.col("origin") == LABEL_ORIGIN)
    decided = training.filter(pl.col("origin") != LABEL_ORIGIN)
    return {
        "labels": float(answered.height),
        "labels_match": float(answered["label"].sum()),
        "steward_decisions": float(decided.height),
        "steward_must_link": float(decided["label"].sum()),
        "label_weight": settings.model.label_weight,
    }
