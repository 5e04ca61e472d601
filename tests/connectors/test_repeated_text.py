"""shared_text: the same strings, each distinct value stored once."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import load_source
from connectors.repeated_text import shared_text, with_shared_text

from .test_load import SAMPLE_CONFIG, sample_sources


def payload_bytes(column: pl.Series) -> int:
    """Bytes of out-of-line string data behind a column (its Arrow view array's data buffers)."""
    array = column.to_arrow(compat_level=pl.CompatLevel.newest())
    return sum(buffer.size for buffer in array.buffers()[2:] if buffer is not None)


@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "ü" * 13, "客户" * 9, ""])), max_size=60)
)
def test_values_and_dtype_are_unchanged(values: list[str | None]) -> None:
    column = pl.Series("c", values, dtype=pl.String)
    shared = shared_text(column)
    assert shared.name == "c"
    assert shared.dtype == pl.String
    assert shared.to_list() == values


def test_each_distinct_long_value_is_stored_once() -> None:
    values = ["run-0b8a7c3e-1111-2222-3333-444455556666", "exponential decay over 365 days"]
    column = pl.Series("c", [values[i % 2] for i in range(10_000)] + [None])
    assert payload_bytes(column) >= 10_000 * 30
    assert payload_bytes(shared_text(column)) == sum(len(v) for v in values)


def test_a_column_of_many_distinct_values_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("connectors.repeated_text.MAX_DISTINCT", 3)
    column = pl.Series("c", [f"customer number {i}" for i in range(4)])
    assert shared_text(column) is column


def test_frame_helper_touches_only_named_string_columns() -> None:
    frame = pl.DataFrame({"a": ["x" * 20] * 4, "b": ["y" * 20] * 4, "n": [1, 2, 3, 4]})
    shared = with_shared_text(frame, ("a", "n", "missing"))
    assert shared.equals(frame)
    assert payload_bytes(shared["a"]) == 20
    assert payload_bytes(shared["b"]) == 80


def test_loaded_sources_store_their_column_maps_once() -> None:
    for source in sample_sources(SAMPLE_CONFIG.parent).values():
        records = load_source(source).records
        column = records["source_columns"]
        distinct = column.drop_nulls().unique()
        assert payload_bytes(column) <= sum(len(v.encode()) for v in distinct.to_list())
