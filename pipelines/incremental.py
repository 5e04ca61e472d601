"""Incremental runs: reuse what the last release already computed for unchanged records.

Three modes, one graph:

- ``incremental`` (the daily job): records whose content hash is unchanged
  are taken from the release's ``standardised_records``; only new and changed
  records are standardised;
- ``full`` (``fusion run --full``, the ``fusion_full_rebuild`` job): every
  record is standardised again;
- ``retrain`` (``fusion run --retrain``): a full rebuild that also learns a
  new match model.

In the first two the match model is the one stored with the current release:
like Splink's saved model, it is learnt once (on the first run, or when a data
engineer asks) and then reused, so a new batch cannot shift the scores of
unrelated customers, and a full rebuild gives exactly the clusters of the
incremental runs that led to the same data. The model travels with the global
statistics that would otherwise make a score depend on every record: the name
n-gram IDF and the term-frequency population (``matching.name_idf``).

An incremental run also matches incrementally (``matching.incremental``, whose
docstring states the rule): the release keeps its blocking index (the
standardised records with their content hashes, the scored pairs in
``match_evidence``, each record's name vector in ``name_vectors`` and its
semantic top-k in ``semantic_neighbours``), and a batch recomputes only the
blocks, neighbour lists and pairs it reaches; clustering then runs over all
pairs. A full rebuild computes everything from scratch with the same model and
statistics and gives the same pairs, scores and clusters (tested). Golden
records are recomputed for the customers whose records changed and carried
over for the others (``carried_unified_ids`` says when that is exact).

Steward decisions bind in every mode. Standardised records and the index are
reused only when the configuration, fusion's version and the hash function are
the ones that produced them (``reuse_key``); on a mismatch (a changed
threshold, say) the run matches in full with the stored model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version

import polars as pl

from connectors.canonical import CANONICAL_SCHEMA
from lineage import GoldenRecord, customer_contact_points
from lineage.contact_points import CANDIDATE_COLUMNS_READ
from lineage.golden import FIELD_ORDER, latest_update
from matching import standardise
from matching.identity import resolve_unified_ids
from matching.incremental import MatchIndex
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf, vectors_from_frame
from matching.standardise import standardise_parts
from pipelines.settings import FusionConfig
from pipelines.spill import SpilledGolden
from pipelines.warehouse import (
    KEPT,
    DerivedDelta,
    DerivedTable,
    ReleaseTable,
    StagedTable,
    TableDelta,
    Warehouse,
    staged_rows,
    table_rows,
)

Standardiser = Callable[..., pl.DataFrame]
KEYS = ["source_system", "source_record_id"]
HASHED_COLUMNS = [c for c in CANONICAL_SCHEMA if c not in ("source_file", "row_number")]
MODES = ("incremental", "full", "retrain")
GOLDEN_TABLES = ("golden_customer", "field_lineage", "field_candidates")


def reuse_key(config: FusionConfig) -> str:
    """What must be equal for a release's standardised records and model to be reused."""
    parts = [config.config_hash, version("fusion"), version("polars")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def with_content_hash(records: pl.DataFrame) -> pl.DataFrame:
    """Add ``content_hash``: a hash of the record's canonical values and timestamp."""
    text = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("\x00") for c in HASHED_COLUMNS], separator="\x1f"
    )
    return records.with_columns(text.hash(seed=0).alias("content_hash"))


@dataclass(frozen=True)
class PreviousGolden:
    """What an incremental run needs of the release's golden tables, without loading them.

    The customers' IDs, those a steward override touched, and the tables'
    columns; the rows of customers carried over are merged in by DuckDB from
    the release (immutable once published) when needed (``combine_golden``).
    """

    warehouse: Warehouse
    release: str
    unified_ids: pl.Series
    stewarded: pl.Series
    columns: dict[str, list[str]]

    @classmethod
    def read(cls, warehouse: Warehouse, *, release: str) -> PreviousGolden | None:
        """The release's golden IDs (None when it lacks a golden table)."""
        columns = warehouse.table_columns(release=release)
        if any(t not in columns for t in GOLDEN_TABLES):
            return None
        steward = pl.DataFrame({"rule": ["steward_override"]})
        stewarded = warehouse.read_rows("field_lineage", release=release, keys=steward)
        ids = warehouse.read_table("golden_customer", columns=["unified_id"])
        return cls(
            warehouse=warehouse,
            release=release,
            unified_ids=pl.Series("unified_id", [], pl.String)
            if ids is None
            else ids["unified_id"],
            stewarded=stewarded["unified_id"].unique(),
            columns=columns,
        )


@dataclass(frozen=True)
class IndexSource:
    """Where the release's blocking index is; the matching stage loads it.

    Loaded on demand rather than with the baseline, so the scored pairs, name
    vectors and neighbour lists of the whole population are in memory only
    while the batch is matched, not for the rest of the run.
    """

    warehouse: Warehouse
    statistics: NameIdf

    def load(self, standardised: pl.DataFrame) -> MatchIndex | None:
        """The index in ``standardised``'s record_index (None if the release lacks part of it)."""
        return _match_index(self.warehouse, standardised, self.statistics)


@dataclass(frozen=True)
class Baseline:
    """What an incremental run may reuse from the release it builds on."""

    standardised: pl.DataFrame | None = None
    model: FellegiSunterModel | None = None
    statistics: NameIdf | None = None
    index_source: IndexSource | None = None
    golden: PreviousGolden | None = None
    xref: pl.DataFrame | None = None
    release: str | None = None
    # The run clock the release's golden records were aged against (run_settings.as_of).
    as_of: datetime | None = None

    def load_index(self) -> MatchIndex | None:
        """The release's blocking index, read now (None: match in full)."""
        if self.index_source is None or self.standardised is None:
            return None
        return self.index_source.load(self.standardised)

    @classmethod
    def read(cls, warehouse: Warehouse, *, config: FusionConfig, mode: str) -> Baseline:
        """What ``mode`` may reuse from the current release (nothing before the first one)."""
        if mode not in MODES:
            msg = f"mode {mode!r}: expected one of {', '.join(MODES)}"
            raise ValueError(msg)
        release = warehouse.current_release()
        settings = warehouse.read_table("run_settings")
        if mode == "retrain" or settings is None:
            return cls()
        model = FellegiSunterModel.from_dict(json.loads(settings["match_model_json"][0]))
        statistics = _statistics(warehouse, settings)
        reusable = "reuse_key" in settings.columns and settings["reuse_key"][0] == reuse_key(config)
        if mode == "full" or not reusable:
            return cls(model=model, statistics=statistics)
        standardised = warehouse.read_table("standardised_records")
        index = None if statistics is None else IndexSource(warehouse, statistics)
        golden = None if release is None else PreviousGolden.read(warehouse, release=release)
        return cls(
            standardised=standardised,
            model=model,
            statistics=statistics,
            index_source=index,
            golden=golden,
            xref=warehouse.read_table("customer_xref"),
            release=release,
            as_of=settings["as_of"][0] if "as_of" in settings.columns else None,
        )


def _statistics(warehouse: Warehouse, settings: pl.DataFrame) -> NameIdf | None:
    """The name IDF and TF population stored with the model (None: a release without them)."""
    if "tf_population" not in settings.columns:
        return None
    frame = warehouse.read_table("name_idf")
    if frame is None:
        return None
    low, high = json.loads(settings["name_ngram_range"][0])
    return NameIdf.from_frame(
        frame, population=int(settings["tf_population"][0]), ngram_range=(low, high)
    )


def _match_index(
    warehouse: Warehouse, standardised: pl.DataFrame | None, statistics: NameIdf
) -> MatchIndex | None:
    """The blocking index of the current release, in its record_index (None if incomplete).

    DuckDB maps the evidence's record keys to record indices, so the pairs'
    key strings never reach Python.
    """
    if standardised is None:
        return None
    keys = " AND ".join(f"e.{side}_{k} = {side[0]}.{k}" for side in ("left", "right") for k in KEYS)
    dropped = ", ".join(
        [*(f"{side}_{k}" for side in ("left", "right") for k in KEYS), "same_cluster",
         "steward_decision", "run_id"]
    )  # fmt: skip
    pairs = warehouse.query(
        f'SELECT e.* EXCLUDE ({dropped}), l.record_index AS "left", r.record_index AS "right" '
        f"FROM match_evidence e, record_keys l, record_keys r WHERE {keys}",
        frames={"record_keys": standardised.select("record_index", *KEYS)},
    )
    vectors = warehouse.read_table("name_vectors")
    neighbours = warehouse.read_table("semantic_neighbours")
    if pairs is None or vectors is None or neighbours is None:
        return None
    pairs = pairs.with_columns(pl.col("left", "right").cast(pl.UInt32))
    return MatchIndex(
        std=standardised,
        scored_pairs=pairs,
        name_vectors=vectors_from_frame(vectors, width=statistics.width),
        neighbours=neighbours.select(pl.col("left", "right").cast(pl.UInt32)),
    )


@dataclass(frozen=True)
class Standardised:
    """Standardised records and how many were reused from the baseline."""

    records: pl.DataFrame
    reused: int
    standardised: int


def standardise_incrementally(
    records: pl.DataFrame,
    *,
    baseline: Baseline,
    default_regions: dict[str, str],
    standardiser: Standardiser = standardise,
) -> Standardised:
    """Standardise new and changed records; take unchanged ones from the baseline.

    ``standardiser``: ``standardise`` itself, or the same function run by another
    engine (``matching.engines.spark_standardise``).
    """
    hashed = with_content_hash(records)
    if baseline.standardised is None or not baseline.standardised.height:
        fresh = standardiser(hashed.drop("content_hash"), default_regions=default_regions)
        out = fresh.with_columns(_content_hash_of(fresh, _hashes_in_key_order(hashed)))
        # Free when the standardiser already gave record_index order (its sorted flag says so).
        return Standardised(out.sort("record_index"), reused=0, standardised=out.height)
    previous = baseline.standardised.drop("record_index")
    unchanged = hashed.select(*KEYS, "content_hash", "source_file", "row_number").join(
        previous.drop("source_file", "row_number"), on=[*KEYS, "content_hash"]
    )
    todo = hashed.join(unchanged.select(KEYS), on=KEYS, how="anti")
    fresh = standardiser(todo.drop("content_hash"), default_regions=default_regions)
    fresh = fresh.drop("record_index").with_columns(
        _content_hash_of(fresh, _hashes_in_key_order(todo))
    )
    combined = pl.concat([fresh, unchanged.select(fresh.columns)], how="vertical_relaxed")
    out = combined.sort(KEYS).with_row_index("record_index")
    return Standardised(out, reused=unchanged.height, standardised=fresh.height)


def reuses_standardised(baseline: Baseline) -> bool:
    """Whether the baseline holds standardised records a run could take over unchanged."""
    return baseline.standardised is not None and baseline.standardised.height > 0


def standardise_in_parts(
    records: pl.DataFrame, *, default_regions: dict[str, str], chunk_rows: int = 250_000
) -> Iterator[pl.DataFrame]:
    """A run with nothing to reuse: ``standardise_incrementally``'s records, part by part.

    Each part comes with its content hashes as soon as it is standardised, so
    a caller writing the parts away (the standardise step) never holds the
    whole standardised frame: 0.4 GiB less at 1M records.

    Raises:
        ValueError: The parts are not one per record in key order (see _content_hash_of).
    """
    hashed = with_content_hash(records)
    in_order = _hashes_in_key_order(hashed)
    start = 0
    for part in standardise_parts(
        hashed.drop("content_hash"), default_regions=default_regions, chunk_rows=chunk_rows
    ):
        yield part.with_columns(_content_hash_of(part, in_order.slice(start, part.height)))
        start += part.height
    if start != in_order.height:
        msg = f"standardised {start} records of {in_order.height}"
        raise ValueError(msg)


def _hashes_in_key_order(hashed: pl.DataFrame) -> pl.DataFrame:
    """The keys and content hashes of ``hashed``, in (source_system, source_record_id) order."""
    return hashed.select(*KEYS, "content_hash").sort(KEYS, maintain_order=True)


def _content_hash_of(records: pl.DataFrame, in_order: pl.DataFrame) -> pl.Series:
    """The content hash of each of ``records``, from the hashes of the same keys in order.

    A standardiser gives its records in (source_system, source_record_id)
    order (their ``record_index``), so the input's hashes sorted the same way
    line up with them without a join: joining the keys held 0.3 GiB at 1M
    records. The keys are compared, so a standardiser that broke that order
    fails here.
    """
    if not in_order.select(KEYS).equals(records.select(KEYS)):
        msg = "standardised records are not one per input record in key order"
        raise ValueError(msg)
    return in_order.get_column("content_hash")


def carried_unified_ids(
    std: pl.DataFrame,
    xref: pl.DataFrame,
    *,
    baseline: Baseline,
    overrides: pl.DataFrame | None,
    history: pl.DataFrame | None,
    as_of: datetime | None = None,
) -> pl.Series | None:
    """Unified IDs whose golden record the previous release already holds, exactly.

    Survivorship is per customer except for one global input: trust ages
    values against the run clock ``as_of`` (``pipelines.clock``; None: the
    records' latest ``source_updated_at``). So a golden record is carried over
    when that instant did not move since the release, the customer has exactly
    the records it had, none of them changed, and no steward override names
    it (overrides are applied afresh); None: recompute every golden record.
    """
    previous, before = baseline.golden, baseline.standardised
    if previous is None or before is None or baseline.xref is None:
        return None
    aged_at = latest_update(before) if baseline.as_of is None else baseline.as_of
    if (latest_update(std) if as_of is None else as_of) != aged_at:
        return None
    now = xref.select(*KEYS, "unified_id").join(std.select(*KEYS, "content_hash"), on=KEYS)
    then = baseline.xref.select(*KEYS, "unified_id").join(
        before.select(*KEYS, "content_hash"), on=KEYS
    )
    both = now.join(then, on=KEYS, how="full", suffix="_then", coalesce=True)
    moved = both.filter(
        pl.col("unified_id").ne_missing(pl.col("unified_id_then"))
        | pl.col("content_hash").ne_missing(pl.col("content_hash_then"))
    )
    dirty = pl.concat([moved["unified_id"], moved["unified_id_then"]]).drop_nulls()
    if overrides is not None and overrides.height:
        dirty = pl.concat([dirty, resolve_unified_ids(overrides["unified_id"], history)])
    dirty = pl.concat([dirty, previous.stewarded]).unique()
    live = now["unified_id"].unique()
    return live.filter(~live.is_in(dirty.implode()) & live.is_in(previous.unified_ids.implode()))


@dataclass(frozen=True)
class IncrementalGolden(GoldenRecord):
    """A golden record whose ``carried`` customers are the ``previous`` release's rows, unchanged.

    Later stages use it to touch only the other customers (contact points,
    the tables published as changes).
    """

    carried: pl.Series = field(default_factory=lambda: pl.Series("unified_id", [], pl.String))
    previous: PreviousGolden | None = None

    def recomputed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``frame`` whose customer was not carried over."""
        return frame.filter(~pl.col("unified_id").is_in(self.carried.implode()))


def with_contact_points(
    golden: GoldenRecord | SpilledGolden, *, fields: Sequence[str]
) -> pl.DataFrame:
    """``customer_contact_points`` of every customer; carried customers' rows from their release.

    Contact points are per customer (``lineage.contact_points``), so those of
    a carried customer are its previous rows; the order is the function's own.
    Of spilled candidates, only the contact fields' are read back.
    """
    if isinstance(golden, SpilledGolden):
        wanted = pl.col("field").is_in(list(fields))
        read = [c for c in golden.field_candidates.columns if c in CANDIDATE_COLUMNS_READ]
        contact = golden.field_candidates.lazy().filter(wanted).select(read).collect()
        return customer_contact_points(contact, fields=fields)
    previous = golden.previous if isinstance(golden, IncrementalGolden) else None
    if previous is None or "customer_contact_points" not in previous.columns:
        return customer_contact_points(golden.field_candidates, fields=fields)
    assert isinstance(golden, IncrementalGolden)
    fresh = customer_contact_points(golden.recomputed(golden.field_candidates), fields=fields)
    kinds = ", ".join(f"'{kind}'" for kind in fields)
    return previous.warehouse.rows_plus(
        "customer_contact_points",
        release=previous.release,
        keep=golden.carried.to_frame("unified_id"),
        new=fresh,
        order_by=["unified_id", f"list_position([{kinds}], kind)", "is_primary DESC",
                  "trust_score DESC", "value"],
    )  # fmt: skip


def combine_golden(
    previous: PreviousGolden, carried: pl.Series, fresh: GoldenRecord
) -> IncrementalGolden:
    """The previous release's rows of ``carried`` customers plus the recomputed ones.

    In the order ``build_golden_record`` gives (customer, field, candidate
    rank), so the tables equal a full rebuild's row for row. DuckDB selects
    the carried rows and sorts (``Warehouse.rows_plus``): the release's tables
    are never loaded whole.
    """
    keep = carried.to_frame("unified_id")
    field_order = ", ".join(f"'{f}'" for f in FIELD_ORDER)
    by_field = ["unified_id", f"list_position([{field_order}], field)"]

    def merged(table: str, new: pl.DataFrame, order_by: list[str]) -> pl.DataFrame:
        return previous.warehouse.rows_plus(
            table, release=previous.release, keep=keep, new=new, order_by=order_by
        )

    return IncrementalGolden(
        golden_customer=merged("golden_customer", fresh.golden_customer, by_field[:1]),
        field_candidates=merged("field_candidates", fresh.field_candidates, [*by_field, "rank"]),
        carried=carried,
        previous=previous,
    )


# field_lineage is derived from field_candidates when the release is written
# (for the changed customers only: publish_plan).
GOLDEN_DELTA_TABLES = ("golden_customer", "field_candidates", "customer_contact_points")


def publish_plan(
    tables: Mapping[str, StagedTable],
    *,
    std: StagedTable,
    golden: GoldenRecord | SpilledGolden,
    history: pl.DataFrame,
    baseline: Baseline,
    statistics: NameIdf | None,
    run_id: str,
) -> dict[str, ReleaseTable]:
    """Which of an incremental run's tables can be published as changes to its base release.

    The release the baseline was read from is copied, and only these tables'
    changed rows are written (``Warehouse.publish``): golden records carried
    over unchanged (``IncrementalGolden``) stay, the others are replaced by
    their recomputed rows; reused standardised records stay and get their new
    ``record_index`` and file position; the ID history gets this run's events;
    the name statistics frozen with the model are kept; the lineage is
    derived again for the recomputed customers only. Tables not named here
    are written whole. Empty when there is nothing to build on (first run,
    full rebuild, another configuration).
    """
    before = baseline.standardised
    if baseline.release is None or before is None:
        return {}
    plan: dict[str, ReleaseTable] = {}
    previous = golden.previous if isinstance(golden, IncrementalGolden) else None
    if previous is not None and previous.release == baseline.release:
        assert isinstance(golden, IncrementalGolden)
        ids = previous.unified_ids
        removed = ids.filter(~ids.is_in(golden.carried.implode())).to_frame()
        for name in GOLDEN_DELTA_TABLES:
            frame = table_rows(tables, name)
            known = previous.columns.get(name)
            if known is None or set(known) != set(frame.columns):
                continue
            plan[name] = TableDelta(
                ("unified_id",), removed=removed, added=golden.recomputed(frame), mirror=frame.lazy
            )
        lineage = tables.get("field_lineage")
        known = previous.columns.get("field_lineage")
        if (
            "field_candidates" in plan
            and isinstance(lineage, DerivedTable)
            and known is not None
            and set(known) == set(lineage.columns)
        ):
            # Its rows are per customer: only those of the customers not carried move.
            recomputed = golden.recomputed(golden.golden_customer).select("unified_id")
            changed = pl.concat([removed, recomputed]).unique()
            plan["field_lineage"] = DerivedDelta(
                lineage.query, ("unified_id",), changed, mirror=lineage.lazy
            )
    if set(before.columns) == set(std.columns):
        plan["standardised_records"] = standardised_delta(staged_rows(std), before)
    if baseline.xref is not None:
        plan["unified_id_history"] = TableDelta(
            ("unified_id",),
            removed=history.clear().select("unified_id"),
            added=history.filter(pl.col("run_id") == run_id),
            mirror=history.lazy,
        )
    if (
        statistics is not None
        and baseline.statistics is not None
        and statistics.equals(baseline.statistics)
    ):
        plan["name_idf"] = KEPT
    return plan


def standardised_delta(std: pl.DataFrame, previous: pl.DataFrame) -> TableDelta:
    """``standardised_records`` as changes: new and changed rows, moved rows, gone keys.

    A reused record keeps its row; only its ``record_index`` (the sort order
    of all keys) and its place in the export can move.
    """
    moving = ["record_index", "source_file", "row_number"]
    same = std.select(*KEYS, "content_hash", *moving).join(
        previous.select(*KEYS, "content_hash", *moving), on=[*KEYS, "content_hash"], suffix="_then"
    )
    moved = same.filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_then")) for c in moving)
    ).select(*KEYS, *moving)
    return TableDelta(
        tuple(KEYS),
        removed=previous.select(KEYS).join(same.select(KEYS), on=KEYS, how="anti"),
        added=std.join(same.select(KEYS), on=KEYS, how="anti"),
        updated=moved,
        mirror=std.lazy,
    )
