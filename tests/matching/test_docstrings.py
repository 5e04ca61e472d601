"""The examples in the matching modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "matching.aliases",
    "matching.blocking",
    "matching.clustering",
    "matching.comparisons",
    "matching.embedders",
    "matching.model",
    "matching.record_order",
    "matching.semantic",
    "matching.standardise.batch",
    "matching.standardise.chinese",
    "matching.standardise.contact",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
