"""The match tables of a release: ``match_evidence`` in parts, the match index, spilled."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import polars as pl

from matching import MatchResult
from matching.incremental import (
    IndexedMatchResult,
)
from matching.name_idf import NameIdf, vectors_to_frame
from matching.spark_indexed import PairsOnSparkResult
from pipelines.warehouse import (
    StagedTable,
    staged_lazy,
)
from pipelines.warehouse.spill import (
    SpillFolder,
)

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
# The clusters above matching.max_cluster_size and what became of them (one row per part).
OVERSIZED_TABLE = "oversized_clusters"


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
    rank, cluster = records.get_column("rank"), clusters.get_column("cluster")
    text = records.select(KEY_TEXT)
    comparisons = [
        c
        for c in result.scored_pairs.columns
        if c.endswith(("_level", "_weight")) and c != "match_weight"
    ]
    for part in _pairs_in_key_order(result, rank, part_pairs=part_pairs):
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


def _pairs_in_key_order(
    result: MatchResult, rank: pl.Series, *, part_pairs: int
) -> Iterator[pl.DataFrame]:
    """The scored pairs ordered by their records' key ``rank``, ``part_pairs`` at a time.

    Pairs kept on Spark were written in this order there and are read back a
    part at a time; otherwise only the order is computed over all pairs.
    """
    if isinstance(result, PairsOnSparkResult):
        yield from result.scored_pair_parts(part_pairs)
        return
    pairs = result.scored_pairs
    order = (
        pl.DataFrame({"left": rank.gather(pairs["left"]), "right": rank.gather(pairs["right"])})
        .select(pl.arg_sort_by("left", "right"))
        .to_series()
    )
    for start in range(0, max(order.len(), 1), part_pairs):
        yield pairs[order.slice(start, part_pairs)]


def oversized_parts(std: StagedTable, result: MatchResult) -> pl.DataFrame:
    """The oversized clusters' parts (``matching.cluster_limits``) keyed by source records.

    A part is named by its smallest record, and the cluster it came from by that
    cluster's smallest record; ``warehouse_tables`` turns both into unified IDs.
    """
    report = result.oversized_clusters
    keys = (
        staged_lazy(std)
        .select("record_index", *KEY_TEXT)
        .join(
            pl.concat([report["record_index"], report["original_record_index"]])
            .unique()
            .to_frame("record_index")
            .lazy(),
            on="record_index",
            how="semi",
        )
        .collect()
    )
    original = keys.rename({k: f"original_{k}" for k in keys.columns})
    return (
        report.join(keys, on="record_index", how="left", maintain_order="left")
        .join(original, on="original_record_index", how="left", maintain_order="left")
        .select(
            *KEY_TEXT,
            *(f"original_{k}" for k in KEY_TEXT),
            "record_count",
            "original_record_count",
            "original_parts",
            "outcome",
        )
    )


def _check_row_numbers(label: str, record_index: pl.Series) -> None:
    """Fail unless ``record_index``, sorted, is 0..n-1: the evidence looks rows up by it."""
    expected = pl.Series(range(record_index.len()), dtype=record_index.dtype)
    if not record_index.equals(expected, check_names=False):
        msg = f"{label}: record_index is not the row numbers 0..{record_index.len() - 1}"
        raise ValueError(msg)


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
        OVERSIZED_TABLE: oversized_parts(std, result),
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


def spill_frames(
    tables: Mapping[str, StagedTable], *, spill: SpillFolder
) -> dict[str, StagedTable]:
    """The tables held in memory written to ``spill``; the spilled and derived ones as they are."""
    return {
        name: spill.write(name, table) if isinstance(table, pl.DataFrame) else table
        for name, table in tables.items()
    }


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
