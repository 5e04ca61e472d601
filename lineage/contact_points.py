"""Aggregation survivorship: every distinct e-mail and phone of a customer, with its sources.

The golden record keeps one e-mail and one phone; a customer may be reachable at
several. ``customer_contact_points`` keeps all of them (Reltio's aggregation
rule), one row per customer and distinct value, naming every source record that
holds it, so nothing a source knew is lost and the golden one is marked.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from lineage.trust import normalised_value

CONTACT_POINT_COLUMNS: tuple[str, ...] = (
    "unified_id",
    "kind",
    "value",
    "is_primary",
    "validation_issues",
    "trust_score",
    "source_systems",
    "source_records",
    "record_count",
    "first_seen_at",
    "last_seen_at",
    "run_id",
)
CONTACT_POINT_SCHEMA: dict[str, pl.DataType] = {
    "unified_id": pl.String(),
    "kind": pl.String(),
    "value": pl.String(),
    "is_primary": pl.Boolean(),
    "validation_issues": pl.String(),
    "trust_score": pl.Float64(),
    "source_systems": pl.List(pl.String()),
    "source_records": pl.List(pl.String()),
    "record_count": pl.Int64(),
    "first_seen_at": pl.Datetime("us", "UTC"),
    "last_seen_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String(),
}


# The field_candidates columns read; the last, validation_issues, may be missing.
CANDIDATE_COLUMNS_READ: tuple[str, ...] = (
    "unified_id", "field", "value", "source_system", "source_record_id",
    "source_updated_at", "trust_score", "is_winner", "run_id", "validation_issues",
)  # fmt: skip


def customer_contact_points(
    field_candidates: pl.DataFrame, *, fields: Sequence[str] = ("email", "phone")
) -> pl.DataFrame:
    """One row per (customer, kind, distinct value) over the ``field_candidates`` table.

    Values are the same when they agree on letters and digits, case-folded (the
    e-mail and phone are already standardised). The shown ``value``,
    ``validation_issues`` and ``trust_score`` are those of the golden value for the
    primary row (``is_primary``), else of the group's most trusted candidate.

    Example::

        points = customer_contact_points(golden.field_candidates)
        points.filter(pl.col("unified_id") == "FU-00000025")
    """
    missing = [c for c in CANDIDATE_COLUMNS_READ[:-1] if c not in field_candidates.columns]
    if missing:
        msg = f"field_candidates: missing columns {missing}"
        raise ValueError(msg)
    candidates = field_candidates.filter(pl.col("field").is_in(list(fields)))
    if "validation_issues" not in candidates.columns:
        candidates = candidates.with_columns(pl.lit(None, pl.String).alias("validation_issues"))
    order = {field: i for i, field in enumerate(fields)}
    points = (
        candidates.with_columns(
            normalised_value(pl.col("value")).alias("_norm"),
            pl.format("{}:{}", "source_system", "source_record_id").alias("_record"),
        )
        .sort(
            "is_winner",
            "trust_score",
            "source_system",
            "source_record_id",
            descending=[True, True, False, False],
        )
        .group_by("unified_id", pl.col("field").alias("kind"), "_norm", maintain_order=True)
        .agg(
            pl.col("value").first(),
            pl.col("is_winner").any().alias("is_primary"),
            pl.col("validation_issues").first(),
            pl.col("trust_score").first(),
            pl.col("source_system").unique().sort().alias("source_systems"),
            pl.col("_record").unique().sort().alias("source_records"),
            pl.col("_record").n_unique().cast(pl.Int64).alias("record_count"),
            pl.col("source_updated_at").min().alias("first_seen_at"),
            pl.col("source_updated_at").max().alias("last_seen_at"),
            pl.col("run_id").first(),
        )
    )
    kind_order = pl.col("kind").replace_strict(order, return_dtype=pl.UInt32)
    return (
        points.sort(
            [pl.col("unified_id"), kind_order, "is_primary", "trust_score", "value"],
            descending=[False, False, True, True, False],
        )
        .select(CONTACT_POINT_COLUMNS)
        .cast(pl.Schema(CONTACT_POINT_SCHEMA))
    )
