"""The Dagster asset check that reports every quality suite and gates publishing.

The check ``data_quality`` reports each suite of the staged release, writes
the GX Data Docs to ``DIR/data_docs/``, and stops publishing when an ERROR
expectation failed: the previous release stays current and readable. WARN
failures are reported and published.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

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

from connectors.config import SourceConfig
from connectors.errors import FusionError
from connectors.facts import FactConfig
from pipelines.orchestration.assets import Release
from pipelines.orchestration.resources import FusionResource
from pipelines.quality.suites import release_suites
from pipelines.quality.validation import QUALITY_RESULTS, QUALITY_VALIDATIONS, write_data_docs
from pipelines.warehouse import table_rows

DATA_DOCS_DIR = "data_docs"
CHECK_NAME = "data_quality"
# The check metadata listing the failed expectations and their counts, without examples.
FAILURES_METADATA = "failed_expectations"


class QualityGateError(FusionError):
    """An ERROR expectation failed: the release is not published."""


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
        results = table_rows(release_tables.tables, QUALITY_RESULTS)
        validations = table_rows(release_tables.tables, QUALITY_VALIDATIONS)
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
    # What failed without the example values (which may be PII): the run's progress line.
    failures = "; ".join(_failure(r) for r in failed.iter_rows(named=True))
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
            FAILURES_METADATA: MetadataValue.text(failures),
        },
    )


def _describe(row: Mapping[str, Any]) -> str:
    """``ERROR expect_column_values_to_be_unique(unified_id): 3 unexpected (e.g. ["FU-1"])``."""
    sample = json.loads(row["partial_unexpected"] or "null") or []
    example = f" (e.g. {json.dumps(sample[:3], ensure_ascii=False)})" if sample else ""
    return f"{row['severity'].upper()} {_failure(row)}{example}"


def _failure(row: Mapping[str, Any]) -> str:
    """``expect_column_values_to_match_regex(phone): 2,214 unexpected``: which, and how many."""
    target = f"({row['column_name']})" if row["column_name"] else ""
    count = row["unexpected_count"]
    detail = f"{count:,} unexpected" if count is not None else f"observed {row['observed_value']}"
    return f"{row['expectation']}{target}: {detail}"
