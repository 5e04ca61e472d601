"""The identity stage: unified IDs against the previous release, steward decisions applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from matching import IdAssignment, MatchResult, assign_unified_ids
from matching.identity import PreviousIdentity
from matching.spark_indexed import PairsOnSparkResult
from pipelines.stages.run_tables import utc_now
from pipelines.stewardship.labelling import LabelStore
from pipelines.stewardship.store import StewardshipStore
from pipelines.warehouse import (
    Warehouse,
)
from pipelines.warehouse.retirement import (
    RetirementGuard,
    check_retirement,
    retirement_counts,
)

XREF_COLUMNS = ("source_system", "source_record_id", "unified_id", "match_probability", "run_id")


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
    if isinstance(result, PairsOnSparkResult):  # the pairs stayed on Spark, which computed it
        return result.record_match_probability
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

    ``labels``: the answers of ``fusion label`` (``pipelines.stewardship.labelling``); a run
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
            (``pipelines.warehouse.retirement``); nothing is published.
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
