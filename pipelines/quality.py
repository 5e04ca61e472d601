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
check ``data_quality`` then reports every suite, writes the GX Data Docs to
``DIR/data_docs/``, and stops publishing when an ERROR expectation failed: the
previous release stays current and readable. WARN failures are reported and
published.

Great Expectations takes seconds to import, so it is imported only when a
suite runs, never when the CLI starts.

Example:
    >>> suites = release_suites(config.sources, config.facts)  # doctest: +SKIP
    >>> [s.name for s in suites][:2]  # doctest: +SKIP
    ['source_crm', 'source_erp']
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetsDefinition,
    MetadataValue,
    multi_asset_check,
)

from connectors import SourceBatch
from connectors.canonical import (
    CANONICAL_SCHEMA,
    CUSTOMER_TYPES,
    FIELDS_BY_NAME,
    GOLDEN_FIELDS,
    SIZE_BANDS,
    TIERS,
)
from connectors.config import SourceConfig
from connectors.errors import FusionError
from connectors.facts import FACT_SCHEMA, FACT_STATUSES, FACT_TABLES, FactConfig
from pipelines.assets import Release
from pipelines.resources import FusionResource

Severity = Literal["error", "warn"]
QUALITY_RESULTS = "quality_results"
QUALITY_VALIDATIONS = "quality_validations"
DATA_DOCS_DIR = "data_docs"
CHECK_NAME = "data_quality"
E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
GOLDEN_CUSTOMER_COLUMNS = (
    "unified_id", *GOLDEN_FIELDS, "source_count", "record_count", "trust_score",
    "first_seen_at", "updated_at",
)  # fmt: skip
RESULTS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "suite": pl.String(),
    "expectation": pl.String(),
    "column_name": pl.String(),
    "kwargs": pl.String(),
    "severity": pl.String(),
    "success": pl.Boolean(),
    "element_count": pl.Int64(),
    "unexpected_count": pl.Int64(),
    "unexpected_percent": pl.Float64(),
    "partial_unexpected": pl.String(),
    "unexpected_rows": pl.String(),
    "observed_value": pl.String(),
}
VALIDATIONS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "suite": pl.String(),
    "success": pl.Boolean(),
    "evaluated": pl.Int64(),
    "failed_errors": pl.Int64(),
    "failed_warnings": pl.Int64(),
    "result_json": pl.String(),
}
_GX_SEVERITY = {"error": "critical", "warn": "warning"}


class QualityGateError(FusionError):
    """An ERROR expectation failed: the release is not published."""


@dataclass(frozen=True)
class Expect:
    """One expectation: the GX class name, its arguments and how bad a failure is.

    Example:
        >>> Expect("ExpectColumnValuesToNotBeNull", {"column": "unified_id"}).name
        'expect_column_values_to_not_be_null'
    """

    kind: str
    kwargs: Mapping[str, Any]
    severity: Severity = "error"

    @property
    def name(self) -> str:
        """GX's snake-case name of the expectation type."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in self.kind).lstrip("_")


@dataclass(frozen=True)
class Suite:
    """The expectations for one staged frame.

    Attributes:
        name: The suite, also its check's name (``quality_<name>``).
        frame: The frame validated (a release table, or ``source_<name>``).
        keys: Columns naming a row, reported for the rows that fail.
        expectations: What must hold.
    """

    name: str
    frame: str
    keys: tuple[str, ...]
    expectations: tuple[Expect, ...] = field(default=())


def _not_null(column: str, severity: Severity = "error", **extra: Any) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", {"column": column, **extra}, severity)


def _in_set(column: str, values: Sequence[str], severity: Severity = "error") -> Expect:
    return Expect(
        "ExpectColumnValuesToBeInSet", {"column": column, "value_set": list(values)}, severity
    )


def _regex(column: str, regex: str, severity: Severity = "error") -> Expect:
    return Expect("ExpectColumnValuesToMatchRegex", {"column": column, "regex": regex}, severity)


def _between(
    column: str, low: float | None, high: float | None, severity: Severity = "error"
) -> Expect:
    return Expect(
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": low, "max_value": high},
        severity,
    )


def _unique(*columns: str) -> Expect:
    if len(columns) == 1:
        return Expect("ExpectColumnValuesToBeUnique", {"column": columns[0]})
    return Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})


def _row_count_at_least(count: int, severity: Severity = "error") -> Expect:
    return Expect(
        "ExpectTableRowCountToBeBetween", {"min_value": count, "max_value": None}, severity
    )


def source_suite(source: SourceConfig) -> Suite:
    """A staged source's canonical records: the schema, keys and vocabularies.

    Rows the mapping could not load are already in quarantine; this suite
    guards the contract of what was loaded (and WARNs about raw values that
    standardisation will have to repair).
    """
    expectations = [
        Expect("ExpectTableColumnsToMatchOrderedList", {"column_list": list(CANONICAL_SCHEMA)}),
        # An empty export is legal (every row is accounted for) but worth a look.
        _row_count_at_least(1, "warn"),
        _in_set("source_system", [source.name]),
        _not_null("source_record_id"),
        _unique("source_record_id"),
        _not_null("row_number"),
    ]
    for name, mapping in source.fields.items():
        allowed = FIELDS_BY_NAME[name].allowed
        if allowed is not None:
            expectations.append(_in_set(name, allowed))
        if mapping.constant is None and name == "email":
            expectations.append(_regex("email", EMAIL, "warn"))
        if mapping.constant is None and mapping.map is None and name == "country":
            expectations.append(_regex("country", r"^[A-Za-z]{2}$", "warn"))
    if source.updated_at is not None:
        expectations.append(_not_null("source_updated_at", "warn"))
    name = f"source_{source.name}"
    return Suite(name, name, ("source_record_id",), tuple(expectations))


def golden_suites(sources: Sequence[SourceConfig]) -> list[Suite]:
    """The published contract of golden_customer, customer_xref and field_lineage."""
    golden = (
        Expect(
            "ExpectTableColumnsToMatchSet",
            {"column_set": list(GOLDEN_CUSTOMER_COLUMNS), "exact_match": False},
        ),
        _row_count_at_least(1),
        _not_null("unified_id"),
        _unique("unified_id"),
        _in_set("customer_type", CUSTOMER_TYPES),
        _in_set("tier", TIERS),
        _in_set("size_band", SIZE_BANDS),
        _regex("country", r"^[A-Z]{2}$"),
        _between("trust_score", 0, 1),
        _between("source_count", 1, None),
        Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "record_count", "column_B": "source_count", "or_equal": True},
        ),
        _not_null("name", "warn"),
        _regex("email", EMAIL, "warn"),
        _regex("phone", E164, "warn"),
    )
    xref = (
        _unique("source_system", "source_record_id"),
        _not_null("unified_id"),
        _in_set("source_system", [s.name for s in sources]),
        _between("match_probability", 0, 1),
    )
    lineage = (
        _in_set("field", GOLDEN_FIELDS),
        _unique("unified_id", "field"),
        _not_null("source_system"),
        _not_null("source_record_id"),
        _not_null("source_column"),
        _between("trust_score", 0, 1),
    )
    return [
        Suite("golden_customer", "golden_customer", ("unified_id",), golden),
        Suite("customer_xref", "customer_xref", ("source_system", "source_record_id"), xref),
        Suite("field_lineage", "field_lineage", ("unified_id", "field"), lineage),
    ]


def fact_suites(facts: Sequence[FactConfig]) -> list[Suite]:
    """One suite per fact table that a configured fact source fills.

    The frame validated is the fact table with the ``unified_id`` its customer
    record has in ``customer_xref`` (see :func:`staged_frames`). A fact whose
    record is not there (the customer's own row was quarantined) is a WARN:
    it is kept and reported as an orphan, but reaches no unified customer.
    """
    suites = []
    for kind, table in FACT_TABLES.items():
        sources = [f for f in facts if f.kind == kind]
        if not sources:
            continue
        expectations = [
            Expect(
                "ExpectTableColumnsToMatchOrderedList",
                {"column_list": [*FACT_SCHEMA, "unified_id"]},
            ),
            _not_null("fact_id"),
            _unique("fact_source", "fact_id"),
            _not_null("source_record_id"),
            _not_null("occurred_at"),
            _in_set("status", FACT_STATUSES[kind]),
            _between("amount", 0, None, "warn"),
        ]
        if any(f.currency is not None for f in sources):
            expectations.append(_regex("currency", r"^[A-Z]{3}$"))
        expectations.append(_not_null("unified_id", "warn"))
        suites.append(Suite(table, table, ("fact_source", "fact_id"), tuple(expectations)))
    return suites


def release_suites(sources: Sequence[SourceConfig], facts: Sequence[FactConfig]) -> list[Suite]:
    """Every suite a release of this configuration is validated with, in report order."""
    return [*(source_suite(s) for s in sources), *golden_suites(sources), *fact_suites(facts)]


@dataclass(frozen=True)
class QualityReport:
    """Per-expectation rows and per-suite GX result documents of one validation."""

    results: pl.DataFrame
    validations: pl.DataFrame


def validate(
    frames: Mapping[str, pl.DataFrame], suites: Sequence[Suite], *, run_id: str
) -> QualityReport:
    """Run each suite on its frame with an ephemeral GX context (nothing is written)."""
    import great_expectations as gx

    context = _ephemeral_context()
    datasource = context.data_sources.add_pandas("fusion_release")
    rows: list[dict[str, Any]] = []
    validations: list[dict[str, Any]] = []
    for suite in suites:
        frame = frames[suite.frame]
        asset = datasource.add_dataframe_asset(suite.name)
        batch = asset.add_batch_definition_whole_dataframe(suite.name)
        expectations = [_gx_expectation(e) for e in suite.expectations]
        gx_suite = context.suites.add(
            gx.ExpectationSuite(name=suite.name, expectations=expectations)
        )
        definition = gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        result = definition.run(
            batch_parameters={"dataframe": frame.to_pandas()},
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": 10,
                "unexpected_index_column_names": list(suite.keys),
            },
            run_id=gx.core.run_identifier.RunIdentifier(run_name=run_id),
        )
        suite_rows = [_result_row(r, suite=suite.name, run_id=run_id) for r in result.results]
        rows.extend(suite_rows)
        failed = [r for r in suite_rows if not r["success"]]
        validations.append(
            {
                "run_id": run_id,
                "suite": suite.name,
                "success": not failed,
                "evaluated": len(suite_rows),
                "failed_errors": sum(r["severity"] == "error" for r in failed),
                "failed_warnings": sum(r["severity"] == "warn" for r in failed),
                "result_json": json.dumps(result.to_json_dict(), ensure_ascii=False, default=str),
            }
        )
    return QualityReport(
        results=pl.DataFrame(rows, schema=RESULTS_SCHEMA),
        validations=pl.DataFrame(validations, schema=VALIDATIONS_SCHEMA),
    )


def _ephemeral_context() -> Any:
    """An in-memory GX context: no files, no usage statistics, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _gx_expectation(expect: Expect) -> Any:
    import great_expectations.expectations as gxe

    return getattr(gxe, expect.kind)(**expect.kwargs, severity=_GX_SEVERITY[expect.severity])


def _result_row(result: Any, *, suite: str, run_id: str) -> dict[str, Any]:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "value_set")}
    if "value_set" in config.kwargs and len(config.kwargs["value_set"]) <= 20:
        kwargs["value_set"] = config.kwargs["value_set"]
    details = result.result or {}
    gx_severity = getattr(config.severity, "value", config.severity)
    severity = "error" if gx_severity == _GX_SEVERITY["error"] else "warn"
    observed = details.get("observed_value")
    return {
        "run_id": run_id,
        "suite": suite,
        "expectation": config.type,
        "column_name": config.kwargs.get("column"),
        "kwargs": json.dumps(kwargs, ensure_ascii=False, default=str),
        "severity": severity,
        "success": bool(result.success),
        "element_count": details.get("element_count"),
        "unexpected_count": details.get("unexpected_count"),
        "unexpected_percent": details.get("unexpected_percent"),
        "partial_unexpected": json.dumps(
            details.get("partial_unexpected_list"), ensure_ascii=False, default=str
        ),
        # The key columns of (up to 10) failing rows: which records to look at.
        "unexpected_rows": json.dumps(
            details.get("partial_unexpected_index_list"), ensure_ascii=False, default=str
        ),
        "observed_value": None if observed is None else json.dumps(observed, default=str),
    }


def staged_frames(
    *, batches: Mapping[str, SourceBatch], tables: Mapping[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """The frames the suites validate: release tables, staged sources, facts with their customer.

    A fact table is validated with the ``unified_id`` of the record it names
    (null for an orphan), so "every fact reaches a customer" is one
    not-null expectation instead of a set of thousands of IDs.
    """
    frames = {**tables, **{f"source_{name}": b.records for name, b in batches.items()}}
    xref = tables["customer_xref"].select("source_system", "source_record_id", "unified_id")
    for table in FACT_TABLES.values():
        if table in tables:
            frames[table] = tables[table].join(
                xref, on=["source_system", "source_record_id"], how="left", maintain_order="left"
            )
    return frames


def quality_tables(
    *,
    batches: Mapping[str, SourceBatch],
    tables: Mapping[str, pl.DataFrame],
    sources: Sequence[SourceConfig],
    facts: Sequence[FactConfig],
    run_id: str,
) -> dict[str, pl.DataFrame]:
    """Validate a staged release; the results become two of its tables."""
    frames = staged_frames(batches=batches, tables=tables)
    report = validate(frames, release_suites(sources, facts), run_id=run_id)
    return {QUALITY_RESULTS: report.results, QUALITY_VALIDATIONS: report.validations}


def write_data_docs(validations: pl.DataFrame, folder: Path) -> Path:
    """Render the GX Data Docs site of one validation into ``folder`` (replaced).

    Returns:
        The site's ``index.html``.
    """
    from great_expectations.core import ExpectationSuiteValidationResultSchema
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = _ephemeral_context()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(folder),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context.add_data_docs_site("fusion", site)
    schema = ExpectationSuiteValidationResultSchema()
    for suite, document in validations.select("suite", "result_json").iter_rows():
        result = schema.load(json.loads(document))
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
            run_id=result.meta["run_id"],
            batch_identifier=suite,
        )
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=["fusion"])
    return folder / "index.html"


def build_quality_checks(
    release_asset: AssetsDefinition, *, sources: Sequence[SourceConfig], facts: Sequence[FactConfig]
) -> AssetChecksDefinition:
    """One check per suite on the release tables; an ERROR failure blocks publishing."""
    suites = release_suites(sources, facts)
    specs = [
        AssetCheckSpec(
            name=f"quality_{suite.name}",
            asset=release_asset.key,
            blocking=True,
            description=f"Great Expectations suite {suite.name!r} ({len(suite.expectations)} "
            "expectations derived from the schema); ERROR failures block publishing.",
        )
        for suite in suites
    ]

    @multi_asset_check(
        specs=specs,
        name=CHECK_NAME,
        ins={"release_tables": AssetIn(key=release_asset.key)},
        description="Great Expectations suites of the staged release, with Data Docs.",
    )
    def data_quality(fusion: FusionResource, release_tables: Release) -> Iterator[AssetCheckResult]:
        results = release_tables.tables[QUALITY_RESULTS]
        validations = release_tables.tables[QUALITY_VALIDATIONS]
        docs = write_data_docs(validations, fusion.warehouse().root / DATA_DOCS_DIR)
        blocking: list[str] = []
        for suite in suites:
            rows = results.filter(pl.col("suite") == suite.name)
            yield _suite_result(suite.name, rows, docs=docs)
            errors = rows.filter(~pl.col("success") & (pl.col("severity") == "error"))
            blocking.extend(
                f"{suite.name}: {_describe(row)}" for row in errors.iter_rows(named=True)
            )
        if blocking:
            shown = "; ".join(blocking[:3]) + (
                f"; and {len(blocking) - 3} more" if len(blocking) > 3 else ""
            )
            msg = (
                f"data quality: {len(blocking)} ERROR expectation(s) failed: {shown} "
                f"(Data Docs: {docs})"
            )
            raise QualityGateError(msg)

    return data_quality


def _suite_result(suite: str, rows: pl.DataFrame, *, docs: Path) -> AssetCheckResult:
    failed = rows.filter(~pl.col("success"))
    errors = failed.filter(pl.col("severity") == "error")
    summary = [_describe(r) for r in failed.iter_rows(named=True)]
    return AssetCheckResult(
        check_name=f"quality_{suite}",
        passed=failed.is_empty(),
        severity=AssetCheckSeverity.ERROR if not errors.is_empty() else AssetCheckSeverity.WARN,
        description="; ".join(summary) if summary else f"all {rows.height} expectations passed",
        metadata={
            "expectations": rows.height,
            "failed_errors": errors.height,
            "failed_warnings": failed.height - errors.height,
            "data_docs": MetadataValue.path(str(docs)),
        },
    )


def _describe(row: Mapping[str, Any]) -> str:
    """``expect_column_values_to_be_unique(unified_id): 3 unexpected (e.g. ["FU-1"])``."""
    target = f"({row['column_name']})" if row["column_name"] else ""
    count = row["unexpected_count"]
    detail = f"{count} unexpected" if count is not None else f"observed {row['observed_value']}"
    sample = json.loads(row["partial_unexpected"] or "null") or []
    example = f" (e.g. {json.dumps(sample[:3], ensure_ascii=False)})" if sample else ""
    return f"{row['severity'].upper()} {row['expectation']}{target}: {detail}{example}"
