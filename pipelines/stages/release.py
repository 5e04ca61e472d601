"""The release stage: every table of a release, its plan, and publishing it."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path

import polars as pl

from dbt_like_models.lineage import LINEAGE_READS
from dbt_like_models.project import load_project
from dbt_like_models.release import analyst_tables
from dbt_like_models.runner import ModelInput
from lineage import (
    GoldenRecord,
    run_provenance_table,
)
from lineage.golden import (
    FIELD_LINEAGE_COLUMNS,
    FIELD_LINEAGE_QUERY,
    lineage_rows,
)
from matching.identity import ID_PREFIX
from matching.name_idf import NameIdf
from pipelines.incremental import (
    Baseline,
    publish_plan,
    reuse_key,
    with_contact_points,
)
from pipelines.settings import FusionConfig
from pipelines.stages.contacts import contact_tables
from pipelines.stages.evidence import OVERSIZED_TABLE, MatchTables, spill_frames
from pipelines.stages.identity import Identity, StewardDecisions
from pipelines.stages.run_tables import (
    RunSummary,
    pipeline_runs_table,
    quarantine_table,
    utc_now,
    value_rejections_table,
)
from pipelines.stewardship.store import review_queue
from pipelines.warehouse import (
    DerivedTable,
    ReleaseTable,
    StagedTable,
    Warehouse,
    rows_named,
    staged_lazy,
    staged_rows,
    table_height,
)
from pipelines.warehouse.retirement import (
    carried_records_table,
)
from pipelines.warehouse.spill import (
    SpilledGolden,
    SpilledTable,
    SpillFolder,
    StagedBatch,
)


def warehouse_tables(
    *,
    batches: Mapping[str, StagedBatch],
    std: StagedTable,
    matched: MatchTables,
    identity: Identity,
    golden: GoldenRecord | SpilledGolden,
    config: FusionConfig,
    run_id: str,
    decisions: StewardDecisions,
    spill: SpillFolder,
    as_of: datetime | None = None,
) -> dict[str, StagedTable]:
    """Every table of a release except ``pipeline_runs`` (added at publish time).

    ``as_of``: the run clock, stored in ``run_settings`` so the run can be repeated.

    Besides the golden tables: the facts, the SQL models with their tests and
    column lineage (``dbt_like_models``), and the data-quality results of the
    whole release (``pipelines.quality``), so all land in the same atomic swap.
    Every table comes back spilled to ``spill`` (or derived from spilled ones):
    the checks, the models' steps and the publish step each read the release,
    and it waits in the scratch folder, not in each step's memory.
    """
    from pipelines.quality import quality_tables

    evidence = matched.tables["match_evidence"]
    assert isinstance(evidence, SpilledTable)  # match_tables spills every table
    tables: dict[str, StagedTable] = {
        "golden_customer": golden.golden_customer,
        "customer_xref": identity.xref,
        "field_lineage": _field_lineage(golden, spill=spill),
        "field_candidates": golden.field_candidates,
        "customer_contact_points": with_contact_points(
            golden, fields=config.survivorship.contact_point_fields
        ),
        # Whole on every run, incremental ones included (pipelines.stages.contacts).
        **contact_tables(std, identity.xref, golden.golden_customer, run_id=run_id),
        "run_provenance": run_provenance_table(run_id=run_id, config_hash=config.config_hash),
        "match_evidence": evidence,
        "review_queue": review_queue(evidence.lazy()),
        "quarantine": quarantine_table(batches, run_id=run_id),
        "value_rejections": value_rejections_table(batches, run_id=run_id),
        "unified_id_history": identity.history,
        "retired_records": identity.retired,
        "carried_records": carried_records_table(batches, identity.xref, run_id=run_id),
        "standardised_records": std,
        "steward_link_decisions": decisions.links,
        "steward_field_overrides": decisions.overrides,
        "blocking_report": matched.tables["blocking_report"],
        "run_settings": pl.DataFrame(
            {
                "run_id": [run_id],
                "config_hash": [config.config_hash],
                "reuse_key": [reuse_key(config)],
                "config_json": [config.to_json()],
                "as_of": pl.Series([as_of], dtype=pl.Datetime("us", "UTC")),
                **matched.settings,
            }
        ),
        OVERSIZED_TABLE: oversized_clusters_table(
            matched.tables[OVERSIZED_TABLE],
            identity.xref,
            max_cluster_size=config.matching.max_cluster_size,
            run_id=run_id,
        ),
        **{
            name: table
            for name, table in matched.tables.items()
            if name not in ("match_evidence", "blocking_report", OVERSIZED_TABLE)
        },
    }
    # Frames made here go to the scratch folder before the models and the suites
    # add their own transients (the contact points and the models' tables at 1M: 0.6 GiB).
    tables = spill_frames(tables, spill=spill)
    # The models get only the tables they read: the runner copies each one it is given.
    project = load_project(extra=config.models_dirs)
    read = {
        name: _model_input(tables[name], project.names_mentioned(name), LINEAGE_READS.get(name, ()))
        for name in project.external_tables()
        if name in tables
    }
    models = analyst_tables(
        read,
        sources=config.sources,
        facts=config.facts,
        run_id=run_id,
        project=project,
        spill_to=spill.folder / "models.tmp",
    )
    # A derived table's rows, computed for the models, and the models' frames (0.6 GiB at
    # 1M records) go before the suites run.
    del read
    tables |= spill_frames(models, spill=spill)
    del models
    quality = quality_tables(
        batches=batches, tables=tables, sources=config.sources, facts=config.facts, run_id=run_id
    )
    return tables | spill_frames(quality, spill=spill)


OVERSIZED_COLUMNS = (
    "unified_id", "record_count", "original_unified_id", "original_record_count",
    "original_parts", "outcome", "max_cluster_size", "run_id",
)  # fmt: skip


def oversized_clusters_table(
    parts: StagedTable, xref: pl.DataFrame, *, max_cluster_size: int, run_id: str
) -> pl.DataFrame:
    """``oversized_clusters``: one row per part of a cluster above ``max_cluster_size``.

    ``unified_id`` is the part's customer, ``original_unified_id`` the customer
    holding the original cluster's smallest record (the parts of one cluster
    share it); ``outcome`` is ``split`` (the part is within the limit) or
    ``kept_oversized`` (strong links hold it together: published as it is).
    Empty when no cluster was over the limit.
    """
    ids = xref.lazy().select("source_system", "source_record_id", "unified_id")
    original_ids = ids.select(
        pl.col("source_system").alias("original_source_system"),
        pl.col("source_record_id").alias("original_source_record_id"),
        pl.col("unified_id").alias("original_unified_id"),
    )
    return (
        staged_lazy(parts)
        .join(ids, on=["source_system", "source_record_id"], how="left", maintain_order="left")
        .join(
            original_ids,
            on=["original_source_system", "original_source_record_id"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.lit(max_cluster_size, pl.Int64).alias("max_cluster_size"),
            pl.lit(run_id, pl.String).alias("run_id"),
        )
        .select(OVERSIZED_COLUMNS)
        .sort("original_unified_id", "unified_id")
        .collect()
    )


def _field_lineage(golden: GoldenRecord | SpilledGolden, *, spill: SpillFolder) -> StagedTable:
    """The winning candidates with their lineage columns (``lineage.golden``).

    Derived by DuckDB from the published candidates when they are in memory
    (an incremental run then recomputes only the changed customers' rows);
    streamed from the spilled candidates to a file of its own otherwise, so
    the SQL models and the suites scan it instead of computing it in memory.
    """
    if isinstance(golden, SpilledGolden):
        return spill.write("field_lineage", lineage_rows(golden.field_candidates.lazy()))
    return DerivedTable(
        FIELD_LINEAGE_QUERY,
        partial(lineage_rows, golden.field_candidates),
        FIELD_LINEAGE_COLUMNS,
    )


def _model_input(
    table: StagedTable, mentioned: frozenset[str] | None, lineage_reads: Sequence[str]
) -> ModelInput:
    """A table as the SQL models get it: a derived one with the columns read from it only.

    A spilled one is scanned where it lies (DuckDB reads the columns a model uses).
    ``mentioned``: the names the models mention (None: all columns);
    ``lineage_reads``: what their column lineage reads from it besides.
    """
    if isinstance(table, SpilledTable):
        return table.dataset()
    if not isinstance(table, DerivedTable) or mentioned is None:
        return staged_rows(table)
    return rows_named(table, mentioned | set(lineage_reads))


def release_plan(
    tables: Mapping[str, StagedTable],
    *,
    std: StagedTable,
    statistics: NameIdf | None,
    identity: Identity,
    golden: GoldenRecord | SpilledGolden,
    baseline: Baseline | None,
    run_id: str,
) -> dict[str, ReleaseTable]:
    """Tables an incremental run publishes as changes to the release it read (see publish_plan)."""
    if baseline is None:
        return {}
    return publish_plan(
        tables,
        std=std,
        golden=golden,
        history=identity.history,
        baseline=baseline,
        statistics=statistics,
        run_id=run_id,
    )


def publish_release(
    warehouse: Warehouse,
    tables: Mapping[str, StagedTable],
    *,
    rows_in: Mapping[str, int],
    run_id: str,
    started_at: datetime,
    config_hash: str,
    plan: Mapping[str, ReleaseTable] | None = None,
    base: str | None = None,
) -> Path:
    """Add ``pipeline_runs``, publish atomically, and log the run as succeeded.

    ``plan`` (with ``base``, the release it was computed against) names tables
    published as changes to that release instead of whole (``release_plan``).
    """
    finished_at = utc_now()
    summary = RunSummary(
        run_id=run_id,
        started_at=started_at,
        rows_in=sum(rows_in.values()),
        rows_quarantined=table_height(tables["quarantine"]),
        golden_rows=table_height(tables["golden_customer"]),
        config_hash=config_hash,
        records_carried=table_height(tables.get("carried_records", pl.DataFrame())),
        records_retired=_retired_by(tables.get("retired_records"), run_id=run_id),
    )
    row = summary.as_row(status="succeeded", finished_at=finished_at)
    runs = pipeline_runs_table(warehouse.read_run_log(), row)
    release = f"{started_at:%Y%m%dT%H%M%S}-{run_id[:8]}"
    # Reserved before the swap: a published ID is always in the ledger.
    warehouse.reserve_unified_ids(highest_unified_sequence(tables), run_id=run_id)
    published = warehouse.publish(
        {**tables, **(plan or {}), "pipeline_runs": runs},
        release=release,
        base=base if plan else None,
    )
    warehouse.append_run_log(row)
    warehouse.clear_old_scratch(now=time.time())
    return published


def _retired_by(retired: StagedTable | None, *, run_id: str) -> int:
    """How many of ``retired_records`` the run ``run_id`` retired."""
    if retired is None:
        return 0
    count: int = (
        staged_lazy(retired).filter(pl.col("retired_run_id") == run_id).select(pl.len()).collect()
    ).item()
    return count


def highest_unified_sequence(tables: Mapping[str, StagedTable]) -> int:
    """The highest unified ID sequence number in the release's xref and ID history (0: none)."""
    highest = 0
    for name in ("customer_xref", "unified_id_history"):
        if name in tables:
            ids = staged_lazy(tables[name]).select(
                pl.col("unified_id").str.strip_prefix(ID_PREFIX).cast(pl.Int64, strict=False).max()
            )
            highest = max(highest, ids.collect().item() or 0)
    return highest


def log_failed_run(
    warehouse: Warehouse, *, run_id: str, started_at: datetime, config_hash: str | None, reason: str
) -> None:
    """Record a failed run in the run log and drop its scratch; the release is not touched."""
    warehouse.drop_scratch(run_id)
    warehouse.append_run_log(
        {
            "run_id": run_id,
            "started_at": started_at,
            "finished_at": utc_now(),
            "status": "failed",
            "rows_in": None,
            "rows_quarantined": None,
            "golden_rows": None,
            "config_hash": config_hash,
            "reason": reason,
        }
    )
