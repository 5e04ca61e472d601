"""How a batch updates each blocking rule: the changed records and the pairs each rule re-derives.

The helpers of ``matching.incremental.match_incrementally``, whose module docstring states
the rule they follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.aliases import NameAliases
from matching.blocking import (
    BLOCKING_RULES,
    PAIR_SCHEMA,
    BlockingContext,
    RuleOutcome,
    block_on_sorted_name_neighbourhood,
    pairs_sharing_key,
    record_keys,
)
from matching.match_index import MatchIndex
from matching.name_idf import NameIdf
from matching.semantic import (
    cosine_of_pairs,
    distinctive_ngram_vectors,
    name_embedding_text,
    sparse_neighbours_of_rows,
)
from matching.settings import BlockingSettings
from matching.unique import sorted_unique

KEYS = ["source_system", "source_record_id"]
SORTED_NEIGHBOURHOOD = "sorted_name_neighbourhood"
SEMANTIC = "semantic_name_neighbours"
# The name the sorted-neighbourhood rule orders (matching.blocking).
SN_NAME = pl.col("name_latin").str.replace_all(" ", "")
NEIGHBOUR_SCHEMA = {"left": pl.UInt32, "right": pl.UInt32}


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
    near = sorted_unique(near[(near >= 0) & (near < len(order))])
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
    gained = sorted_unique(vectors[new_rows].indices)
    lost_columns = sorted_unique(previous.name_vectors[np.flatnonzero(changes.delta_old)].indices)
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
