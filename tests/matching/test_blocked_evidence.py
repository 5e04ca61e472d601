"""Agreement a blocking rule guarantees is not counted again (matching.blocked_evidence)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matching.blocked_evidence import IMPLIED, implied_comparisons, without_implied_evidence
from matching.comparisons import default_comparisons

COMPARISONS = default_comparisons()
NAMES = [c.name for c in COMPARISONS]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("birth_date", {"birth_date"}),
        ("postcode_and_name_initials", {"postcode", "city"}),
        # Another rule found the pair too: its agreement on the key is evidence again.
        ("name_key,birth_date", set()),
        ("birth_date,postcode_and_name_initials", set()),
        # Identifier keys are evidence even among the pairs selected for them.
        ("email", set()),
        ("phone", set()),
        ("address_key", set()),
        ("sorted_name_neighbourhood", set()),
        ("", set()),
        (None, set()),
    ],
)
def test_implied_comparisons(label: str | None, expected: set[str]) -> None:
    implied = implied_comparisons(label, COMPARISONS)
    assert {name for name, flag in zip(NAMES, implied, strict=True) if flag} == expected


def test_levels_implied_by_the_rules_that_found_a_pair_are_marked() -> None:
    birth = NAMES.index("birth_date")
    postcode = NAMES.index("postcode")
    levels = np.full((4, len(NAMES)), 2, dtype=np.int8)
    levels[:, postcode] = 1
    levels[3, birth] = -1  # missing stays missing
    rules = pl.Series(
        ["birth_date", "email,birth_date", "postcode_and_name_initials", "birth_date"]
    )
    marked = without_implied_evidence(levels.copy(), rules, COMPARISONS)
    assert marked[0, birth] == IMPLIED
    assert marked[1, birth] == 2
    assert marked[2, postcode] == IMPLIED
    assert marked[2, NAMES.index("city")] == IMPLIED
    assert marked[3, birth] == -1
    untouched = np.ones(len(NAMES), dtype=bool)
    untouched[[birth]] = False
    assert (marked[0, untouched] == levels[0, untouched]).all()
