"""Record ID normalisation: the expression and its Python twin agree."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.record_ids import normalise_record_id, normalised_record_id

# IDs as exports hold them, with the invisible and space characters that creep in.
ID_TEXT = st.text(
    st.one_of(
        st.sampled_from("CRM-0123 abc\ufeff\u200b\u200c\u200d\u2060\u200e\u00ad\xa0\u3000\t\x85"),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(ids=st.lists(ID_TEXT, max_size=20))
def test_expression_and_python_twin_agree(ids: list[str]) -> None:
    series = pl.Series(ids, dtype=pl.String)
    got = pl.select(normalised_record_id(pl.lit(series))).to_series().to_list()
    assert got == [normalise_record_id(i) for i in ids]
    # Idempotent: a normalised ID is its own normal form.
    assert [normalise_record_id(g) for g in got] == got
