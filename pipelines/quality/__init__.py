"""Great Expectations suites derived from the schemas, run on every staged release.

The suites are not written by hand: each follows from a declaration made once
elsewhere: the canonical customer schema and its vocabularies
(``connectors.canonical``), the fact schema (``connectors.facts``), the
contract of the golden tables (DESIGN.md) and the run configuration (which
sources exist, which fields each maps). One suite per staged source
(``source_crm`` ...), per golden table and per fact table.

Each expectation is ERROR or WARN. The validation runs while the release is
staged, so its results (``quality_results``, and the GX result documents in
``quality_validations``) are published with the data they describe. The asset
check ``data_quality`` then reports every suite, writes the Data Docs to
``DIR/data_docs/`` (offline pages; see ``data_docs``), and stops publishing
when an ERROR expectation failed: the previous release stays current and
readable. WARN failures are reported and published.

Great Expectations takes seconds to import, so it is imported only when a
suite runs, never when the CLI starts.

The package: ``suites`` declares them, ``validation`` runs them with GX,
``data_docs`` renders their results as offline pages with a trend across runs,
``chunks`` splits the largest tables, ``invariants`` states the warehouse
invariants. The Dagster asset checks that gate publishing on
them are ``pipelines.orchestration.quality_checks`` and ``invariant_checks``:
this package imports no Dagster.
"""

from __future__ import annotations

from pipelines.quality.data_docs import suite_status, write_data_docs
from pipelines.quality.suites import (
    CONTACT_CUSTOMER_TYPE,
    E164,
    EMAIL,
    GOLDEN_CUSTOMER_COLUMNS,
    Expect,
    Severity,
    Suite,
    contact_suites,
    fact_suites,
    golden_suites,
    release_suites,
    source_suite,
    standardised_suites,
)
from pipelines.quality.validation import (
    QUALITY_RESULTS,
    QUALITY_VALIDATIONS,
    RESULTS_SCHEMA,
    VALIDATIONS_SCHEMA,
    QualityReport,
    quality_tables,
    staged_frames,
    validate,
)

__all__ = [
    "CONTACT_CUSTOMER_TYPE",
    "E164",
    "EMAIL",
    "GOLDEN_CUSTOMER_COLUMNS",
    "QUALITY_RESULTS",
    "QUALITY_VALIDATIONS",
    "RESULTS_SCHEMA",
    "VALIDATIONS_SCHEMA",
    "Expect",
    "QualityReport",
    "Severity",
    "Suite",
    "contact_suites",
    "fact_suites",
    "golden_suites",
    "quality_tables",
    "release_suites",
    "source_suite",
    "staged_frames",
    "standardised_suites",
    "suite_status",
    "validate",
    "write_data_docs",
]
