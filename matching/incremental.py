"""Incremental matching: a batch touches only the blocks, neighbours and pairs it can reach.

A full run's candidate pairs, scores and clusters are functions of all records
at once. This module gives exactly the full run's result on the final data
(the same candidate pairs, the same scored pairs to the last digit, the same
clusters) while recomputing only what a batch of new, changed and deleted
records can reach. What makes a full run non-local, and how each is handled:

- **Name vectors** (TF-IDF fitted on all names): the vocabulary and IDF are
  fitted once with the model and stored with it (``matching.name_idf``); full
  and incremental runs both embed with them, so a name's vector is its own.
- **Term-frequency shares** (value count / records): the denominator is stored
  with the model too; a pair agreeing at the top level (the only level the
  adjustment applies to) is rescored when the count of its left record's value
  changed.
- **Exact-key blocks with a size cap** (and refinement by city above it): a
  block's pairs depend on the block only, so every block holding a changed
  record's old or new key is rebuilt whole with the shared rule
  (``matching.blocking``), which also covers a block crossing the cap either
  way; other blocks keep their pairs.
- **Sorted neighbourhood** (ranks of distinct names): a pair's distance changes
  only if a changed name lies between its two names, so pairs whose names
  are within ``(window - 1) / 2`` ranks of a changed name (in the old or the
  new order) are recomputed, by the shared rule over those names and their
  window, and kept only where one end is such a name.
- **Semantic top-k neighbours** (which n-grams are distinctive depends on
  document frequencies, a row's top k on every other row): the top k is
  recomputed (``matching.semantic.sparse_neighbours_of_rows``) for every row
  that shares a distinctive n-gram with a new, changed or removed record,
  holds an n-gram whose distinctive status flipped, or had a removed record
  among its neighbours; other rows keep their stored neighbour lists (their
  candidates, and so their top k, did not change).
- **Clusters** (connected components, split by cannot-links strongest first;
  steward decisions): clustering reruns over all scored pairs with the shared
  function; it is linear and cheap next to blocking and scoring, and this way
  a component spanning several old clusters, a cannot-link between them, and
  a delete that cuts a chain are all exact by construction.

Everything else (the pairs of unaffected blocks and neighbour lists, with
their levels and scores) is carried over from the previous release. Rules
other than exact-key rules, the sorted neighbourhood and the sparse semantic
neighbours (e.g. dense model embeddings) are not handled incrementally: the
caller then runs in full (see ``supports_incremental``).

The per-rule updates are in ``matching.incremental_rules`` and the kept state in
``matching.match_index``; this module runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.attributes import run_comparisons
from matching.blocked_evidence import implied_comparisons, without_implied_evidence
from matching.blocking import PAIR_SCHEMA, rules_label
from matching.comparisons import Comparison, PairFrame, comparison_levels
from matching.incremental_rules import (
    NEIGHBOUR_SCHEMA,
    SEMANTIC,
    SORTED_NEIGHBOURHOOD,
    _carried_vectors,
    _Changes,
    _exact_rule_update,
    _label_masks,
    _neighbour_frame,
    _recounted_values,
    _report,
    _rule_key,
    _semantic_update,
    _sorted_neighbourhood_update,
)
from matching.linkage import (
    MatchResult,
    cluster_under_decisions,
    complete_thin_clusters,
    match_records,
    pair_term_frequencies,
    result_in_caller_order,
    score_pairs,
    stored_levels,
)
from matching.match_index import MatchIndex
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf, PrecomputedVectors
from matching.record_order import directed_pairs_in_caller_order, key_order
from matching.semantic import (
    name_embedding_text,
    sparse_neighbours,
)
from matching.settings import BlockingSettings, MatchSettings


@dataclass(frozen=True)
class IndexedMatchResult(MatchResult):
    """A match result plus what the next run needs to match incrementally.

    ``name_vectors``: name TF-IDF rows in record_index order; ``neighbours``:
    each record's semantic top-k (directed ``left -> right``); ``statistics``:
    the frozen name IDF and TF population; ``work``: how much was recomputed.
    """

    name_vectors: sp.csr_matrix
    neighbours: pl.DataFrame
    statistics: NameIdf
    work: dict[str, int] = field(default_factory=dict)


def supports_incremental(settings: BlockingSettings) -> bool:
    """Whether every configured blocking rule can be updated incrementally."""
    return all(
        rule in (SORTED_NEIGHBOURHOOD, SEMANTIC) or _rule_key(rule, settings) is not None
        for rule in settings.rules
    )


def names_and_neighbours(
    std: pl.DataFrame, statistics: NameIdf | None, *, settings: MatchSettings
) -> tuple[NameIdf, sp.csr_matrix, tuple[np.ndarray, np.ndarray]]:
    """The name statistics (fitted on ``std`` when None), every record's name vector and the
    semantic rule's directed neighbour lists: searched once, used by blocking and the index."""
    texts = name_embedding_text(std)
    if statistics is None:
        statistics, vectors = NameIdf.fit_embed(texts)
    else:
        vectors = statistics.embed(texts)
    del texts
    blocking = settings.blocking
    directed = sparse_neighbours(
        vectors, neighbours=blocking.semantic_neighbours, max_df=blocking.semantic_max_df
    )
    return statistics, vectors, directed


def match_in_full(
    std: pl.DataFrame,
    *,
    settings: MatchSettings,
    statistics: NameIdf | None,
    model: FellegiSunterModel | None = None,
    steward_decisions: pl.DataFrame | None = None,
    comparisons: tuple[Comparison, ...] | None = None,
    labels: pl.DataFrame | None = None,
) -> IndexedMatchResult:
    """``match_records`` under frozen name statistics, plus the incremental index.

    ``model`` None learns a model (first run, retrain), from ``labels`` (``fusion
    label`` answers) and the steward decisions too; ``statistics`` None fits them
    on ``std``'s names, as the first run and a retrain do.

    Like ``match_records``, it matches the records in key order and gives the
    result, name vectors and neighbour lists in ``std``'s ``record_index``
    (``matching.record_order``): the semantic neighbours are searched in that
    order too.
    """
    key = key_order(std)
    if key is not None:
        in_key_order = match_in_full(
            key.records(std),
            settings=settings,
            statistics=statistics,
            model=model,
            steward_decisions=steward_decisions,
            comparisons=comparisons,
            labels=labels,
        )
        mapped = result_in_caller_order(in_key_order, key)
        return replace(
            in_key_order,
            scored_pairs=mapped.scored_pairs,
            clusters=mapped.clusters,
            oversized_clusters=mapped.oversized_clusters,
            name_vectors=key.rows_by_index(in_key_order.name_vectors),
            neighbours=directed_pairs_in_caller_order(in_key_order.neighbours, key),
        )
    statistics, vectors, directed = names_and_neighbours(std, statistics, settings=settings)
    result = match_records(
        std,
        settings=settings,
        embedder=PrecomputedVectors(vectors),
        comparisons=comparisons,
        steward_decisions=steward_decisions,
        model=model,
        tf_population=statistics.population,
        semantic_neighbours=directed,
        labels=labels,
    )
    neighbours = _neighbour_frame(*directed)
    return IndexedMatchResult(
        scored_pairs=result.scored_pairs,
        clusters=result.clusters,
        model=result.model,
        blocking_report=result.blocking_report,
        oversized_clusters=result.oversized_clusters,
        name_vectors=vectors,
        neighbours=neighbours,
        statistics=statistics,
        work={"records": std.height, "rescored_pairs": result.scored_pairs.height},
    )


def match_incrementally(
    std: pl.DataFrame,
    *,
    previous: MatchIndex,
    settings: MatchSettings,
    statistics: NameIdf,
    model: FellegiSunterModel,
    steward_decisions: pl.DataFrame | None = None,
    comparisons: tuple[Comparison, ...] | None = None,
) -> IndexedMatchResult:
    """The result ``match_in_full`` gives on ``std``, from the previous release's index.

    ``std`` and ``previous.std`` carry ``content_hash``; records whose key and
    hash are unchanged keep their pairs and scores unless a batch reaches them
    (see the module docstring).
    """
    comparisons = comparisons or run_comparisons(settings)
    blocking = settings.blocking
    rules = blocking.rules
    changes = _Changes.between(previous.std, std)
    vectors = _carried_vectors(std, previous, changes, statistics)

    stored = previous.scored_pairs
    # The carried pairs are rows of ``stored`` (``rows``) renumbered into this run's
    # records; their columns are gathered once, into the result, and never copied
    # whole before (each copy of 6.5M pairs at 1M records was 0.5 to 1.4 GiB).
    old_left = changes.old_to_new[stored["left"].to_numpy().astype(np.int64)]
    old_right = changes.old_to_new[stored["right"].to_numpy().astype(np.int64)]
    rows = np.flatnonzero((old_left >= 0) & (old_right >= 0))
    left, right = old_left[rows], old_right[rows]
    del old_left, old_right
    was_mask = _label_masks(stored["blocking_rules"], rules).to_numpy()[rows]
    mask = was_mask.copy()
    found = [pl.DataFrame(schema={**PAIR_SCHEMA, "mask": pl.UInt32})]
    neighbours = pl.DataFrame(schema=NEIGHBOUR_SCHEMA)
    touched_records = np.zeros(std.height, dtype=bool)
    for order, rule in enumerate(rules):
        bit = np.uint32(1 << order)
        if rule == SEMANTIC:
            touched, neighbours, pairs = _semantic_update(
                vectors, previous, changes, settings=blocking
            )
        elif rule == SORTED_NEIGHBOURHOOD:
            touched, pairs = _sorted_neighbourhood_update(
                std, previous.std, changes, settings=blocking
            )
        else:
            spec = _rule_key(rule, blocking, name_aliases=settings.name_aliases)
            if spec is None:
                msg = f"blocking rule {rule!r} cannot be updated incrementally"
                raise ValueError(msg)
            touched, pairs = _exact_rule_update(
                std,
                previous.std,
                changes,
                key=spec[0],
                refine=spec[1],
                cap=spec[2],
                settings=blocking,
            )
        mask[touched[left] | touched[right]] &= ~bit
        touched_records |= touched
        found.append(pairs.with_columns(pl.lit(int(bit), dtype=pl.UInt32).alias("mask")))
    carried = pl.DataFrame(
        {"left": left, "right": right, "row": rows, "was": was_mask},
        schema={**PAIR_SCHEMA, "row": pl.Int64, "was": pl.UInt32},
    )
    del left, right, rows, was_mask
    candidates = (
        pl.concat([carried.select("left", "right", pl.Series("mask", mask)), *found])
        .group_by("left", "right")
        .agg(pl.col("mask").bitwise_or())
        .filter(pl.col("mask") > 0)
        .sort("left", "right")
    )
    del mask, found

    labels = {m: rules_label(m, rules) for m in candidates["mask"].unique().to_list()}
    # Pairs scored as before: carried, both records unchanged, no TF share moved, and
    # found by rules that imply the same evidence as before (a stored level of a
    # comparison the rules now imply, or no longer imply, is not the level to score).
    both = carried.join(candidates, on=["left", "right"])
    del carried
    reusable = both.join(
        _implied_evidence_changed(both, rules=rules, comparisons=comparisons),
        on=["left", "right"],
        how="anti",
    ).select("left", "right", "row")
    del both
    moved = np.zeros(reusable.height, dtype=bool)
    reusable_rows = reusable["row"].to_numpy()
    reusable_left = reusable["left"].to_numpy().astype(np.int64)
    for comparison in comparisons:
        if comparison.tf_column is None:
            continue
        shifted = _recounted_values(std, previous.std, changes, column=comparison.tf_column)
        holds = std[comparison.tf_column].is_in(shifted.implode()).fill_null(False).to_numpy()
        level = stored[f"{comparison.name}_level"].gather(reusable_rows)
        at_top = (level.cast(pl.String) == comparison.labels[-1]).fill_null(False).to_numpy()
        moved |= holds[reusable_left] & at_top
    # A pair whose TF share moved keeps its levels (they depend on its two records
    # only): it is reweighed from its stored levels, not compared again.
    reweighed = _stored_rows(stored, reusable.filter(pl.lit(moved)))
    todo = candidates.join(reusable.select("left", "right"), on=["left", "right"], how="anti")
    reusable = reusable.filter(pl.lit(~moved))
    compared = PairFrame.build(
        std, todo["left"].to_numpy(), todo["right"].to_numpy(), name_vectors=vectors
    )
    pair_frame = PairFrame.build(
        std,
        np.concatenate([compared.left_index, reweighed["left"].to_numpy()]),
        np.concatenate([compared.right_index, reweighed["right"].to_numpy()]),
        name_vectors=vectors,
    )
    compared_levels = without_implied_evidence(
        comparison_levels(compared, comparisons),
        todo["mask"].replace_strict(labels, return_dtype=pl.String),
        comparisons,
    )
    rescored = score_pairs(
        pair_frame,
        np.vstack([compared_levels, stored_levels(reweighed, comparisons)]),
        model=model,
        comparisons=comparisons,
        settings=settings,
        term_frequencies=pair_term_frequencies(
            std, pair_frame, comparisons, population=statistics.population
        ),
    )
    scored = _carried_and_rescored(stored, reusable, rescored).with_columns(
        candidates["mask"]
        .replace_strict(labels, return_dtype=pl.String)
        .cast(pl.Categorical)
        .alias("blocking_rules")
    )
    clustered = complete_thin_clusters(
        std,
        cluster_under_decisions(
            std, scored, steward_decisions=steward_decisions, settings=settings
        ),
        name_vectors_of=lambda rows: vectors[rows],
        model=model,
        comparisons=comparisons,
        settings=settings,
        tf_population=statistics.population,
        steward_decisions=steward_decisions,
    )
    return IndexedMatchResult(
        scored_pairs=clustered.scored_pairs,
        clusters=clustered.clusters,
        oversized_clusters=clustered.oversized_clusters,
        model=model,
        blocking_report=_report(candidates["mask"], rules),
        name_vectors=vectors,
        neighbours=neighbours,
        statistics=statistics,
        work={
            "records": std.height,
            "new_or_changed": int(changes.delta_new.sum()),
            "changed_or_deleted": int(changes.delta_old.sum()),
            "reblocked_records": int(touched_records.sum()),
            "rescored_pairs": rescored.height,
            "compared_pairs": len(compared),
            "reweighed_pairs": reweighed.height,
            "carried_pairs": reusable.height,
        },
    )


def _stored_rows(stored: pl.DataFrame, carried: pl.DataFrame) -> pl.DataFrame:
    """The stored pairs at ``carried``'s ``row``, under its (this run's) ``left`` and ``right``."""
    rows = stored.select(pl.exclude("left", "right")).gather(carried["row"])
    return rows.with_columns(carried["left"], carried["right"])


def _carried_and_rescored(
    stored: pl.DataFrame, carried: pl.DataFrame, rescored: pl.DataFrame
) -> pl.DataFrame:
    """The carried pairs' stored scores and the rescored pairs, in (left, right) order.

    ``carried``: the rows of ``stored`` kept (``row``) with this run's ``left`` and
    ``right``. Built column by column in ``rescored``'s types, so besides the
    result only one column is copied at a time (the frame concatenated, then
    sorted, held two more copies of every pair).
    """
    order = (
        pl.DataFrame(
            {
                "left": pl.concat([carried["left"], rescored["left"]]),
                "right": pl.concat([carried["right"], rescored["right"]]),
            }
        )
        .select(pl.arg_sort_by("left", "right"))
        .to_series()
    )
    columns = []
    for name, dtype in rescored.schema.items():
        kept = carried[name] if name in ("left", "right") else stored[name].gather(carried["row"])
        columns.append(pl.concat([kept.cast(dtype), rescored[name]]).gather(order))
    return pl.DataFrame(columns)


def _implied_evidence_changed(
    both: pl.DataFrame, *, rules: tuple[str, ...], comparisons: tuple[Comparison, ...]
) -> pl.DataFrame:
    """(left, right) of carried pairs whose rules now imply other comparisons than before.

    ``both``: the carried pairs this run finds too, with their previous rule
    mask (``was``) and this run's (``mask``). A pair a capped block no longer
    yields keeps only the rules that still find it, and what those imply
    (``matching.blocked_evidence``) may differ: its stored levels then hold a
    comparison as implied that must be counted, or the reverse, and only
    comparing it again gives the full rebuild's score.
    """
    changes = both.select("was", "mask").unique().filter(pl.col("was") != pl.col("mask"))
    differ = [
        (int(w), int(m))
        for w, m in changes.iter_rows()
        if not np.array_equal(
            implied_comparisons(rules_label(int(w), rules), comparisons),
            implied_comparisons(rules_label(int(m), rules), comparisons),
        )
    ]
    if not differ:
        return both.select("left", "right").clear()
    pairs = pl.DataFrame(differ, schema={"was": pl.UInt32, "mask": pl.UInt32}, orient="row")
    return both.join(pairs, on=["was", "mask"], how="semi").select("left", "right")
