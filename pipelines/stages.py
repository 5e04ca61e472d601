"""The stages of a run as plain functions: what each Dagster asset calls.

No Dagster here: the asset bodies in ``pipelines.assets`` are one call each
into this module, so every stage is testable without an orchestrator and the
CLI and the scheduler run identical code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import polars as pl

from connectors import SourceBatch, load_source
from connectors.canonical import QUARANTINE_SCHEMA
from connectors.config import SourceConfig
from connectors.time_window import TimestampWindow, empty_value_rejections
from dbt_like_models.lineage import LINEAGE_READS
from dbt_like_models.project import load_project
from dbt_like_models.release import analyst_tables
from dbt_like_models.runner import ModelInput
from lineage import (
    GoldenRecord,
    build_golden_record,
    run_provenance_table,
)
from lineage.golden import (
    FIELD_LINEAGE_COLUMNS,
    FIELD_LINEAGE_QUERY,
    GOLDEN_INPUT_COLUMNS,
    PART_RECORDS,
    golden_record_parts,
    latest_update,
    lineage_rows,
)
from matching import IdAssignment, MatchResult, assign_unified_ids, standardise
from matching.identity import ID_PREFIX, PreviousIdentity
from matching.incremental import (
    IndexedMatchResult,
    match_in_full,
    match_incrementally,
    supports_incremental,
)
from matching.name_idf import NameIdf, vectors_to_frame
from matching.standardise.attributes import attribute_column
from pipelines.incremental import (
    Baseline,
    IncrementalGolden,
    Standardised,
    Standardiser,
    carried_unified_ids,
    combine_golden,
    publish_plan,
    reuse_key,
    reuses_standardised,
    standardise_in_parts,
    standardise_incrementally,
    with_contact_points,
)
from pipelines.labelling import LabelStore
from pipelines.retirement import (
    RetirementGuard,
    carried_records_table,
    check_retirement,
    retirement_counts,
)
from pipelines.settings import FusionConfig
from pipelines.spill import (
    SpilledGolden,
    SpilledTable,
    SpillFolder,
    StagedBatch,
    spill_golden,
)
from pipelines.stewardship import StewardshipStore, apply_field_overrides, review_queue
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

XREF_COLUMNS = ("source_system", "source_record_id", "unified_id", "match_probability", "run_id")


def load_one_source(source: SourceConfig, *, window: TimestampWindow | None = None) -> SourceBatch:
    """Read one export into canonical records plus its quarantine.

    ``window``: the timestamps the run accepts (``connectors.time_window``).
    """
    return load_source(source, window=window)


STANDARDISED_TABLE = "standardised_records"


def standardise_batches(
    batches: Mapping[str, SourceBatch],
    *,
    config: FusionConfig,
    baseline: Baseline,
    carried: pl.DataFrame | None = None,
) -> Standardised:
    """Every source's canonical records, standardised (unchanged ones reused from the baseline).

    ``carried``: canonical records read in place of quarantined rows
    (``pipelines.retirement.carried_canonical_records``).
    """
    records = _all_records(batches, config, carried=carried)
    return standardise_incrementally(
        records,
        baseline=baseline,
        default_regions=config.default_regions,
        standardiser=_standardiser(config),
    )


def _all_records(
    batches: Mapping[str, SourceBatch], config: FusionConfig, *, carried: pl.DataFrame | None
) -> pl.DataFrame:
    """Every source's canonical records, in the config's order of sources, then the carried."""
    frames = [batches[s.name].records for s in config.sources]
    if carried is not None and carried.height:
        frames.append(carried.select(frames[0].columns).cast(frames[0].schema))
    return pl.concat(frames, how="vertical")


@dataclass(frozen=True)
class SpilledStandardised:
    """The standardised records in the run's scratch folder, and how many were reused."""

    records: SpilledTable
    reused: int
    standardised: int


def spill_standardised(
    batches: Mapping[str, SourceBatch],
    *,
    config: FusionConfig,
    baseline: Baseline,
    spill: SpillFolder,
    carried: pl.DataFrame | None = None,
) -> SpilledStandardised:
    """``standardise_batches``, written to ``spill`` (every later step reads them from there).

    With nothing to reuse and Polars as the engine, each part goes to the
    file as it is standardised (``standardise_in_parts``); otherwise the
    records are standardised whole, then written.
    """
    if config.matching.engine == "spark" or reuses_standardised(baseline):
        result = standardise_batches(batches, config=config, baseline=baseline, carried=carried)
        spilled = spill.write(STANDARDISED_TABLE, result.records)
        return SpilledStandardised(spilled, reused=result.reused, standardised=result.standardised)
    records = _all_records(batches, config, carried=carried)
    parts = standardise_in_parts(records, default_regions=config.default_regions)
    spilled = spill.write_parts(STANDARDISED_TABLE, parts)
    return SpilledStandardised(spilled, reused=0, standardised=records.height)


def _standardiser(config: FusionConfig) -> Standardiser:
    """``standardise``, or the same function on Spark when ``matching.engine`` is spark."""
    if config.matching.engine != "spark":
        return standardise
    from matching.engines.spark_standardise import standardise_on_spark

    return partial(standardise_on_spark, settings=config.matching.spark)


# What matching reads of the standardised records (22 of 38 columns): the record keys,
# the compared and blocked fields with their keys and validity flags, and the content
# hash an incremental run tells changed records by. The rest (provenance, the fields
# only survivorship reads) were 70 MiB of the match step's frame at 1M records, plus
# the allocator's share of reading them.
MATCHING_COLUMNS = (
    "record_index", "source_system", "source_record_id", "customer_type",
    "name", "name_key", "name_latin", "name_latin_sorted", "contact_latin_sorted",
    "email", "email_valid", "phone", "phone_valid", "tax_id",
    "address", "address_key", "postcode", "city", "city_key",
    "birth_date", "birth_date_valid", "company_domain", "content_hash",
)  # fmt: skip


def matching_columns(config: FusionConfig) -> tuple[str, ...]:
    """``MATCHING_COLUMNS`` and the columns of the config's extra attributes."""
    return (*MATCHING_COLUMNS, *(attribute_column(name) for name in config.matching.attributes))


# What assigning unified IDs reads of the standardised records.
IDENTITY_COLUMNS = ("record_index", "source_system", "source_record_id")
# What the golden step reads of them: survivorship's inputs, and the content hash by which an
# incremental run tells the customers it carries over (23 of 38 columns).
GOLDEN_STEP_COLUMNS = (*GOLDEN_INPUT_COLUMNS, "content_hash")


def match(
    std: pl.DataFrame,
    *,
    config: FusionConfig,
    decisions: pl.DataFrame | None = None,
    baseline: Baseline | None = None,
    labels: pl.DataFrame | None = None,
) -> IndexedMatchResult:
    """Block, compare, score and cluster the standardised records under steward decisions.

    A run with a stored model scores with it and with the name statistics
    stored beside it; an incremental run whose release kept its blocking index
    matches only what its new, changed and deleted records reach
    (``matching.incremental``). The first run and ``--retrain`` fit both, the
    model from ``labels`` (``fusion label`` answers) and the steward decisions too.
    """
    settings = config.matching
    model = None if baseline is None else baseline.model
    # None: fitted on this run's names (with their vectors) by match_in_full.
    statistics = None if baseline is None or model is None else baseline.statistics
    incremental = statistics is not None and supports_incremental(settings.blocking)
    index = baseline.load_index() if incremental and baseline is not None else None
    if model is not None and statistics is not None and index is not None:
        return match_incrementally(
            std,
            previous=index,
            settings=settings,
            statistics=statistics,
            model=model,
            steward_decisions=decisions,
        )
    return match_in_full(
        std,
        settings=settings,
        statistics=statistics,
        model=model,
        steward_decisions=decisions,
        labels=labels,
    )


RETIRED_SCHEMA: dict[str, pl.DataType] = {
    "source_system": pl.String(),
    "source_record_id": pl.String(),
    "unified_id": pl.String(),
    "retired_run_id": pl.String(),
    "retired_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class PreviousRelease:
    """What a run reads from the previously published warehouse."""

    xref: pl.DataFrame | None
    history: pl.DataFrame | None
    retired: pl.DataFrame | None
    # The ledger's highest unified ID sequence number (survives the releases).
    highest_issued: int = 0

    @classmethod
    def read(cls, warehouse: Warehouse) -> PreviousRelease:
        """The current release's identity tables (Nones for a new warehouse) and the ledger."""
        return cls(
            xref=warehouse.read_table("customer_xref"),
            history=warehouse.read_table("unified_id_history"),
            retired=warehouse.read_table("retired_records"),
            highest_issued=warehouse.reserved_unified_ids(),
        )


@dataclass(frozen=True)
class Identity:
    """Unified IDs of this run: the xref, every ID event, every retired record."""

    xref: pl.DataFrame
    history: pl.DataFrame
    retired: pl.DataFrame


def assign_identity(
    std: pl.DataFrame, result: MatchResult, *, previous: PreviousRelease, run_id: str, at: datetime
) -> Identity:
    """Carry unified IDs over from the previous release and record ID events.

    Records in the previous xref but not in this run are retired (kept in
    ``retired_records`` with the run that retired them); a retired record that
    comes back leaves ``retired_records`` again.
    """
    keys = ["source_system", "source_record_id"]
    membership = std.select("record_index", *keys).join(result.clusters, on="record_index")
    assignment: IdAssignment = assign_unified_ids(
        membership.drop("record_index"),
        previous=PreviousIdentity(
            xref=previous.xref,
            retired=previous.retired,
            history=previous.history,
            highest_issued=previous.highest_issued,
        ),
    )
    probability = _record_match_probability(result)
    xref = (
        membership.join(assignment.records, on=keys)
        .join(probability, on="record_index", how="left")
        .with_columns(
            pl.col("match_probability").fill_null(1.0),
            pl.lit(run_id).alias("run_id"),
        )
        .select(*XREF_COLUMNS, "first_unified_id")
        .sort(keys)
    )
    events = assignment.history.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(at).alias("at"))
    history = events if previous.history is None else pl.concat([previous.history, events])
    newly_retired = assignment.retired.with_columns(
        pl.lit(run_id).alias("retired_run_id"), pl.lit(at).alias("retired_at")
    )
    retired = pl.concat(
        [f for f in (previous.retired, newly_retired) if f is not None], how="vertical_relaxed"
    ).cast(pl.Schema(RETIRED_SCHEMA))
    retired = retired.join(xref.select(keys), on=keys, how="anti").sort(keys)
    return Identity(xref=xref, history=history, retired=retired)


def _record_match_probability(result: MatchResult) -> pl.DataFrame:
    """Per record, the highest probability of a link inside its own cluster."""
    pairs = result.scored_pairs.select("left", "right", "match_probability")
    labels = result.clusters
    within = (
        pairs.join(labels.rename({"record_index": "left", "cluster": "lc"}), on="left")
        .join(labels.rename({"record_index": "right", "cluster": "rc"}), on="right")
        .filter(pl.col("lc") == pl.col("rc"))
    )
    both_ends = pl.concat(
        [
            within.select(pl.col("left").alias("record_index"), "match_probability"),
            within.select(pl.col("right").alias("record_index"), "match_probability"),
        ]
    )
    return both_ends.group_by("record_index").agg(pl.col("match_probability").max())


@dataclass(frozen=True)
class StewardDecisions:
    """Every steward decision in force for this run (read once, at its start).

    ``labels``: the answers of ``fusion label`` (``pipelines.labelling``); a run
    that learns its model learns from them and from ``links``.
    """

    links: pl.DataFrame
    overrides: pl.DataFrame
    labels: pl.DataFrame | None = None

    @classmethod
    def read(cls, warehouse: Warehouse) -> StewardDecisions:
        """The decision log and the labels kept beside the warehouse's releases."""
        store = StewardshipStore(warehouse.root)
        return cls(
            links=store.link_decisions(),
            overrides=store.field_overrides(),
            labels=LabelStore(warehouse.root).read(),
        )


@dataclass(frozen=True)
class IdentityAtRelease:
    """Unified IDs plus the release they were carried over from (None: first run)."""

    identity: Identity
    release: str | None


def identify_against_warehouse(
    std: pl.DataFrame,
    result: MatchResult,
    *,
    warehouse: Warehouse,
    run_id: str,
    guard: RetirementGuard | None = None,
) -> IdentityAtRelease:
    """Assign IDs against the warehouse's current release.

    Raises:
        RetirementGuardError: the run would retire more than ``guard`` allows
            (``pipelines.retirement``); nothing is published.
    """
    release = warehouse.current_release()
    previous = PreviousRelease.read(warehouse)
    identity = assign_identity(std, result, previous=previous, run_id=run_id, at=utc_now())
    if guard is not None:
        counts = retirement_counts(
            previous.xref,
            newly_retired=identity.retired.filter(pl.col("retired_run_id") == run_id),
            events=identity.history.filter(pl.col("run_id") == run_id),
        )
        check_retirement(counts, guard=guard)
    return IdentityAtRelease(identity=identity, release=release)


def build_golden(
    std: pl.DataFrame,
    identity: Identity,
    *,
    config: FusionConfig,
    run_id: str,
    spill: SpillFolder,
    overrides: pl.DataFrame | None = None,
    baseline: Baseline | None = None,
    part_records: int = PART_RECORDS,
    as_of: datetime | None = None,
) -> GoldenRecord | SpilledGolden:
    """Survivorship over trust scores, with field lineage; steward overrides win.

    ``as_of``: the run clock trust ages values against (``pipelines.clock``);
    None: the records' latest update (callers outside a run).

    An incremental run recomputes only the customers whose records changed
    and carries the others over from the previous release
    (``pipelines.incremental.carried_unified_ids`` says when that is exact).
    A whole build (polars engine) writes the candidates of each range of
    ``part_records`` records to ``spill`` as it is built, so they never all
    sit in memory.
    """
    carried = (
        None
        if baseline is None
        else carried_unified_ids(
            std,
            identity.xref,
            baseline=baseline,
            overrides=overrides,
            history=identity.history,
            as_of=as_of,
        )
    )
    if carried is None or baseline is None or baseline.golden is None:
        if config.matching.engine != "spark":
            return _spilled_golden(
                std,
                identity,
                config=config,
                run_id=run_id,
                spill=spill,
                overrides=overrides,
                part_records=part_records,
                as_of=as_of,
            )
        from lineage.golden_spark import build_golden_record_spark

        golden = build_golden_record_spark(
            std,
            identity.xref,
            sources=config.sources,
            settings=config.survivorship,
            run_id=run_id,
            spark_settings=config.matching.spark,
            as_of=as_of,
        )
    else:
        todo = identity.xref.filter(~pl.col("unified_id").is_in(carried.implode()))
        fresh = build_golden_record(
            std.join(todo.select(XREF_COLUMNS[:2]), on=list(XREF_COLUMNS[:2]), how="semi"),
            todo,
            sources=config.sources,
            settings=config.survivorship,
            run_id=run_id,
            as_of=latest_update(std) if as_of is None else as_of,
        )
        golden = combine_golden(baseline.golden, carried, fresh)
    if overrides is None:
        return golden
    overridden = apply_field_overrides(golden, overrides, history=identity.history, run_id=run_id)
    if isinstance(golden, IncrementalGolden):
        # Overridden customers are never carried over: the carried rows stand.
        return replace(golden, **vars(overridden))
    return overridden


def _spilled_golden(
    std: pl.DataFrame,
    identity: Identity,
    *,
    config: FusionConfig,
    run_id: str,
    spill: SpillFolder,
    overrides: pl.DataFrame | None,
    part_records: int,
    as_of: datetime | None,
) -> SpilledGolden:
    """Every customer's golden record, range by range, the candidates spilled as they come."""
    parts = golden_record_parts(
        std,
        identity.xref,
        sources=config.sources,
        settings=config.survivorship,
        run_id=run_id,
        part_records=part_records,
        as_of=as_of,
    )
    if overrides is not None:
        # An override names one customer: applied to its range, it is applied to the whole.
        parts = (
            apply_field_overrides(part, overrides, history=identity.history, run_id=run_id)
            for part in parts
        )
    return spill_golden(parts, spill=spill)


# Scored pairs per part of the match evidence: each part is gathered, keyed and
# written alone. Keyed and sorted whole, the 6.5M pairs at 1M records added
# 1.5 GiB to the step (every column copied by the sort, then by each join); in
# parts of 500k, 0.7 GiB, in 7 s instead of 8.
EVIDENCE_PART_PAIRS = 500_000
EVIDENCE_LEADING_COLUMNS = (
    "left_source_system", "left_source_record_id", "right_source_system",
    "right_source_record_id", "match_probability", "match_weight", "decision",
    "same_cluster", "steward_decision", "blocking_rules",
)  # fmt: skip
KEY_TEXT = ("source_system", "source_record_id")


def match_evidence_parts(
    std: StagedTable, result: MatchResult, *, run_id: str, part_pairs: int = EVIDENCE_PART_PAIRS
) -> Iterator[pl.DataFrame]:
    """Scored candidate pairs keyed by source records, with the per-comparison evidence.

    Ordered by the two records' (source system, source record id), in
    consecutive parts of ``part_pairs`` pairs (at least one part, empty when
    nothing was scored). Only the order is computed over all pairs: each
    record's rank in key order, two integers a pair, sorted; each part's rows
    are then gathered in that order and given their keys' text and clusters,
    looked up by ``record_index`` (a row number, as matching numbers records).

    Raises:
        ValueError: The records' or the clusters' ``record_index`` is not 0..n-1.
    """
    records = (
        staged_lazy(std)
        .select("record_index", *KEY_TEXT)
        .sort(*KEY_TEXT)
        .with_row_index("rank")
        .sort("record_index")
        .collect()
    )
    clusters = result.clusters.sort("record_index")
    for label, numbered in (("standardised records", records), ("clusters", clusters)):
        _check_row_numbers(label, numbered.get_column("record_index"))
    pairs = result.scored_pairs
    rank, cluster = records.get_column("rank"), clusters.get_column("cluster")
    order = (
        pl.DataFrame({"left": rank.gather(pairs["left"]), "right": rank.gather(pairs["right"])})
        .select(pl.arg_sort_by("left", "right"))
        .to_series()
    )
    text = records.select(KEY_TEXT)
    comparisons = [
        c for c in pairs.columns if c.endswith(("_level", "_weight")) and c != "match_weight"
    ]
    for start in range(0, max(order.len(), 1), part_pairs):
        part = pairs[order.slice(start, part_pairs)]
        left, right = part.get_column("left"), part.get_column("right")
        keyed = pl.concat(
            [
                text[left].select(pl.all().name.prefix("left_")),
                text[right].select(pl.all().name.prefix("right_")),
                part.with_columns(
                    (cluster.gather(left) == cluster.gather(right)).alias("same_cluster"),
                    pl.lit(run_id).alias("run_id"),
                ),
            ],
            how="horizontal",
        )
        yield keyed.select(*EVIDENCE_LEADING_COLUMNS, *comparisons, "run_id")


def _check_row_numbers(label: str, record_index: pl.Series) -> None:
    """Fail unless ``record_index``, sorted, is 0..n-1: the evidence looks rows up by it."""
    expected = pl.Series(range(record_index.len()), dtype=record_index.dtype)
    if not record_index.equals(expected, check_names=False):
        msg = f"{label}: record_index is not the row numbers 0..{record_index.len() - 1}"
        raise ValueError(msg)


def quarantine_table(batches: Mapping[str, StagedBatch], *, run_id: str) -> pl.DataFrame:
    """Every rejected row of every source, with its reason."""
    frames = [b.quarantine for b in batches.values()]
    combined = pl.concat(frames) if frames else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return combined.with_columns(pl.lit(run_id).alias("run_id")).sort(
        "source_system", "source_file", "row_number"
    )


def value_rejections_table(batches: Mapping[str, StagedBatch], *, run_id: str) -> pl.DataFrame:
    """Every value dropped from a kept record (``connectors.time_window``), with its reason."""
    frames = [b.value_rejections for b in batches.values()]
    combined = pl.concat(frames) if frames else empty_value_rejections()
    return combined.with_columns(pl.lit(run_id).alias("run_id"))


@dataclass(frozen=True)
class RunSummary:
    """Counts and timings of one run, as they go into ``pipeline_runs``."""

    run_id: str
    started_at: datetime
    rows_in: int
    rows_quarantined: int
    golden_rows: int
    config_hash: str
    # Records kept with their last good values for quarantined rows, and records retired.
    records_carried: int = 0
    records_retired: int = 0

    def as_row(self, *, status: str, finished_at: datetime) -> dict[str, object]:
        """A ``pipeline_runs`` row."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": finished_at,
            "status": status,
            "rows_in": self.rows_in,
            "rows_quarantined": self.rows_quarantined,
            "golden_rows": self.golden_rows,
            "config_hash": self.config_hash,
            "records_carried": self.records_carried,
            "records_retired": self.records_retired,
        }


PIPELINE_RUNS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "status": pl.String(),
    "rows_in": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "golden_rows": pl.Int64(),
    "config_hash": pl.String(),
    "records_carried": pl.Int64(),
    "records_retired": pl.Int64(),
}


def pipeline_runs_table(log: list[dict[str, object]], current: dict[str, object]) -> pl.DataFrame:
    """Every logged run (failures included) plus the one being published."""
    rows = [
        {k: None if entry.get(k) is None else str(entry.get(k)) for k in PIPELINE_RUNS_SCHEMA}
        for entry in [*log, current]
    ]
    frame = pl.DataFrame(rows, schema={k: pl.String for k in PIPELINE_RUNS_SCHEMA}, orient="row")
    return frame.with_columns(
        pl.col("started_at", "finished_at").str.to_datetime(time_zone="UTC", strict=False),
        pl.col(
            "rows_in", "rows_quarantined", "golden_rows", "records_carried", "records_retired"
        ).cast(pl.Int64),
    ).cast(pl.Schema(PIPELINE_RUNS_SCHEMA))


@dataclass(frozen=True)
class MatchTables:
    """The release tables made from a match result, spilled, and what else the release keeps of it.

    Made in a step of their own, so that the release step never loads the
    match result (0.9 GiB at 1M records: the scored pairs and the name
    vectors) beside the golden record and the quality suites.
    """

    tables: dict[str, StagedTable]
    # run_settings columns: the model and the name statistics' scalars.
    settings: dict[str, list[object]]
    # The name statistics a full match fitted (None: the result carries none).
    statistics: NameIdf | None


def match_tables(
    std: StagedTable, result: MatchResult, *, run_id: str, spill: SpillFolder
) -> MatchTables:
    """Match evidence, the blocking report and the incremental index of one match result."""
    tables: dict[str, StagedTable] = {
        "match_evidence": spill.write_parts(
            "match_evidence", match_evidence_parts(std, result, run_id=run_id)
        ),
        "blocking_report": result.blocking_report.with_columns(pl.lit(run_id).alias("run_id")),
        **_match_index_tables(result, spill=spill),
    }
    return MatchTables(
        tables=spill_frames(tables, spill=spill),
        settings={
            "match_model_json": [json.dumps(result.model.to_dict())],
            **_statistics_settings(result),
        },
        statistics=result.statistics if isinstance(result, IndexedMatchResult) else None,
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
        **{
            name: table
            for name, table in matched.tables.items()
            if name not in ("match_evidence", "blocking_report")
        },
    }
    # Frames made here go to the scratch folder before the models and the suites
    # add their own transients (the contact points and the models' tables at 1M: 0.6 GiB).
    tables = spill_frames(tables, spill=spill)
    # The models get only the tables they read: the runner copies each one it is given.
    project = load_project()
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


def spill_frames(
    tables: Mapping[str, StagedTable], *, spill: SpillFolder
) -> dict[str, StagedTable]:
    """The tables held in memory written to ``spill``; the spilled and derived ones as they are."""
    return {
        name: spill.write(name, table) if isinstance(table, pl.DataFrame) else table
        for name, table in tables.items()
    }


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


def _statistics_settings(result: MatchResult) -> dict[str, list[object]]:
    """The name statistics' scalars, stored in ``run_settings`` beside the model."""
    if not isinstance(result, IndexedMatchResult):
        return {}
    statistics = result.statistics
    return {
        "tf_population": [statistics.population],
        "name_ngram_range": [json.dumps(list(statistics.ngram_range))],
    }


def _match_index_tables(result: MatchResult, *, spill: SpillFolder) -> dict[str, StagedTable]:
    """Internal tables the next incremental run matches against (see pipelines.incremental).

    The name vectors' frame (a copy of the matrix, 0.3 GiB at 1M records) is spilled.
    """
    if not isinstance(result, IndexedMatchResult):
        return {}
    return {
        "name_idf": result.statistics.to_frame(),
        "name_vectors": spill.write("name_vectors", vectors_to_frame(result.name_vectors)),
        "semantic_neighbours": result.neighbours,
    }


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


def utc_now() -> datetime:
    """The wall clock, UTC; used only for run bookkeeping, never for values."""
    return datetime.now(UTC)
