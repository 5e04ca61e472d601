"""Dagster assets: one per source, one per stage. Each body is one call into
``pipelines.stages`` plus the metadata a data engineer wants to see."""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster import Any as DagsterAny
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    Config,
    MetadataValue,
    TableColumnDep,
    TableColumnLineage,
    asset,
)

from connectors.load import REPEATED_RECORD_TEXT
from connectors.repeated_text import with_shared_text
from lineage import GoldenRecord
from lineage.openlineage import golden_column_lineage
from matching import MatchResult
from matching.spark_indexed import PairsOnSparkResult
from pipelines import faults, stages
from pipelines.clock import run_clock
from pipelines.incremental import Baseline
from pipelines.orchestration.resources import FusionResource
from pipelines.settings import FusionConfig
from pipelines.warehouse import ReleaseTable, StagedTable, WarehouseError, table_height
from pipelines.warehouse.retirement import RetirementGuard, carried_canonical_records
from pipelines.warehouse.spill import SpilledBatch, SpilledGolden, SpilledTable, spill_batch


def source_asset_name(source_name: str) -> str:
    """Asset name of a configured source."""
    return f"source_{source_name}"


def build_source_asset(source_name: str, *, file_format: str) -> AssetsDefinition:
    """The asset that reads one configured export."""

    @asset(
        name=source_asset_name(source_name),
        group_name="sources",
        kinds={file_format},
        description=f"Canonical records and quarantine of source {source_name!r}.",
    )
    def _source(context: AssetExecutionContext, fusion: FusionResource) -> SpilledBatch:
        config = fusion.config()
        source = next(s for s in config.sources if s.name == source_name)
        window = config.run.timestamps.window(as_of=run_clock_of(context, fusion))
        batch = stages.load_one_source(source, window=window)
        context.add_output_metadata(
            {
                "rows_in": batch.rows_in,
                "records": batch.records.height,
                "quarantined": batch.quarantine.height,
                "rejected_values": batch.value_rejections.height,
                "files": [str(f) for f in batch.files],
            }
        )
        spilled = spill_batch(
            batch,
            name=f"{source_asset_name(source_name)}_records",
            spill=fusion.warehouse().scratch(context.run_id),
        )
        faults.checkpoint(f"after:{source_asset_name(source_name)}")
        return spilled

    return _source


class RetirementConfig(Config):
    """Run config of ``unified_ids``: ``allow_retire`` lets a run pass the retirement guard."""

    allow_retire: bool = False


@dataclass(frozen=True)
class Release:
    """The tables of one release, ready to be checked and published."""

    tables: dict[str, StagedTable]
    rows_in: dict[str, int]
    based_on_release: str | None
    config_hash: str
    plan: dict[str, ReleaseTable] = field(default_factory=dict)
    plan_base: str | None = None


def build_stage_assets(config: FusionConfig) -> list[AssetsDefinition]:
    """The stage assets downstream of the configured sources."""
    source_ins = {
        source_asset_name(s.name): AssetIn(source_asset_name(s.name)) for s in config.sources
    }

    @asset(group_name="identity")
    def baseline(context: AssetExecutionContext, fusion: FusionResource) -> Baseline:
        """What this run may reuse from the current release (nothing in a full rebuild)."""
        reused = Baseline.read(fusion.warehouse(), config=fusion.config(), mode=fusion.mode)
        context.add_output_metadata(
            {
                "mode": fusion.mode,
                "reused_records": 0 if reused.standardised is None else reused.standardised.height,
                "reused_model": reused.model is not None,
            }
        )
        return reused

    @asset(ins=source_ins, group_name="matching", kinds={"polars"})
    def standardised_records(
        context: AssetExecutionContext,
        fusion: FusionResource,
        baseline: Baseline,
        **batches: SpilledBatch,
    ) -> SpilledTable:
        """All sources' records, cleaned, with matching keys (spilled: each step reads them)."""
        by_name = {name.removeprefix("source_"): batch.loaded() for name, batch in batches.items()}
        carried = carried_canonical_records(by_name, warehouse=fusion.warehouse())
        result = stages.spill_standardised(
            by_name,
            config=fusion.config(),
            baseline=baseline,
            spill=fusion.warehouse().scratch(context.run_id),
            carried=carried,
        )
        context.add_output_metadata(
            {
                "records": table_height(result.records),
                "reused": result.reused,
                "standardised": result.standardised,
                "carried_for_quarantined_rows": carried.height,
            }
        )
        faults.checkpoint("after:standardised_records")
        return result.records

    @asset(group_name="identity")
    def steward_decisions(
        context: AssetExecutionContext, fusion: FusionResource
    ) -> stages.StewardDecisions:
        """Steward must-link / cannot-link decisions and field overrides in force."""
        decisions = stages.StewardDecisions.read(fusion.warehouse())
        context.add_output_metadata(
            {
                "link_decisions": decisions.links.height,
                "overrides": decisions.overrides.height,
                "labels": 0 if decisions.labels is None else decisions.labels.height,
            }
        )
        return decisions

    @asset(group_name="matching", kinds={"polars"})
    def match_result(
        context: AssetExecutionContext,
        fusion: FusionResource,
        standardised_records: SpilledTable,
        steward_decisions: stages.StewardDecisions,
        baseline: Baseline,
    ) -> MatchResult:
        """Candidate pairs, the learnt (or reused) model, scored pairs and clusters."""
        result = stages.match(
            standardised_records.rows(stages.matching_columns(fusion.config())),
            config=fusion.config(),
            decisions=steward_decisions.links,
            baseline=baseline,
            labels=steward_decisions.labels,
            pairs_dir=fusion.warehouse().scratch(context.run_id).folder / "spark_scored_pairs",
        )
        if isinstance(result, PairsOnSparkResult):  # the pairs stayed on Spark
            decisions, pairs = result.decision_counts, result.candidate_pairs
        else:
            decisions = dict(result.scored_pairs.group_by("decision").len().iter_rows())
            pairs = result.scored_pairs.height
        context.add_output_metadata(
            {
                "candidate_pairs": pairs,
                "clusters": result.clusters["cluster"].n_unique(),
                "decisions": decisions,
                "blocking": MetadataValue.md(result.blocking_report.to_pandas().to_markdown()),
                "prior": result.model.prior,
                "work": result.work,
                "pairs_kept_on_spark": isinstance(result, PairsOnSparkResult),
            }
        )
        faults.checkpoint("after:match_result")
        return result

    @asset(group_name="identity")
    def unified_ids(
        context: AssetExecutionContext,
        config: RetirementConfig,
        fusion: FusionResource,
        standardised_records: SpilledTable,
        match_result: MatchResult,
    ) -> stages.IdentityAtRelease:
        """Unified IDs carried over from the published release; mass retirement stops here."""
        run = fusion.config().run
        identity = stages.identify_against_warehouse(
            standardised_records.rows(stages.IDENTITY_COLUMNS),
            match_result,
            warehouse=fusion.warehouse(),
            run_id=context.run_id,
            guard=RetirementGuard(
                max_source_share=run.max_retire_share,
                max_customer_share=run.max_customer_retire_share,
                allow=config.allow_retire,
            ),
        )
        context.add_output_metadata(
            {
                "unified_ids": identity.identity.xref["unified_id"].n_unique(),
                "based_on_release": identity.release or "none",
            }
        )
        faults.checkpoint("after:unified_ids")
        return identity

    @asset(
        group_name="lineage",
        metadata={"dagster/column_lineage": golden_column_dependencies(config)},
        # Dagster types no unions: the annotation says which two it can be.
        dagster_type=DagsterAny,
    )
    def golden_record(
        context: AssetExecutionContext,
        fusion: FusionResource,
        standardised_records: SpilledTable,
        unified_ids: stages.IdentityAtRelease,
        steward_decisions: stages.StewardDecisions,
        baseline: Baseline,
    ) -> GoldenRecord | SpilledGolden:
        """Golden customers by survivorship, with field lineage and all candidates."""
        # Read back from the spill, the column maps' JSON is one copy per record again.
        records = with_shared_text(
            standardised_records.rows(stages.GOLDEN_STEP_COLUMNS), REPEATED_RECORD_TEXT
        )
        golden = stages.build_golden(
            records,
            unified_ids.identity,
            config=fusion.config(),
            run_id=context.run_id,
            spill=fusion.warehouse().scratch(context.run_id),
            overrides=steward_decisions.overrides,
            baseline=baseline,
            as_of=run_clock_of(context, fusion),
        )
        context.add_output_metadata({"golden_rows": golden.golden_customer.height})
        faults.checkpoint("after:golden_record")
        return golden

    @asset(group_name="publish")
    def match_tables(
        context: AssetExecutionContext,
        fusion: FusionResource,
        standardised_records: SpilledTable,
        match_result: MatchResult,
    ) -> stages.MatchTables:
        """Match evidence and the incremental index, spilled: the release step reads them there."""
        matched = stages.match_tables(
            standardised_records,
            match_result,
            run_id=context.run_id,
            spill=fusion.warehouse().scratch(context.run_id),
        )
        context.add_output_metadata(
            {name: table_height(table) for name, table in matched.tables.items()}
        )
        faults.checkpoint("after:match_tables")
        return matched

    @asset(
        ins={**source_ins, "golden_record": AssetIn("golden_record", dagster_type=DagsterAny)},
        group_name="publish",
    )
    def release_tables(
        context: AssetExecutionContext,
        fusion: FusionResource,
        standardised_records: SpilledTable,
        match_tables: stages.MatchTables,
        unified_ids: stages.IdentityAtRelease,
        golden_record: GoldenRecord | SpilledGolden,
        steward_decisions: stages.StewardDecisions,
        baseline: Baseline,
        **batches: SpilledBatch,
    ) -> Release:
        """Every warehouse table of this run, before the checks that gate publishing."""
        config = fusion.config()
        by_name = {name.removeprefix("source_"): batch for name, batch in batches.items()}
        tables = stages.warehouse_tables(
            batches=by_name,
            std=standardised_records,
            matched=match_tables,
            identity=unified_ids.identity,
            golden=golden_record,
            config=config,
            run_id=context.run_id,
            decisions=steward_decisions,
            spill=fusion.warehouse().scratch(context.run_id),
            as_of=run_clock_of(context, fusion),
        )
        plan = stages.release_plan(
            tables,
            std=standardised_records,
            statistics=match_tables.statistics,
            identity=unified_ids.identity,
            golden=golden_record,
            baseline=baseline,
            run_id=context.run_id,
        )
        context.add_output_metadata(
            {
                **{name: table_height(table) for name, table in tables.items()},
                "published_as_changes": sorted(plan),
            }
        )
        faults.checkpoint("after:release_tables")
        return Release(
            tables=tables,
            rows_in={name: batch.rows_in for name, batch in by_name.items()},
            based_on_release=unified_ids.release,
            config_hash=config.config_hash,
            plan=plan,
            plan_base=baseline.release,
        )

    @asset(group_name="publish", kinds={"duckdb", "parquet"})
    def published_warehouse(
        context: AssetExecutionContext, fusion: FusionResource, release_tables: Release
    ) -> str:
        """The release, published atomically to DuckDB and Parquet."""
        warehouse = fusion.warehouse()
        lock = contextlib.nullcontext() if fusion.lock_held_by_caller else warehouse.lock()
        with lock as recovered:
            if recovered is not None:
                context.log.warning(recovered)
            if warehouse.current_release() != release_tables.based_on_release:
                msg = (
                    f"warehouse {warehouse.root} changed during this run "
                    f"(was {release_tables.based_on_release}, now {warehouse.current_release()}); "
                    "rerun to build on the new release"
                )
                raise WarehouseError(msg)
            published = stages.publish_release(
                warehouse,
                release_tables.tables,
                rows_in=release_tables.rows_in,
                run_id=context.run_id,
                started_at=_run_started_at(context),
                config_hash=release_tables.config_hash,
                plan=release_tables.plan,
                base=release_tables.plan_base,
            )
        context.add_output_metadata(
            {"release": MetadataValue.path(str(published)), "database": str(warehouse.database)}
        )
        faults.checkpoint("after:published_warehouse")
        return str(published)

    return [
        baseline,
        standardised_records,
        steward_decisions,
        match_result,
        unified_ids,
        golden_record,
        match_tables,
        release_tables,
        published_warehouse,
    ]


def run_clock_of(context: AssetExecutionContext, fusion: FusionResource) -> datetime:
    """The run clock (``pipelines.clock``): ``--as-of``, ``run.as_of``, or the run's start day.

    Every step of a run reads the same run record, so all agree on it.
    """
    return run_clock(started_at=_run_started_at(context), pinned=fusion.pinned_as_of())


def _run_started_at(context: AssetExecutionContext) -> datetime:
    record = context.instance.get_run_record_by_id(context.run_id)
    if record is not None and record.start_time is not None:
        return datetime.fromtimestamp(record.start_time, tz=UTC)
    return stages.utc_now()


def golden_column_dependencies(config: FusionConfig) -> TableColumnLineage:
    """Which source asset columns each golden column comes from (the OpenLineage facet's data)."""
    lineage = golden_column_lineage(config.sources, settings=config.survivorship)
    return TableColumnLineage(
        deps_by_column={
            field: sorted(
                {
                    TableColumnDep(
                        asset_key=AssetKey(source_asset_name(ref.source)), column_name=ref.column
                    )
                    for ref in refs
                    if ref.type == "DIRECT"
                },
                key=lambda dep: (dep.asset_key.to_user_string(), dep.column_name),
            )
            for field, refs in lineage.items()
        }
    )


def build_assets(config: FusionConfig) -> list[AssetsDefinition]:
    """Every asset of the graph for this configuration."""
    sources = [build_source_asset(s.name, file_format=s.format) for s in config.sources]
    return [*sources, *build_stage_assets(config)]
