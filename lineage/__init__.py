"""lineage: trust scores -> survivorship -> golden record with field-level lineage.

Example::

    from lineage import SurvivorshipSettings, build_golden_record

    golden = build_golden_record(std, xref, sources=config.sources,
                                 settings=SurvivorshipSettings(), run_id=run_id)
"""

from lineage.contact_points import CONTACT_POINT_COLUMNS, customer_contact_points
from lineage.contacts import (
    CONTACT_COLUMNS,
    CONTACT_INPUT_COLUMNS,
    CONTACT_LINEAGE_COLUMNS,
    CustomerContacts,
    customer_contacts,
)
from lineage.golden import (
    FIELD_CANDIDATES_COLUMNS,
    FIELD_LINEAGE_COLUMNS,
    GOLDEN_CUSTOMER_COLUMNS,
    GoldenRecord,
    LineageInputError,
    build_golden_record,
    extract_candidates,
)
from lineage.provenance import code_version, run_provenance_table
from lineage.settings import DecaySpec, LineageError, SourceTrustSettings, SurvivorshipSettings
from lineage.survivorship import RULES, RankKey, rank_candidates, rank_keys, select_winners
from lineage.trust import (
    TRUST_COMPONENTS,
    TRUST_INPUTS,
    SourceTrustError,
    TrustSource,
    authority_table,
    decay_curve_expr,
    placeholder_expr,
    recency_expr,
    score_candidates,
    trust_profiles,
)

__all__ = [
    "CONTACT_COLUMNS",
    "CONTACT_INPUT_COLUMNS",
    "CONTACT_LINEAGE_COLUMNS",
    "CONTACT_POINT_COLUMNS",
    "FIELD_CANDIDATES_COLUMNS",
    "FIELD_LINEAGE_COLUMNS",
    "GOLDEN_CUSTOMER_COLUMNS",
    "RULES",
    "TRUST_COMPONENTS",
    "TRUST_INPUTS",
    "DecaySpec",
    "GoldenRecord",
    "LineageError",
    "LineageInputError",
    "RankKey",
    "SourceTrustError",
    "SourceTrustSettings",
    "SurvivorshipSettings",
    "TrustSource",
    "authority_table",
    "CustomerContacts",
    "build_golden_record",
    "code_version",
    "customer_contact_points",
    "customer_contacts",
    "decay_curve_expr",
    "extract_candidates",
    "placeholder_expr",
    "rank_candidates",
    "rank_keys",
    "recency_expr",
    "score_candidates",
    "run_provenance_table",
    "select_winners",
    "trust_profiles",
]
