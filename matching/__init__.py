"""Matching: standardise, block, compare, score and cluster customer records."""

from matching.identity import IdAssignment, assign_unified_ids, format_unified_id
from matching.linkage import MatchResult, match_records
from matching.settings import MatchSettings
from matching.standardise import standardise

__all__ = [
    "IdAssignment",
    "MatchResult",
    "MatchSettings",
    "assign_unified_ids",
    "format_unified_id",
    "match_records",
    "standardise",
]
