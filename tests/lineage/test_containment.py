"""lineage.containment gives what the all-pairs join gave, on small and on large clusters."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from lineage.containment import PAIRWISE_VALUES, containment, normalised_value


def _all_pairs(candidates: pl.DataFrame, *, min_contained_chars: int) -> pl.DataFrame:
    """The definition, as every candidate joined with every other of its customer and field."""
    keyed = candidates.select(
        pl.int_range(pl.len()).alias("_row"),
        "unified_id",
        "field",
        "source_system",
        "source_updated_at",
        normalised_value(pl.col("value")).alias("_norm"),
    )
    others = keyed.select(
        "unified_id",
        "field",
        pl.col("source_system").alias("_other_system"),
        pl.col("_norm").alias("_other_norm"),
        pl.col("source_updated_at").alias("_other_at"),
    )
    equal = pl.col("_other_norm") == pl.col("_norm")
    other_is_part = (pl.col("_other_norm").str.len_chars() >= min_contained_chars) & pl.col(
        "_norm"
    ).str.contains(pl.col("_other_norm"), literal=True)
    is_part = (pl.col("_norm").str.len_chars() >= min_contained_chars) & pl.col(
        "_other_norm"
    ).str.contains(pl.col("_norm"), literal=True)
    relations = (
        keyed.join(others, on=["unified_id", "field"])
        .group_by("_row")
        .agg(
            pl.col("_other_system")
            .filter((pl.col("_other_system") != pl.col("source_system")) & (equal | other_is_part))
            .n_unique()
            .alias("support"),
            (~equal & is_part).any().alias("is_fragment"),
            pl.col("_other_at").filter(equal | other_is_part).max().alias("confirmed_at"),
        )
    )
    return (
        keyed.select("_row", "source_updated_at")
        .join(relations, on="_row", how="left", maintain_order="left")
        .select(
            pl.col("support").fill_null(0),
            pl.col("is_fragment").fill_null(False),
            pl.coalesce("confirmed_at", "source_updated_at").alias("confirmed_at"),
        )
    )


def _candidates(seed: int, *, customers: int, per_customer: int) -> pl.DataFrame:
    """Values built from few syllables, so that many contain others (and equal others)."""
    rng = np.random.default_rng(seed)
    syllables = np.array(["ab", "cd", "ef", "Ab ", "c-d", "xy", "上海", "路"])
    rows = customers * per_customer
    values = ["".join(rng.choice(syllables, size=rng.integers(1, 7))) for _ in range(rows)]
    start = datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "unified_id": [f"FU-{i // per_customer}" for i in range(rows)],
            "field": rng.choice(["name", "address"], size=rows).tolist(),
            "value": values,
            "source_system": rng.choice(["crm", "erp", "shop"], size=rows).tolist(),
            "source_updated_at": [
                None if d < 0 else start + timedelta(days=int(d))
                for d in rng.integers(-50, 500, size=rows)
            ],
        }
    )


@pytest.mark.parametrize(
    ("customers", "per_customer"),
    [(40, 6), (2, 6 * PAIRWISE_VALUES), (1, 3_000)],
    ids=["small clusters", "above the pairwise cut", "one large cluster"],
)
@pytest.mark.parametrize("min_chars", [1, 4])
def test_containment_equals_the_all_pairs_join(
    customers: int, per_customer: int, min_chars: int
) -> None:
    candidates = _candidates(
        customers * per_customer + min_chars, customers=customers, per_customer=per_customer
    )
    expected = _all_pairs(candidates, min_contained_chars=min_chars)
    found = containment(candidates, min_contained_chars=min_chars)
    assert found.to_dicts() == expected.to_dicts()
    assert found["is_fragment"].any()
    assert (found["support"] > 0).any()
