"""lineage: trust scores -> survivorship -> golden record with field-level lineage.

Example::

    from lineage import SurvivorshipSettings, build_golden_record

    golden = build_golden_record(std, xref, sources=config.sources,
                                 settings=SurvivorshipSettings(), run_id=run_id)
"""

from lineage.golden import (
    FIELD_CANDIDATES_COLUMNS,
    FIELD_LINEAGE_COLUMNS,
    GOLDEN_CUSTOMER_COLUMNS,
    GoldenRecord,
    LineageInputError,
    build_golden_record,
    extract_candidates,
)
from lineage.settings import LineageError, SurvivorshipSettings
from lineage.survivorship import RULES, RankKey, rank_candidates, rank_keys, select_winners
from lineage.trust import (
    SourceTrustError,
    TrustSource,
    authority_table,
    recency_expr,
    score_candidates,
)

__all__ = [
    "FIELD_CANDIDATES_COLUMNS",
    "FIELD_LINEAGE_COLUMNS",
    "GOLDEN_CUSTOMER_COLUMNS",
    "RULES",
    "GoldenRecord",
    "LineageError",
    "LineageInputError",
    "RankKey",
    "SourceTrustError",
    "SurvivorshipSettings",
    "TrustSource",
    "authority_table",
    "build_golden_record",
    "extract_candidates",
    "rank_candidates",
    "rank_keys",
    "recency_expr",
    "score_candidates",
    "select_winners",
]
