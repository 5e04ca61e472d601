"""Running the quality suites with Great Expectations (Data Docs: ``data_docs``).

The validation runs while the release is staged, so its results
(``quality_results``, and the GX result documents in ``quality_validations``)
are published with the data they describe.

Great Expectations takes seconds to import, so it is imported only when a
suite runs, never when the CLI starts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from connectors.config import SourceConfig
from connectors.facts import FACT_TABLES, FactConfig
from pipelines.memory import collecting_new_objects_only, release_free_memory
from pipelines.quality.chunks import ChunkPlan, chunk_plan, merge_outcomes
from pipelines.quality.data_docs import write_data_docs as write_data_docs
from pipelines.quality.suites import CONTACT_CUSTOMER_TYPE, Expect, Suite, release_suites
from pipelines.warehouse import StagedTable, staged_lazy, staged_rows, table_height, table_rows
from pipelines.warehouse.spill import SpilledTable, StagedBatch

QUALITY_RESULTS = "quality_results"
QUALITY_VALIDATIONS = "quality_validations"
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
# A frame this large (or a group's second chunk on) is collected as soon as GX is done with it
# (0.3-0.6 s each at 1M).
COLLECT_AFTER_ROWS = 1_000_000
# Failing values and rows listed per expectation.
PARTIAL_UNEXPECTED_COUNT = 10
# GX's expectations about which columns a table has (not about their values).
TABLE_COLUMNS_KINDS = "ExpectTableColumns"
_GX_SEVERITY = {"error": "critical", "warn": "warning"}


@dataclass(frozen=True)
class QualityReport:
    """Per-expectation rows and per-suite GX result documents of one validation."""

    results: pl.DataFrame
    validations: pl.DataFrame


def validate(
    frames: Mapping[str, StagedTable], suites: Sequence[Suite], *, run_id: str
) -> QualityReport:
    """Run each suite on its frame with an ephemeral GX context (nothing is written).

    A suite is run as one GX validation per group of expectations reading the
    same columns, each on a pandas frame of those columns and the suite's keys,
    made for the group and dropped after it: GX's pandas engine copies the rows
    of the whole frame it is given for each expectation (to drop nulls, to list
    failing rows), and a pandas copy of text takes several times the Arrow one
    (all six columns the lineage suite reads, at 1M records: +2 GiB). A group
    over more rows than ``chunks.CHUNK_ROWS`` whose expectations allow it is
    validated chunk by chunk and its results merged (``pipelines.quality.chunks``).
    The groups' results are put back in the suite's order, into one GX result
    document per suite.
    """
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under HASH_THRESHOLD bytes by hashing all
    # of its rows (7.8 of the 35 s the suites took at 1M records). The fingerprint
    # is batch metadata nothing here reads: the run_id names the validated data.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = _ephemeral_context()
    datasource = context.data_sources.add_pandas("fusion_release")
    rows: list[dict[str, Any]] = []
    validations: list[dict[str, Any]] = []
    with collecting_new_objects_only():
        for suite in suites:
            ordered, document = _suite_results(
                context, datasource, suite, frames[suite.frame], run_id=run_id
            )
            suite_rows = [_result_row(r, suite=suite.name, run_id=run_id) for r in ordered]
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
                    "result_json": json.dumps(
                        _suite_document(document, suite=suite.name, results=ordered),
                        ensure_ascii=False,
                        default=str,
                    ),
                }
            )
    return QualityReport(
        results=pl.DataFrame(rows, schema=RESULTS_SCHEMA),
        validations=pl.DataFrame(validations, schema=VALIDATIONS_SCHEMA),
    )


def _suite_results(
    context: Any, datasource: Any, suite: Suite, table: StagedTable, *, run_id: str
) -> tuple[list[Any], dict[str, Any]]:
    """One suite's GX results in its order, group by group, and a GX result document."""
    import great_expectations as gx

    batch = datasource.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe(
        suite.name
    )
    results: list[tuple[int, Any]] = []
    document: dict[str, Any] = {}
    height = functools.cache(lambda: table_height(table))
    # A suite without expectations still gets its (empty) GX document.
    for group, (columns, members) in enumerate(_column_groups(suite) or [(None, [])]):
        part = f"{suite.name}[{group}]"
        expectations = [suite.expectations[i] for i in members]
        gx_suite = context.suites.add(
            gx.ExpectationSuite(name=part, expectations=[_gx_expectation(e) for e in expectations])
        )
        position = {e.id: i for e, i in zip(gx_suite.expectations, members, strict=True)}
        definition = gx.ValidationDefinition(name=part, data=batch, suite=gx_suite)
        # Expectations about the table's columns read its columns, not its rows.
        columns_only = bool(members) and all(
            e.kind.startswith(TABLE_COLUMNS_KINDS) for e in expectations
        )
        plan = None if columns_only else chunk_plan(expectations, height())
        outcomes, document = _run_group(
            definition,
            _group_frames(table, columns, plan=plan, columns_only=columns_only),
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
                "unexpected_index_column_names": list(suite.keys),
            },
            run_id=gx.core.run_identifier.RunIdentifier(run_name=run_id),
        )
        results.extend((position[o.expectation_config.id], o) for o in outcomes)
    return [r for _, r in sorted(results, key=lambda pair: pair[0])], document


def _expectation_columns(expect: Expect) -> tuple[str, ...]:
    """The columns one expectation reads (none for a table-level one)."""
    named = [expect.kwargs[k] for k in ("column", "column_A", "column_B") if k in expect.kwargs]
    return (*named, *expect.kwargs.get("column_list", ()))


def _column_groups(suite: Suite) -> list[tuple[list[str] | None, list[int]]]:
    """The suite's expectations grouped by the columns they read, in first-seen order.

    Each group: the columns its frame needs (its own plus the keys; None: the
    whole frame, for the expectations about the table's columns) and the
    positions of its expectations in the suite.
    """
    groups: dict[tuple[str, ...] | None, list[int]] = {}
    for position, expect in enumerate(suite.expectations):
        read = _expectation_columns(expect)
        key = (
            None
            if expect.kind.startswith(TABLE_COLUMNS_KINDS) or not (read or suite.keys)
            else read
        )
        groups.setdefault(key, []).append(position)
    return [
        (None if read is None else list(dict.fromkeys((*suite.keys, *read))), members)
        for read, members in groups.items()
    ]


def _suite_document(
    template: dict[str, Any], *, suite: str, results: Sequence[Any]
) -> dict[str, Any]:
    """One GX suite result document holding the results of the suite's groups."""
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    statistics = calc_validation_statistics(list(results))._asdict()
    return {
        **template,
        "suite_name": suite,
        "success": statistics.pop("success"),
        "statistics": statistics,
        "results": [r.to_json_dict() for r in results],
    }


def _run_group(
    definition: Any, frames: Iterator[Any], *, result_format: dict[str, Any], run_id: Any
) -> tuple[list[Any], dict[str, Any]]:
    """One group's expectation results, over its frame or merged over its chunks' frames.

    Returns the results in the group's order and the last GX result document
    (a template for the suite's: its metadata, not its results, is used).
    """
    by_expectation: dict[str, list[Any]] = {}
    document: dict[str, Any] = {}
    for chunk, frame in enumerate(frames):
        rows_validated = len(frame)
        result = definition.run(
            batch_parameters={"dataframe": frame}, result_format=result_format, run_id=run_id
        )
        del frame
        for outcome in result.results:
            assert outcome.expectation_config is not None  # GX sets it on every result
            by_expectation.setdefault(outcome.expectation_config.id, []).append(outcome)
        document = result.to_json_dict()
        del result
        if chunk or rows_validated >= COLLECT_AFTER_ROWS:
            # GX's validation objects hold the frame in reference cycles, which
            # Python frees only at its next full collection (the lineage suite's
            # groups at 1M records piled up to +2.2 GiB), and the allocators keep
            # the pages until asked.
            release_free_memory()
    outcomes = [
        merge_outcomes(chunks, partial_count=PARTIAL_UNEXPECTED_COUNT) if chunks[1:] else chunks[0]
        for chunks in by_expectation.values()
    ]
    return outcomes, document


def _group_frames(
    table: StagedTable, columns: list[str] | None, *, plan: ChunkPlan | None, columns_only: bool
) -> Iterator[Any]:
    """The pandas frames one group is validated on: the table's rows, whole or in chunks.

    ``columns_only``: the columns without their rows (at 1M golden customers:
    1.6 s and 640 MiB less). Each frame is yielded as it is made, so none
    outlives its validation.
    """
    if columns_only:
        yield staged_lazy(table).head(0).collect().to_pandas()
        return
    if plan is None:
        yield _pandas_rows(_arrow_rows(table, columns))
        return
    rows = _arrow_rows(table, columns)
    for chunk, positions in plan.split(rows):
        yield _pandas_rows(chunk, index=positions)


def _arrow_rows(table: StagedTable, columns: list[str] | None) -> pa.Table:
    """The group's columns as Arrow (a spilled table's straight from its file)."""
    if isinstance(table, SpilledTable):
        return table.dataset().to_table(columns=columns)
    return staged_rows(table, columns).to_arrow()


def _pandas_rows(rows: pa.Table, *, index: Sequence[int] | range | None = None) -> Any:
    """A group's pandas frame: Arrow-backed where the columns are text without nulls.

    Arrow-backed text columns are the Arrow buffers the rows were read into,
    where NumPy-backed text is a Python string per value (the lineage suite's
    keys over 7.4M rows at 1M records: 1 GiB and 1.5 s a group). GX gives them
    the same results; a null, though, would print as ``<NA>`` in a list of
    failing values or rows, so a column with nulls is converted as before.
    Numbers, flags and times stay NumPy-backed: GX's range checks map an
    Arrow-backed column value by value (11 s for four columns at 1M records).
    ``index``: the rows' positions in the table, which GX reports for failing
    rows of a suite without keys.
    """
    import pandas as pd

    text = [
        field.name
        for field in rows.schema
        if _is_text(field.type) and not rows.column(field.name).null_count
    ]
    others = [c for c in rows.column_names if c not in text]
    frame = rows.select(text).to_pandas(types_mapper=pd.ArrowDtype)
    if others:
        numpy_backed = pl.from_arrow(rows.select(others)).to_pandas()  # type: ignore[union-attr]
        frame = numpy_backed if not text else pd.concat([frame, numpy_backed], axis=1)
        frame = frame[rows.column_names]
    if index is not None:
        frame.index = pd.Index(index)
    return frame


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
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
    *, batches: Mapping[str, StagedBatch], tables: Mapping[str, StagedTable]
) -> dict[str, StagedTable]:
    """The frames the suites validate: release tables, staged sources, facts with their customer.

    A fact table is validated with the ``unified_id`` of the record it names
    (null for an orphan), so "every fact reaches a customer" is one
    not-null expectation instead of a set of thousands of IDs. Likewise
    ``customer_contacts`` with its customer's ``customer_type`` in
    ``golden_customer`` (``suites.CONTACT_CUSTOMER_TYPE``, null: no such customer).
    """
    frames = {**tables, **{f"source_{name}": b.records for name, b in batches.items()}}
    if "customer_contacts" in tables:
        customers = table_rows(tables, "golden_customer", ("unified_id", "customer_type"))
        frames["customer_contacts"] = table_rows(tables, "customer_contacts").join(
            customers.rename({"customer_type": CONTACT_CUSTOMER_TYPE}),
            on="unified_id",
            how="left",
            maintain_order="left",
        )
    xref = table_rows(tables, "customer_xref", ("source_system", "source_record_id", "unified_id"))
    for table in FACT_TABLES.values():
        if table in tables:
            frames[table] = table_rows(tables, table).join(
                xref, on=["source_system", "source_record_id"], how="left", maintain_order="left"
            )
    return frames


def quality_tables(
    *,
    batches: Mapping[str, StagedBatch],
    tables: Mapping[str, StagedTable],
    sources: Sequence[SourceConfig],
    facts: Sequence[FactConfig],
    run_id: str,
) -> dict[str, pl.DataFrame]:
    """Validate a staged release; the results become two of its tables."""
    frames = staged_frames(batches=batches, tables=tables)
    report = validate(frames, release_suites(sources, facts), run_id=run_id)
    return {QUALITY_RESULTS: report.results, QUALITY_VALIDATIONS: report.validations}
