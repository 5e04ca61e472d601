"""Retirement only on evidence: quarantined rows keep their customers, mass retirement stops.

A record leaves the golden record (``retired_records``) only when its source
was read and the record is absent from it. Two things stand between a bad
export and the published customers:

- **carrying**: a row quarantined this run whose key was an active record of
  the release keeps that record, with the release's (last good) values: its
  canonical columns are taken from the release's ``standardised_records`` and
  go through the run like any record, so it keeps its unified ID, its golden
  values and their lineage. Each carried record is listed in the release's
  ``carried_records`` (and counted in ``pipeline_runs.records_carried``);
- **the guard**: a run that would retire more than ``run.max_retire_share``
  of a source's published records, or more than
  ``run.max_customer_retire_share`` of the published customers, fails before
  publishing (``RetirementGuardError``), unless retiring was asked for
  (``fusion run --allow-retire``). This covers what carrying cannot: a row
  whose record ID cannot be read, a source dropped from the config, a
  truncated export. MDM hubs call it a mass-delete threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from connectors import SourceBatch
from connectors.canonical import CANONICAL_SCHEMA
from connectors.errors import FusionError
from pipelines.warehouse import Warehouse, staged_lazy
from pipelines.warehouse.spill import StagedBatch

KEYS = ["source_system", "source_record_id"]
CARRIED_SCHEMA: dict[str, pl.DataType] = {
    "source_system": pl.String(),
    "source_record_id": pl.String(),
    "unified_id": pl.String(),
    "source_file": pl.String(),
    "row_number": pl.Int64(),
    "reason": pl.String(),
    "run_id": pl.String(),
}


class RetirementGuardError(FusionError):
    """A run would retire more published records or customers than the config allows."""


def quarantined_keys(batches: Mapping[str, StagedBatch]) -> pl.DataFrame:
    """Keys of the rows quarantined this run whose record is not in the run otherwise.

    A row quarantined as a duplicate of a kept row is left out (its record is
    there), and so is a row whose record ID could not be read.
    """
    rejected = pl.concat(
        [
            b.quarantine.select(*KEYS, "source_file", "row_number", "reason")
            for b in batches.values()
        ]
    ).drop_nulls(KEYS)
    present = pl.concat([staged_lazy(b.records).select(KEYS).collect() for b in batches.values()])
    return (
        rejected.join(present, on=KEYS, how="anti")
        .sort([*KEYS, "source_file", "row_number"])
        .unique(KEYS, keep="first", maintain_order=True)
    )


def carried_canonical_records(
    batches: Mapping[str, SourceBatch], *, warehouse: Warehouse
) -> pl.DataFrame:
    """The release's canonical values of the active records quarantined this run.

    What the run reads in place of each such row (``CANONICAL_SCHEMA``): the
    record as the current release had it. Empty before the first release, and
    when the release keeps no ``standardised_records`` (the guard then
    protects the customers).

    Example:
        An export whose row for ``CRM-000030`` has a stray quote: that row is
        quarantined and ``CRM-000030`` comes back with the values it was
        published with, under the unified ID it had.
    """
    empty = pl.DataFrame(schema=CANONICAL_SCHEMA)
    release = warehouse.current_release()
    if release is None:
        return empty
    wanted = quarantined_keys(batches).select(KEYS)
    tables = warehouse.table_columns(release=release) if wanted.height else {}
    if not {"customer_xref", "standardised_records"} <= set(tables):
        return empty
    active = warehouse.read_rows("customer_xref", release=release, keys=wanted).select(KEYS)
    if not active.height:
        return empty
    values = warehouse.read_rows("standardised_records", release=release, keys=active)
    return values.select(pl.col(n).cast(t) for n, t in CANONICAL_SCHEMA.items()).sort(KEYS)


def carried_records_table(
    batches: Mapping[str, StagedBatch], xref: pl.DataFrame, *, run_id: str
) -> pl.DataFrame:
    """The ``carried_records`` table: each quarantined row whose record kept its customer.

    Those are the quarantined keys (``quarantined_keys``) still in this run's
    xref: only carrying puts them there.
    """
    return (
        quarantined_keys(batches)
        .join(xref.select(*KEYS, "unified_id"), on=KEYS)
        .with_columns(pl.lit(run_id).alias("run_id"))
        .select(pl.col(n).cast(t) for n, t in CARRIED_SCHEMA.items())
        .sort(KEYS)
    )


@dataclass(frozen=True)
class RetirementGuard:
    """How much one run may retire: shares in 0..1, and whether it may exceed them."""

    max_source_share: float
    max_customer_share: float
    allow: bool = False


@dataclass(frozen=True)
class RetirementCounts:
    """What a run would retire, against what the release published."""

    # source -> (published records, records this run retires)
    records: dict[str, tuple[int, int]]
    published_customers: int
    retired_customers: int


def retirement_counts(
    previous_xref: pl.DataFrame | None, *, newly_retired: pl.DataFrame, events: pl.DataFrame
) -> RetirementCounts:
    """Count the records and customers this run retires.

    Args:
        previous_xref: The release's ``customer_xref`` (None before the first release).
        newly_retired: Records this run retires (``source_system, source_record_id, ...``).
        events: This run's ID events; a ``retired`` event is a customer left without records
            (a customer merged into another is not lost: its ID resolves to the survivor).
    """
    if previous_xref is None or not previous_xref.height:
        return RetirementCounts(records={}, published_customers=0, retired_customers=0)
    published = dict(previous_xref.group_by("source_system").len().iter_rows())
    retired = dict(newly_retired.group_by("source_system").len().iter_rows())
    return RetirementCounts(
        records={s: (n, retired.get(s, 0)) for s, n in sorted(published.items())},
        published_customers=previous_xref["unified_id"].n_unique(),
        retired_customers=events.filter(pl.col("event") == "retired").height,
    )


def check_retirement(counts: RetirementCounts, *, guard: RetirementGuard) -> None:
    """Fail when a source's or the customers' retired share passes the guard's limit.

    Raises:
        RetirementGuardError: one line naming the source (or the customers), the
            counts and the limit, e.g. ``source 'crm': this run would retire 180 of
            1778 published records (10.1%, limit 5.0%); nothing was published;
            rerun with --allow-retire to retire them on purpose``.

    Example:
        >>> counts = RetirementCounts(records={"crm": (100, 2)}, published_customers=80,
        ...                           retired_customers=2)
        >>> check_retirement(counts, guard=RetirementGuard(0.05, 0.05))  # 2% each: passes
    """
    if guard.allow:
        return
    what = None
    for source, (published, retired) in counts.records.items():
        if retired > guard.max_source_share * published:
            what = _share(
                f"source {source!r}: ",
                retired,
                published,
                "published records",
                guard.max_source_share,
            )
            break
    customers = counts.published_customers
    if what is None and counts.retired_customers > guard.max_customer_share * customers:
        what = _share(
            "", counts.retired_customers, customers, "published customers", guard.max_customer_share
        )
    if what is not None:
        msg = (
            f"{what}; nothing was published; rerun with --allow-retire (Dagster: config "
            "allow_retire of unified_ids) to retire them on purpose"
        )
        raise RetirementGuardError(msg)


def _share(prefix: str, part: int, whole: int, noun: str, limit: float) -> str:
    return (
        f"{prefix}this run would retire {part} of {whole} {noun} "
        f"({part / whole:.1%}, limit {limit:.1%})"
    )
