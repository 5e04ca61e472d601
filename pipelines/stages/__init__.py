"""The stages of a run as plain functions: what each Dagster asset calls.

No Dagster here: the asset bodies in ``pipelines.orchestration.assets`` are one
call each into this package, so every stage is testable without an orchestrator
and the CLI and the scheduler run identical code. One module per stage, in run
order: ``sources`` (read and standardise), ``match``, ``identity`` (unified
IDs), ``golden``, ``evidence`` (the match tables), ``contacts`` (a company's
contact persons), ``run_tables`` and ``release`` (every table of a release, and
publishing it).
"""

from __future__ import annotations

from pipelines.stages.contacts import CONTACT_LINEAGE_TABLE, CONTACTS_TABLE, contact_tables
from pipelines.stages.evidence import (
    EVIDENCE_LEADING_COLUMNS,
    EVIDENCE_PART_PAIRS,
    KEY_TEXT,
    MatchTables,
    match_evidence_parts,
    match_tables,
    spill_frames,
)
from pipelines.stages.golden import build_golden
from pipelines.stages.identity import (
    RETIRED_SCHEMA,
    XREF_COLUMNS,
    Identity,
    IdentityAtRelease,
    PreviousRelease,
    StewardDecisions,
    assign_identity,
    identify_against_warehouse,
)
from pipelines.stages.match import (
    GOLDEN_STEP_COLUMNS,
    IDENTITY_COLUMNS,
    MATCHING_COLUMNS,
    match,
    matching_columns,
)
from pipelines.stages.release import (
    highest_unified_sequence,
    log_failed_run,
    publish_release,
    release_plan,
    warehouse_tables,
)
from pipelines.stages.run_tables import (
    PIPELINE_RUNS_SCHEMA,
    RunSummary,
    pipeline_runs_table,
    quarantine_table,
    utc_now,
    value_rejections_table,
)
from pipelines.stages.sources import (
    STANDARDISED_TABLE,
    SpilledStandardised,
    load_one_source,
    spill_standardised,
    standardise_batches,
)

__all__ = [
    "CONTACTS_TABLE",
    "CONTACT_LINEAGE_TABLE",
    "EVIDENCE_LEADING_COLUMNS",
    "EVIDENCE_PART_PAIRS",
    "GOLDEN_STEP_COLUMNS",
    "IDENTITY_COLUMNS",
    "Identity",
    "IdentityAtRelease",
    "KEY_TEXT",
    "MATCHING_COLUMNS",
    "MatchTables",
    "PIPELINE_RUNS_SCHEMA",
    "PreviousRelease",
    "RETIRED_SCHEMA",
    "RunSummary",
    "STANDARDISED_TABLE",
    "SpilledStandardised",
    "StewardDecisions",
    "XREF_COLUMNS",
    "assign_identity",
    "matching_columns",
    "build_golden",
    "contact_tables",
    "highest_unified_sequence",
    "identify_against_warehouse",
    "load_one_source",
    "log_failed_run",
    "match",
    "match_evidence_parts",
    "match_tables",
    "pipeline_runs_table",
    "publish_release",
    "quarantine_table",
    "release_plan",
    "spill_frames",
    "spill_standardised",
    "standardise_batches",
    "utc_now",
    "value_rejections_table",
    "warehouse_tables",
]
