"""Steward link decisions as hard constraints on clustering.

A steward's must-link or cannot-link binds every later run, whatever the
model or thresholds say then: it is applied to the pairs clustering sees,
not to the model. A must-link becomes the strongest possible link (added even
if blocking never proposed the pair); a cannot-link becomes a certain
non-match, which clustering never merges across. The latest decision on a
pair wins; decisions naming a record that is not in this run are ignored.
"""

from __future__ import annotations

import polars as pl

MUST_LINK = "must_link"
CANNOT_LINK = "cannot_link"
DECISIONS = (MUST_LINK, CANNOT_LINK)
CERTAIN_WEIGHT = 1_000.0

DECISION_COLUMNS = (
    "left_source_system",
    "left_source_record_id",
    "right_source_system",
    "right_source_record_id",
    "decision",
    "decided_at",
)


def steward_pairs(std: pl.DataFrame, decisions: pl.DataFrame | None) -> pl.DataFrame:
    """Decisions as record-index pairs ``left < right`` with their ``steward_decision``.

    Args:
        std: Standardised records (``record_index``, ``source_system``, ``source_record_id``).
        decisions: Steward link decisions (``DECISION_COLUMNS``), or None.
    """
    empty = pl.DataFrame(
        schema={"left": pl.UInt32, "right": pl.UInt32, "steward_decision": pl.String}
    )
    if decisions is None or not decisions.height:
        return empty
    keys = std.select("record_index", "source_system", "source_record_id")
    left = keys.rename(
        {"record_index": "a", "source_system": "left_source_system",
         "source_record_id": "left_source_record_id"}
    )  # fmt: skip
    right = keys.rename(
        {"record_index": "b", "source_system": "right_source_system",
         "source_record_id": "right_source_record_id"}
    )  # fmt: skip
    latest = (
        decisions.join(left, on=["left_source_system", "left_source_record_id"])
        .join(right, on=["right_source_system", "right_source_record_id"])
        .filter(pl.col("a") != pl.col("b"))
        .select(
            pl.min_horizontal("a", "b").cast(pl.UInt32).alias("left"),
            pl.max_horizontal("a", "b").cast(pl.UInt32).alias("right"),
            pl.col("decision").alias("steward_decision"),
            "decided_at",
        )
        .sort("left", "right", "decided_at")
        .unique(["left", "right"], keep="last", maintain_order=True)
    )
    return latest.select("left", "right", "steward_decision")


def with_steward_decisions(scored: pl.DataFrame, decided: pl.DataFrame) -> pl.DataFrame:
    """The pairs clustering sees: model scores, overridden where a steward decided.

    Pairs a steward must-linked but blocking never proposed are added.
    """
    columns = ["left", "right", "match_weight", "match_probability"]
    columns += ["weak_link"] if "weak_link" in scored.columns else []
    if not decided.height:
        return scored.select(columns)
    edges = scored.select(columns).join(decided, on=["left", "right"], how="full", coalesce=True)
    must = pl.col("steward_decision") == MUST_LINK
    cannot = pl.col("steward_decision") == CANNOT_LINK
    return (
        edges.filter(pl.col("match_weight").is_not_null() | must)
        .with_columns(
            pl.when(must)
            .then(CERTAIN_WEIGHT)
            .when(cannot)
            .then(-CERTAIN_WEIGHT)
            .otherwise(pl.col("match_weight"))
            .alias("match_weight"),
            pl.when(must)
            .then(1.0)
            .when(cannot)
            .then(0.0)
            .otherwise(pl.col("match_probability"))
            .alias("match_probability"),
            *(
                [(pl.col("weak_link") & ~must).fill_null(False).alias("weak_link")]
                if "weak_link" in columns
                else []
            ),
        )
        .drop("steward_decision")
        .sort("left", "right")
    )
