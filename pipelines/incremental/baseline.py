"""What the previous release offers a run: its records, golden tables, match index and model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version

import polars as pl

from connectors.canonical import CANONICAL_SCHEMA
from matching.incremental import MatchIndex
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf, vectors_from_frame
from pipelines.settings import FusionConfig
from pipelines.warehouse import (
    Warehouse,
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
    pairs = warehouse.query_through_file(
        f'SELECT e.* EXCLUDE ({dropped}), l.record_index AS "left", r.record_index AS "right" '
        f"FROM match_evidence e, record_keys l, record_keys r WHERE {keys}",
        frames={"record_keys": standardised.select("record_index", *KEYS)},
        read=_coded,
    )
    vectors = warehouse.read_table("name_vectors")
    neighbours = warehouse.read_table("semantic_neighbours")
    if pairs is None or vectors is None or neighbours is None:
        return None
    return MatchIndex(
        std=standardised,
        scored_pairs=pairs,
        name_vectors=vectors_from_frame(vectors, width=statistics.width),
        neighbours=neighbours.select(pl.col("left", "right").cast(pl.UInt32)),
    )


def _coded(pairs: pl.LazyFrame) -> pl.DataFrame:
    """Stored pairs with their labels categorical and their record indices as matching's.

    The levels, decision and rule labels are a few distinct strings each:
    categorical, the 6.5M stored pairs at 1M records take 0.65 GiB, not the
    1.5 GiB of their text (matching casts them to its own enums when it
    publishes them again).
    """
    return pairs.with_columns(
        pl.col(pl.String).cast(pl.Categorical), pl.col("left", "right").cast(pl.UInt32)
    ).collect()
