"""Matching: standardise, block, compare, score and cluster customer records.

Linkage and its settings are imported on first use (PEP 562): the worker
processes that standardisation starts import this package to reach the
per-value functions of ``matching.standardise``, and with linkage (SciPy,
scikit-learn, rapidfuzz) each of them held 270 MiB instead of 120.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from matching.identity import IdAssignment, assign_unified_ids, format_unified_id
from matching.standardise import standardise

if TYPE_CHECKING:
    from matching.linkage import MatchResult, match_records
    from matching.settings import MatchSettings

_LAZY = {
    "MatchResult": "matching.linkage",
    "match_records": "matching.linkage",
    "MatchSettings": "matching.settings",
}

__all__ = [
    "IdAssignment",
    "MatchResult",
    "MatchSettings",
    "assign_unified_ids",
    "format_unified_id",
    "match_records",
    "standardise",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever object the name exports
    if name not in _LAZY:
        msg = f"module 'matching' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(_LAZY[name]), name)
