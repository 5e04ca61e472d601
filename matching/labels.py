"""Labelled pairs as training data: the answers of ``fusion label`` and stewards' decisions.

dedupe and Zingg learn from a person answering "same customer?" on the pairs the
model is least sure of. Here those answers (yes / no / unsure, kept beside the
releases by ``pipelines.stewardship.labelling``) and the stewards' must-link / cannot-link
decisions (``matching.steward``) become labels of candidate pairs, and EM
(``matching.model.fit_model``) clamps their posterior to the answer in every
E-step: semi-supervised EM. A labelled pair blocking never proposed is added to
the candidates, so its levels are computed like any other pair's.

The latest answer on a pair wins (an 'unsure' after a 'yes' withdraws it); a
steward's decision wins over a labeller's answer on the same pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from matching.steward import MUST_LINK, steward_pairs

YES, NO, UNSURE = "yes", "no", "unsure"
ANSWERS = (YES, NO, UNSURE)
LABEL_ORIGIN, STEWARD_ORIGIN = "label", "steward"
LABELLED_RULE = "labelled"
"""The ``blocking_rules`` of a labelled pair that no blocking rule proposed."""

LABEL_SCHEMA: dict[str, pl.DataType] = {
    "left_source_system": pl.String(),
    "left_source_record_id": pl.String(),
    "right_source_system": pl.String(),
    "right_source_record_id": pl.String(),
    "answer": pl.String(),
    "labeller": pl.String(),
    "labelled_at": pl.Datetime("us", "UTC"),
}
TRAINING_SCHEMA: dict[str, pl.DataType] = {
    "left": pl.UInt32(),
    "right": pl.UInt32(),
    "label": pl.Float64(),
    "origin": pl.String(),
}


def training_pairs(
    std: pl.DataFrame, *, labels: pl.DataFrame | None, decisions: pl.DataFrame | None
) -> pl.DataFrame:
    """Labelled record-index pairs ``left < right``: ``label`` 1.0 (match) or 0.0, and ``origin``.

    Args:
        std: Standardised records (``record_index`` and the source keys).
        labels: Answers (``LABEL_SCHEMA``), or None; 'unsure' labels nothing.
        decisions: Steward link decisions (``matching.steward.DECISION_COLUMNS``), or None.

    Pairs naming a record that is not in this run are left out.

    Example:
        >>> std = pl.DataFrame({"record_index": [0, 1], "source_system": ["crm", "erp"],
        ...                     "source_record_id": ["C1", "E1"]})
        >>> answer = pl.DataFrame({"left_source_system": ["erp"], "left_source_record_id": ["E1"],
        ...     "right_source_system": ["crm"], "right_source_record_id": ["C1"], "answer": ["yes"],
        ...     "labelled_at": [0]})
        >>> training_pairs(std, labels=answer, decisions=None).rows()
        [(0, 1, 1.0, 'label')]
    """
    parts = []
    if labels is not None and labels.height:
        answered = steward_pairs(
            std,
            labels.select(
                "left_source_system",
                "left_source_record_id",
                "right_source_system",
                "right_source_record_id",
                pl.col("answer").alias("decision"),
                pl.col("labelled_at").alias("decided_at"),
            ),
        )
        parts.append(
            answered.filter(pl.col("steward_decision") != UNSURE).select(
                "left",
                "right",
                (pl.col("steward_decision") == YES).cast(pl.Float64).alias("label"),
                pl.lit(LABEL_ORIGIN).alias("origin"),
            )
        )
    decided = steward_pairs(std, decisions)
    if decided.height:
        parts.append(
            decided.select(
                "left",
                "right",
                (pl.col("steward_decision") == MUST_LINK).cast(pl.Float64).alias("label"),
                pl.lit(STEWARD_ORIGIN).alias("origin"),
            )
        )
    if not parts:
        return pl.DataFrame(schema=TRAINING_SCHEMA)
    # A steward's decision (the later part) wins over a labeller's answer on the same pair.
    return (
        pl.concat(parts)
        .cast(pl.Schema(TRAINING_SCHEMA))
        .unique(["left", "right"], keep="last", maintain_order=True)
        .sort("left", "right")
    )


def with_labelled_candidates(pairs: pl.DataFrame, training: pl.DataFrame) -> pl.DataFrame:
    """Candidate pairs plus the labelled pairs (``origin`` label) blocking did not propose.

    The added pairs carry ``blocking_rules`` 'labelled' (it implies no comparison); the
    result stays sorted by ``left, right`` as blocking returns it.
    """
    answered = training.filter(pl.col("origin") == LABEL_ORIGIN).select("left", "right")
    missing = answered.join(pairs.select("left", "right"), on=["left", "right"], how="anti")
    if not missing.height:
        return pairs
    added = missing.with_columns(pl.lit(LABELLED_RULE).alias("blocking_rules"))
    return pl.concat([pairs, added.cast(pairs.select(added.columns).schema)], how="diagonal").sort(
        "left", "right"
    )


def labelled_rows(left: np.ndarray, right: np.ndarray, training: pl.DataFrame) -> np.ndarray:
    """Per candidate row: 1.0 (labelled a match), 0.0 (a non-match) or NaN (unlabelled)."""
    rows = pl.DataFrame(
        {"left": pl.Series(left, dtype=pl.UInt32), "right": pl.Series(right, dtype=pl.UInt32)}
    )
    joined = rows.join(
        training.select("left", "right", "label"), on=["left", "right"], how="left",
        maintain_order="left",
    )  # fmt: skip
    return joined["label"].fill_null(float("nan")).to_numpy().astype(np.float64)


@dataclass(frozen=True)
class LabelledPatterns:
    """EM's input with the labelled rows as patterns of their own.

    ``counts``: what each pattern weighs in m and u (a labelled pair counts
    ``label_weight`` times); ``prior_counts``: how many pairs it stands for (a
    labelled pair once, so the labels, picked near the boundary, do not bias the
    prior); ``clamp``: the label of a labelled pattern, NaN for the others.
    """

    patterns: np.ndarray
    counts: np.ndarray
    prior_counts: np.ndarray
    clamp: np.ndarray
    # Per pattern, the labelled pairs with the same levels and how many of them match
    # (0 for a pattern no label shares).
    peers_labelled: np.ndarray | None = None
    peers_matching: np.ndarray | None = None

    @property
    def labelled(self) -> int:
        """How many labelled pairs the patterns hold."""
        return int(self.prior_counts[~np.isnan(self.clamp)].sum())

    def posterior(self, posterior: np.ndarray) -> np.ndarray:
        """EM's posterior with the labels applied: clamped, and shared with identical pairs.

        A labelled pair's posterior is its label. An unlabelled pair whose levels
        equal a labelled pair's is indistinguishable from it to the model, so the
        labels are direct evidence about it: its posterior becomes
        (matching labels + EM's posterior) / (labels + 1), EM's own estimate
        counting as one more label. Without this, one 'no' on a pattern that
        6,000 pairs share moved nothing: EM kept calling the other 5,999 matches.
        """
        out = posterior
        if self.peers_labelled is not None and self.peers_matching is not None:
            shared = self.peers_labelled > 0
            out = np.where(
                shared, (self.peers_matching + posterior) / (self.peers_labelled + 1.0), posterior
            )
        return clamped(out, self.clamp)


def with_labelled_patterns(
    patterns: np.ndarray,
    counts: np.ndarray,
    candidate_levels: np.ndarray,
    labelled: np.ndarray | None,
    *,
    weight: float,
) -> LabelledPatterns:
    """The unlabelled rows' ``patterns``/``counts`` plus one pattern per (levels, label).

    Args:
        patterns: Distinct level rows of the unlabelled candidates.
        counts: How often each occurs.
        candidate_levels: Every candidate's levels (the labelled rows are read from it).
        labelled: Per candidate, 1.0 / 0.0 / NaN (see ``labelled_rows``), or None.
        weight: How many pairs one label counts as in m and u.
    """
    unlabelled = np.full(len(counts), np.nan)
    if labelled is None or not (known := ~np.isnan(labelled)).any():
        return LabelledPatterns(patterns, counts, counts, unlabelled)
    rows = np.column_stack([candidate_levels[known].astype(np.int16), labelled[known]])
    distinct, tally = np.unique(rows, axis=0, return_counts=True)
    label_patterns = distinct[:, :-1].astype(patterns.dtype)
    all_patterns = np.vstack([patterns, label_patterns])
    # Labelled pairs per distinct level row, and how many of them match.
    _, row_of_pattern = np.unique(all_patterns, axis=0, return_inverse=True)
    row_of_pattern = row_of_pattern.ravel()
    labelled_part = row_of_pattern[len(counts) :]
    per_row = np.bincount(labelled_part, weights=tally, minlength=row_of_pattern.max() + 1)
    matching = np.bincount(
        labelled_part, weights=tally * distinct[:, -1], minlength=row_of_pattern.max() + 1
    )
    return LabelledPatterns(
        patterns=all_patterns,
        counts=np.concatenate([counts, tally * weight]),
        prior_counts=np.concatenate([counts, tally.astype(np.float64)]),
        clamp=np.concatenate([unlabelled, distinct[:, -1]]),
        peers_labelled=per_row[row_of_pattern],
        peers_matching=matching[row_of_pattern],
    )


def clamped(posterior: np.ndarray, clamp: np.ndarray) -> np.ndarray:
    """The posterior with every labelled pattern set to its label.

    Example:
        >>> clamped(np.array([0.4, 0.6, 0.5]), np.array([np.nan, 0.0, 1.0])).tolist()
        [0.4, 0.0, 1.0]
    """
    return np.where(np.isnan(clamp), posterior, clamp)
