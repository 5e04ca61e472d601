"""matching.unique gives numpy's unique results, by sorting."""

from __future__ import annotations

import numpy as np
import pytest

from matching.unique import sorted_unique, unique_with_codes


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.int32, np.uint32, np.int8])
@pytest.mark.parametrize("size", [0, 1, 2, 1000])
def test_sorted_unique_and_codes_equal_numpys(dtype: type, size: int) -> None:
    values = np.random.default_rng(size).integers(0, 50, size).astype(dtype)
    assert np.array_equal(sorted_unique(values), np.unique(values))
    vocabulary, codes = unique_with_codes(values)
    expected_vocabulary, expected_codes = np.unique(values, return_inverse=True)
    assert np.array_equal(vocabulary, expected_vocabulary)
    assert np.array_equal(codes, expected_codes.ravel())
    assert np.array_equal(vocabulary[codes], values)
