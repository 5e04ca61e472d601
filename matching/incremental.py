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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.aliases import NameAliases
from matching.attributes import run_comparisons
from matching.blocked_evidence import without_implied_evidence
from matching.blocking import (
    BLOCKING_RULES,
    PAIR_SCHEMA,
    BlockingContext,
    RuleOutcome,
    block_on_sorted_name_neighbourhood,
    pairs_sharing_key,
    record_keys,
)
from matching.comparisons import Comparison, PairFrame, comparison_levels
from matching.linkage import (
    MatchResult,
    cluster_under_decisions,
    match_records,
    pair_term_frequencies,
    score_pairs,
    stored_levels,
)
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf, PrecomputedVectors
from matching.semantic import (
    cosine_of_pairs,
    distinctive_ngram_vectors,
    name_embedding_text,
    sparse_neighbours,
    sparse_neighbours_of_rows,
)
from matching.settings import BlockingSettings, MatchSettings

KEYS = ["source_system", "source_record_id"]
SORTED_NEIGHBOURHOOD = "sorted_name_neighbourhood"
SEMANTIC = "semantic_name_neighbours"
# The name the sorted-neighbourhood rule orders (matching.blocking).
SN_NAME = pl.col("name_latin").str.replace_all(" ", "")
NEIGHBOUR_SCHEMA = {"left": pl.UInt32, "right": pl.UInt32}


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


@dataclass(frozen=True)
class MatchIndex:
    """The previous release's matching state, in its own record_index.

    ``std`` must hold ``record_index``, the source keys and ``content_hash``;
    ``scored_pairs`` the scored pairs (``left``, ``right``, levels, weights,
    ``match_weight``, ``match_probability``, ``decision``, ``blocking_rules``).
    """

    std: pl.DataFrame
    scored_pairs: pl.DataFrame
    name_vectors: sp.csr_matrix
    neighbours: pl.DataFrame


def supports_incremental(settings: BlockingSettings) -> bool:
    """Whether every configured blocking rule can be updated incrementally."""
    return all(
        rule in (SORTED_NEIGHBOURHOOD, SEMANTIC) or _rule_key(rule, settings) is not None
        for rule in settings.rules
    )


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
    """
    texts = name_embedding_text(std)
    if statistics is None:
        statistics, vectors = NameIdf.fit_embed(texts)
    else:
        vectors = statistics.embed(texts)
    del texts
    blocking = settings.blocking
    # The index's neighbour lists are the semantic rule's: searched once, used twice.
    directed = sparse_neighbours(
        vectors, neighbours=blocking.semantic_neighbours, max_df=blocking.semantic_max_df
    )
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
        name_vectors=vectors,
        neighbours=neighbours,
        statistics=statistics,
        work={"records": std.height, "rescored_pairs": result.scored_pairs.height},
    )


@dataclass(frozen=True)
class _Changes:
    """How the previous records map onto this run's."""

    old_to_new: np.ndarray  # previous record_index -> this run's, -1 if changed or deleted
    delta_new: np.ndarray  # bool per record of this run: new or changed
    delta_old: np.ndarray  # bool per previous record: changed or deleted

    @classmethod
    def between(cls, previous: pl.DataFrame, current: pl.DataFrame) -> _Changes:
        same = previous.select("record_index", *KEYS, "content_hash").join(
            current.select("record_index", *KEYS, "content_hash"),
            on=[*KEYS, "content_hash"],
            suffix="_new",
        )
        old_to_new = np.full(previous.height, -1, dtype=np.int64)
        old_index = same["record_index"].to_numpy().astype(np.int64)
        new_index = same["record_index_new"].to_numpy().astype(np.int64)
        old_to_new[old_index] = new_index
        delta_new = np.ones(current.height, dtype=bool)
        delta_new[new_index] = False
        return cls(old_to_new=old_to_new, delta_new=delta_new, delta_old=old_to_new < 0)


def _rule_key(
    rule: str, settings: BlockingSettings, *, name_aliases: NameAliases | None = None
) -> tuple[pl.Expr, pl.Expr | None, int] | None:
    """The key, refinement and block cap of an exact-key rule (None: not an exact-key rule).

    ``name_aliases``: the table the ``name_alias`` rule's key reads.
    """
    if rule in (SORTED_NEIGHBOURHOOD, SEMANTIC) or rule not in BLOCKING_RULES:
        return None
    captured: list[tuple[pl.Expr, pl.Expr | None, int]] = []

    def probe(key: pl.Expr, refine: pl.Expr | None, cap: int) -> RuleOutcome:
        captured.append((key, refine, cap))
        return RuleOutcome(pl.DataFrame(schema=PAIR_SCHEMA))

    empty = pl.DataFrame(schema={"record_index": pl.UInt32})
    BLOCKING_RULES[rule](
        BlockingContext(
            std=empty,
            name_vectors=None,
            settings=settings,
            key_probe=probe,
            name_aliases=name_aliases,
        )
    )
    return captured[0] if len(captured) == 1 else None


def _subset(std: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """Rows of ``std`` renumbered 0..m-1 (rules index columns by record_index)."""
    return std[rows].with_columns(pl.Series("record_index", np.arange(len(rows), dtype=np.uint32)))


def _mapped_pairs(outcome: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    left = rows[outcome["left"].to_numpy().astype(np.int64)]
    right = rows[outcome["right"].to_numpy().astype(np.int64)]
    return pl.DataFrame(
        {"left": np.minimum(left, right), "right": np.maximum(left, right)}, schema=PAIR_SCHEMA
    ).unique()


def _exact_rule_update(
    std: pl.DataFrame,
    previous_std: pl.DataFrame,
    changes: _Changes,
    *,
    key: pl.Expr,
    refine: pl.Expr | None,
    cap: int,
    settings: BlockingSettings,
) -> tuple[np.ndarray, pl.DataFrame]:
    """(records whose blocks are rebuilt, the rebuilt pairs that hold one of them).

    A record is touched when it holds a key that a changed record held or holds.
    A rule keyed on a list (name parts) gives a touched record other keys too:
    every holder of any key of a touched record is in the rebuilt subset, so each
    block a touched record is in is rebuilt whole; only pairs holding a touched
    record are returned (the caller clears this rule's old pairs likewise).
    """
    old_keys = record_keys(previous_std.filter(pl.lit(changes.delta_old)), key)["key"]
    new_keys = record_keys(std.filter(pl.lit(changes.delta_new)), key)["key"]
    affected = pl.concat([old_keys, new_keys]).unique()
    current = record_keys(std, key)
    touched = _holders(current, affected, std.height)
    held = current.filter(pl.lit(touched[current["record_index"].to_numpy().astype(np.int64)]))
    rows = np.flatnonzero(_holders(current, held["key"].unique(), std.height))
    if len(rows) < 2:
        return touched, pl.DataFrame(schema=PAIR_SCHEMA)
    context = BlockingContext(std=_subset(std, rows), name_vectors=None, settings=settings)
    outcome = pairs_sharing_key(key, context, refine=refine, cap=cap)
    pairs = _mapped_pairs(outcome.pairs, rows)
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    return touched, pairs.filter(pl.lit(touched[left] | touched[right]))


def _holders(keyed: pl.DataFrame, keys: pl.Series, n_records: int) -> np.ndarray:
    """Bool per record: holds one of ``keys`` (``keyed`` from ``record_keys``)."""
    holds = np.zeros(n_records, dtype=bool)
    rows = keyed.filter(pl.col("key").is_in(keys.implode()))["record_index"]
    holds[rows.to_numpy().astype(np.int64)] = True
    return holds


def _kept_names(std: pl.DataFrame, cap: int) -> pl.Series:
    """Distinct names the sorted neighbourhood ranks (held by at most ``cap`` records), sorted."""
    names = std.select(SN_NAME.alias("name")).filter(
        pl.col("name").is_not_null() & (pl.col("name") != "")
    )
    counts = names.group_by("name").len()
    return counts.filter(pl.col("len") <= cap)["name"].sort()


def _window(order: pl.Series, names: pl.Series, half: int) -> pl.Series:
    """Names of ``order`` within ``half`` positions of any of ``names``."""
    position = np.flatnonzero(order.is_in(names.implode()).to_numpy())
    if len(position) == 0:
        return order.head(0)
    near = (position[:, None] + np.arange(-half, half + 1)[None, :]).ravel()
    near = np.unique(near[(near >= 0) & (near < len(order))])
    return order.gather(near)


def _sorted_neighbourhood_update(
    std: pl.DataFrame, previous_std: pl.DataFrame, changes: _Changes, *, settings: BlockingSettings
) -> tuple[np.ndarray, pl.DataFrame]:
    """(records whose sorted-neighbourhood pairs are recomputed, those pairs)."""
    cap, half = settings.max_block_size, (settings.neighbourhood_window - 1) // 2
    changed = (
        pl.concat(
            [
                previous_std.filter(pl.lit(changes.delta_old)).select(SN_NAME.alias("n"))["n"],
                std.filter(pl.lit(changes.delta_new)).select(SN_NAME.alias("n"))["n"],
            ]
        )
        .drop_nulls()
        .unique()
    )
    new_order = _kept_names(std, cap)
    near = pl.concat(
        [_window(_kept_names(previous_std, cap), changed, half), _window(new_order, changed, half)]
    ).unique()
    names = std.select(SN_NAME.alias("n"))["n"]
    touched = names.is_in(near.implode()).fill_null(False).to_numpy()
    around = _window(new_order, near, half)
    rows = np.flatnonzero(names.is_in(around.implode()).fill_null(False).to_numpy())
    if len(rows) < 2:
        return touched, pl.DataFrame(schema=PAIR_SCHEMA)
    context = BlockingContext(std=_subset(std, rows), name_vectors=None, settings=settings)
    pairs = _mapped_pairs(block_on_sorted_name_neighbourhood(context).pairs, rows)
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    return touched, pairs.filter(pl.lit(touched[left] | touched[right]))


def _rows_holding(vectors: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
    """Rows with a non-zero in any of ``columns``."""
    if len(columns) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.diff(vectors[:, columns].tocsr().indptr) > 0)


def _neighbour_frame(left: np.ndarray, right: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"left": left, "right": right}, schema=NEIGHBOUR_SCHEMA).sort(
        "left", "right"
    )


def _semantic_update(
    vectors: sp.csr_matrix,
    previous: MatchIndex,
    changes: _Changes,
    *,
    settings: BlockingSettings,
) -> tuple[np.ndarray, pl.DataFrame, pl.DataFrame]:
    """(rows whose top-k was recomputed, all directed neighbours, pairs touching those rows)."""
    n, width = vectors.shape
    max_df = settings.semantic_max_df

    def distinctive(matrix: sp.csr_matrix) -> np.ndarray:
        df = np.bincount(matrix.indices, minlength=width)
        return (df >= 2) & (df <= max_df)

    now, before = distinctive(vectors), distinctive(previous.name_vectors)
    flipped = np.flatnonzero(now != before)
    new_rows = np.flatnonzero(changes.delta_new)
    # Rows that gain a candidate (a new or changed record shares a distinctive
    # n-gram) or lose one (a removed record did): the top-k kernel keeps 2k + 1
    # candidates per row before breaking ties, so a lost candidate outside the
    # top k can still change it.
    gained = np.unique(vectors[new_rows].indices)
    lost_columns = np.unique(previous.name_vectors[np.flatnonzero(changes.delta_old)].indices)
    reached = np.union1d(gained[now[gained]], lost_columns[before[lost_columns]])
    old = previous.neighbours
    old_left = changes.old_to_new[old["left"].to_numpy().astype(np.int64)]
    old_right = changes.old_to_new[old["right"].to_numpy().astype(np.int64)]
    lost = old_left[(old_left >= 0) & (old_right < 0)]
    affected = np.zeros(n, dtype=bool)
    for rows in (_rows_holding(vectors, flipped), _rows_holding(vectors, reached), lost, new_rows):
        affected[rows] = True
    rows = np.flatnonzero(affected)
    pruned = distinctive_ngram_vectors(vectors, max_df=max_df)
    fresh_left, fresh_right = sparse_neighbours_of_rows(
        pruned, rows, neighbours=settings.semantic_neighbours
    )
    keep = (old_left >= 0) & (old_right >= 0)
    keep[keep] = ~affected[old_left[keep]]
    neighbours = _neighbour_frame(
        np.concatenate([old_left[keep], fresh_left]), np.concatenate([old_right[keep], fresh_right])
    )
    left = neighbours["left"].to_numpy().astype(np.int64)
    right = neighbours["right"].to_numpy().astype(np.int64)
    near = affected[left] | affected[right]
    left, right = left[near], right[near]
    close = cosine_of_pairs(vectors, left, right) >= settings.semantic_min_cosine
    pairs = pl.DataFrame(
        {"left": np.minimum(left, right)[close], "right": np.maximum(left, right)[close]},
        schema=PAIR_SCHEMA,
    ).unique()
    return affected, neighbours, pairs


def _label_masks(labels: pl.Series, rules: tuple[str, ...]) -> pl.Series:
    """``blocking_rules`` labels ('email,phone') as bit masks in rule order."""
    distinct = labels.unique().to_list()
    masks = {
        label: sum(1 << k for k, rule in enumerate(rules) if rule in (label or "").split(","))
        for label in distinct
    }
    return labels.replace_strict(masks, return_dtype=pl.UInt32)


def _carried_vectors(
    std: pl.DataFrame, previous: MatchIndex, changes: _Changes, statistics: NameIdf
) -> sp.csr_matrix:
    """This run's name vectors: stored rows for unchanged records, new rows embedded."""
    kept_old = np.flatnonzero(changes.old_to_new >= 0)
    kept_new = changes.old_to_new[kept_old]
    new_rows = np.flatnonzero(changes.delta_new)
    fresh = statistics.embed(name_embedding_text(std[new_rows]))
    stacked = sp.vstack([previous.name_vectors[kept_old], fresh], format="csr")
    position = np.empty(std.height, dtype=np.int64)
    position[kept_new] = np.arange(len(kept_old))
    position[new_rows] = len(kept_old) + np.arange(len(new_rows))
    return stacked[position]


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

    old = previous.scored_pairs
    old_left = changes.old_to_new[old["left"].to_numpy().astype(np.int64)]
    old_right = changes.old_to_new[old["right"].to_numpy().astype(np.int64)]
    carried = (old_left >= 0) & (old_right >= 0)
    old = old.filter(pl.lit(carried)).with_columns(
        pl.Series("left", old_left[carried], dtype=pl.UInt32),
        pl.Series("right", old_right[carried], dtype=pl.UInt32),
    )
    mask = _label_masks(old["blocking_rules"], rules).to_numpy().copy()
    left = old["left"].to_numpy().astype(np.int64)
    right = old["right"].to_numpy().astype(np.int64)
    found = [pl.DataFrame(schema={**PAIR_SCHEMA, "mask": pl.UInt32})]
    neighbours = pl.DataFrame(schema=NEIGHBOUR_SCHEMA)
    touched_records = np.zeros(std.height, dtype=bool)
    for order, rule in enumerate(rules):
        bit = np.uint32(1 << order)
        if rule == SEMANTIC:
            touched, neighbours, pairs = _semantic_update(
                vectors, previous, changes, settings=blocking
            )
            clear = touched[left] | touched[right]
        elif rule == SORTED_NEIGHBOURHOOD:
            touched, pairs = _sorted_neighbourhood_update(
                std, previous.std, changes, settings=blocking
            )
            clear = touched[left] | touched[right]
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
            clear = touched[left] | touched[right]
        mask[clear] &= ~bit
        touched_records |= touched
        found.append(pairs.with_columns(pl.lit(int(bit), dtype=pl.UInt32).alias("mask")))
    candidates = (
        pl.concat([old.select("left", "right").with_columns(pl.Series("mask", mask)), *found])
        .group_by("left", "right")
        .agg(pl.col("mask").bitwise_or())
        .filter(pl.col("mask") > 0)
        .sort("left", "right")
    )

    # Pairs scored as before: carried, both records unchanged, no TF share moved.
    score_columns = [c for c in old.columns if c not in ("blocking_rules", "steward_decision")]
    reusable = old.select(score_columns).join(
        candidates.select("left", "right"), on=["left", "right"], how="semi"
    )
    moved = np.zeros(len(reusable), dtype=bool)
    reusable_left = reusable["left"].to_numpy().astype(np.int64)
    for comparison in comparisons:
        if comparison.tf_column is None:
            continue
        shifted = _recounted_values(std, previous.std, changes, column=comparison.tf_column)
        holds = std[comparison.tf_column].is_in(shifted.implode()).fill_null(False).to_numpy()
        at_top = (reusable[f"{comparison.name}_level"] == comparison.labels[-1]).to_numpy()
        moved |= holds[reusable_left] & at_top
    # A pair whose TF share moved keeps its levels (they depend on its two records
    # only): it is reweighed from its stored levels, not compared again.
    reweighed = reusable.filter(pl.lit(moved))
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
    labels = {
        m: ",".join(r for k, r in enumerate(rules) if m >> k & 1)
        for m in candidates["mask"].unique().to_list()
    }
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
    scored = (
        pl.concat([reusable.select(rescored.columns).cast(rescored.schema), rescored])
        .sort("left", "right")
        .with_columns(
            candidates["mask"]
            .replace_strict(labels, return_dtype=pl.String)
            .cast(pl.Categorical)
            .alias("blocking_rules")
        )
    )
    scored, clusters = cluster_under_decisions(
        std, scored, steward_decisions=steward_decisions, settings=settings
    )
    return IndexedMatchResult(
        scored_pairs=scored,
        clusters=clusters,
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


def _recounted_values(
    std: pl.DataFrame, previous_std: pl.DataFrame, changes: _Changes, *, column: str
) -> pl.Series:
    """Values of ``column`` whose record count the batch changed.

    Their share, and so the term-frequency adjustment of every pair agreeing on
    them at the top level (the only level it applies to), moved; other
    values' shares did not, the denominator being fixed with the model.
    """
    values = (
        pl.concat(
            [
                previous_std.filter(pl.lit(changes.delta_old))[column],
                std.filter(pl.lit(changes.delta_new))[column],
            ]
        )
        .drop_nulls()
        .unique()
    )
    if values.is_empty():
        return values

    def counts(frame: pl.DataFrame) -> pl.DataFrame:
        held = frame.select(pl.col(column).alias("value")).filter(
            pl.col("value").is_in(values.implode())
        )
        return held.group_by("value").len()

    both = counts(previous_std).join(counts(std), on="value", how="full", coalesce=True)
    recounted = both.filter(pl.col("len").fill_null(0) != pl.col("len_right").fill_null(0))
    return recounted["value"]


def _report(masks: pl.Series, rules: tuple[str, ...]) -> pl.DataFrame:
    """Pairs per rule and pairs a rule found first; skipped blocks are not recounted (null)."""
    values = masks.to_numpy().astype(np.int64)
    lowest = values & -values
    rows = [
        {
            "rule": rule,
            "pairs": int(((values >> k) & 1).sum()),
            "new_pairs": int((lowest == (1 << k)).sum()),
            "skipped_blocks": None,
            "skipped_records": None,
        }
        for k, rule in enumerate(rules)
    ]
    return pl.DataFrame(
        rows,
        schema={"rule": pl.String, "pairs": pl.Int64, "new_pairs": pl.Int64,
                "skipped_blocks": pl.Int64, "skipped_records": pl.Int64},
    )  # fmt: skip
