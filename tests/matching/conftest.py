"""Builders for small canonical frames used across the matching tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
import pytest

from connectors.canonical import CANONICAL_SCHEMA


def canonical_frame(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    """A canonical frame from partial rows (missing columns are null)."""
    filled = [
        {
            "source_system": row.get("source_system", "crm"),
            "source_record_id": row.get("source_record_id", str(i)),
            **{k: v for k, v in row.items() if k not in ("source_system", "source_record_id")},
        }
        for i, row in enumerate(rows)
    ]
    frame = pl.DataFrame(filled, infer_schema_length=None)
    missing = [
        pl.lit(None, dtype=t).alias(c)
        for c, t in CANONICAL_SCHEMA.items()
        if c not in frame.columns
    ]
    return frame.with_columns(missing).select(
        [pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()]
    )


@pytest.fixture
def make_frame():  # type: ignore[no-untyped-def]
    return canonical_frame
