"""Blocking rules: the sorted-neighbourhood index against recordlinkage's, caps, reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import recordlinkage

from matching.blocking import BlockingContext, block_on_sorted_name_neighbourhood
from matching.settings import BlockingSettings


def _context(names: list[str | None], **settings: int) -> BlockingContext:
    std = pl.DataFrame(
        {"record_index": np.arange(len(names), dtype=np.uint32), "name_latin": names},
        schema={"record_index": pl.UInt32, "name_latin": pl.String},
    )
    return BlockingContext(std=std, name_vectors=None, settings=BlockingSettings(**settings))


def _recordlinkage_pairs(names: list[str | None], window: int) -> set[tuple[int, int]]:
    frame = pd.DataFrame({"name": [(n or "").replace(" ", "") for n in names]})
    indexer = recordlinkage.Index()
    indexer.sortedneighbourhood("name", window=window)
    index = indexer.index(frame)
    has_name = frame["name"].to_numpy() != ""
    return {
        (min(a, b), max(a, b))
        for a, b in zip(index.get_level_values(0), index.get_level_values(1), strict=True)
        if has_name[a] and has_name[b]
    }


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("window", [3, 7])
def test_sorted_neighbourhood_equals_recordlinkage(seed: int, window: int) -> None:
    rng = np.random.default_rng(seed)
    vocabulary = ["wang wei", "wangwei", "li na", "zhang wei", "acme", "acmee", "zeta", None, ""]
    names = [vocabulary[i] for i in rng.integers(0, len(vocabulary), int(rng.integers(2, 40)))]
    outcome = block_on_sorted_name_neighbourhood(_context(names, neighbourhood_window=window))
    ours = set(outcome.pairs.unique().iter_rows())
    assert ours == _recordlinkage_pairs(names, window)


def test_sorted_neighbourhood_skips_oversized_names() -> None:
    names = ["wang wei"] * 5 + ["wang wen", "zeta"]
    outcome = block_on_sorted_name_neighbourhood(_context(names, max_block_size=4))
    pairs = set(outcome.pairs.unique().iter_rows())
    assert pairs == {(5, 6)}
    assert (outcome.skipped_blocks, outcome.skipped_records) == (1, 5)


def _std(rows: list[dict[str, object]]) -> pl.DataFrame:
    from matching import standardise

    from .conftest import canonical_frame

    return standardise(canonical_frame(rows), default_regions={"crm": "CN"})


@pytest.mark.parametrize(
    ("rule", "rows", "expected"),
    [
        ("tax_id", [{"name": "a", "tax_id": "2230673"}, {"name": "b", "tax_id": "2230673"},
                    {"name": "c", "tax_id": "9807797"}], {(0, 1)}),
        ("address_key", [{"name": "a", "address": "100 Market Street"},
                         {"name": "b", "address": "100 market st."},
                         {"name": "c", "address": "22 Oak Avenue"}], {(0, 1)}),
        ("postcode_and_name_initials", [
            {"name": "Tayla Green", "postcode": "2905"},
            {"name": "greecn tayla", "postcode": "2905"},
            {"name": "Mitchell Green", "postcode": "2119"},
            {"name": "Zed Brown", "postcode": "2905"}], {(0, 1)}),
        ("postcode_and_name_initials", [{"name": "王伟", "postcode": "200120"},
                                       {"name": "Wang Wei", "postcode": "200120"}], {(0, 1)}),
    ],
)  # fmt: skip
def test_key_rules(
    rule: str, rows: list[dict[str, object]], expected: set[tuple[int, int]]
) -> None:
    from matching.blocking import BLOCKING_RULES

    context = BlockingContext(std=_std(rows), name_vectors=None, settings=BlockingSettings())
    assert set(BLOCKING_RULES[rule](context).pairs.iter_rows()) == expected
