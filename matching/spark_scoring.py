"""Comparison levels, EM pattern counts and scores of candidate pairs that stay on Spark.

The one-machine path holds a level matrix of every candidate pair on one
machine; here it stays a Spark frame:

* levels: each Arrow batch of pairs (joined with both records' columns) goes
  through the shared ``comparison_levels`` and ``without_implied_evidence``;
* EM: the driver receives the distinct level patterns and their counts (a
  group-by on the executors: a few thousand rows whatever the pair count),
  which is all ``fit_model`` uses of the candidates;
* scores: each batch of levels goes through the shared ``score_pairs`` with
  the learnt model, the term-frequency shares of the left records joined in,
  and ``weak_links`` for clustering.

Every formula is the shared one, so the scores equal the one-machine scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from matching.blocked_evidence import without_implied_evidence
from matching.comparisons import Comparison, PairFrame
from matching.engines.spark_compare import (
    RecordSide,
    joined_pairs,
    level_columns,
    levels_of_batch,
)
from matching.engines.spark_frames import batches_as, classic_schema, frames_of, spark_schema
from matching.linkage import score_pairs, weak_links
from matching.model import FellegiSunterModel
from matching.settings import MatchSettings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

TF_PREFIX = "__tf_"


def _rules_of(masks: np.ndarray, labels: Mapping[int, str]) -> pl.Series:
    """The ``blocking_rules`` text of each pair's rule mask."""
    return pl.Series("blocking_rules", [labels[int(m)] for m in masks], dtype=pl.String)


def candidate_levels(
    candidates: DataFrame,
    records: RecordSide,
    *,
    comparisons: tuple[Comparison, ...],
    labels: Mapping[int, str],
    std_schema: pl.Schema,
) -> DataFrame:
    """``left, right, mask`` and one ``__level_k`` (int8) per comparison, on Spark.

    The levels are those ``match_records`` gives its model: ``comparison_levels``
    with the evidence a pair's blocking rules imply set to ``IMPLIED``.
    """
    from pyspark.sql.types import ByteType, LongType, StructField, StructType

    names = level_columns(comparisons)
    schema = StructType(
        [
            StructField("left", LongType(), nullable=False),
            StructField("right", LongType(), nullable=False),
            StructField("mask", LongType(), nullable=False),
            *(StructField(c, ByteType(), nullable=False) for c in names),
        ]
    )
    compared, sparse_width, rule_text = records.columns, records.sparse_width, dict(labels)

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            levels = levels_of_batch(
                table,
                columns=compared,
                sparse_width=sparse_width,
                comparisons=comparisons,
                std_schema=std_schema,
            )
            masks = table.column("mask").to_numpy()
            levels = without_implied_evidence(levels, _rules_of(masks, rule_text), comparisons)
            columns = [table.column("left"), table.column("right"), table.column("mask")]
            columns += [pa.array(levels[:, k], type=pa.int8()) for k in range(levels.shape[1])]
            yield from pa.Table.from_arrays(columns, names=["left", "right", "mask", *names])\
                .to_batches()  # fmt: skip

    return joined_pairs(candidates, records).mapInArrow(compute, schema)


def pattern_key(patterns: np.ndarray, n_levels: list[int]) -> np.ndarray:
    """The mixed-radix key ``matching.model.level_patterns`` sorts level rows by."""
    radix = np.asarray(n_levels, dtype=np.int64) + 2
    key = np.zeros(patterns.shape[0], dtype=np.int64)
    for k in range(patterns.shape[1]):
        key = key * radix[k] + (patterns[:, k].astype(np.int64) + 2)
    return key


def pattern_counts(
    levels: DataFrame, comparisons: tuple[Comparison, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level rows and their counts, counted on Spark, in ``level_patterns`` order."""
    from pyspark.sql import functions as F

    names = level_columns(comparisons)
    counted = levels.groupBy(*names).agg(F.count("*").alias("n")).toArrow()
    patterns = np.column_stack(
        [counted.column(c).to_numpy().astype(np.int8) for c in names]
    ).reshape(counted.num_rows, len(names))
    counts = counted.column("n").to_numpy().astype(np.float64)
    order = np.argsort(pattern_key(patterns, [len(c.labels) for c in comparisons]))
    return patterns[order], counts[order]


def term_frequency_shares(
    std: pl.DataFrame, comparisons: tuple[Comparison, ...], *, population: int | None = None
) -> pl.DataFrame:
    """``record_index`` and, per TF-adjusted comparison k, ``__tf_k``: its value's share.

    The per-record shares ``matching.linkage.pair_term_frequencies`` gathers for
    each pair's left record, computed by the same expression.
    """
    total = pl.len() if population is None else pl.lit(max(population, 1))
    shares = [
        (pl.len().over(c.tf_column) / total).cast(pl.Float64).alias(f"{TF_PREFIX}{k}")
        for k, c in enumerate(comparisons)
        if c.tf_column is not None
    ]
    return std.select(pl.col("record_index").cast(pl.Int64), *shares)


def _score_batch(
    frame: pl.DataFrame,
    *,
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    settings: MatchSettings,
    labels: Mapping[int, str],
) -> pl.DataFrame:
    """One batch of levels scored by the shared ``score_pairs``, with rules and weak links."""
    names = level_columns(comparisons)
    left = frame["left"].to_numpy().astype(np.uint32)
    right = frame["right"].to_numpy().astype(np.uint32)
    levels = frame.select(names).to_numpy().astype(np.int8).reshape(frame.height, len(names))
    tf = {
        int(c[len(TF_PREFIX) :]): frame[c].to_numpy().astype(np.float64)
        for c in frame.columns
        if c.startswith(TF_PREFIX)
    }
    scored = score_pairs(
        PairFrame(pl.DataFrame(), left, right, None),
        levels,
        model=model,
        comparisons=comparisons,
        settings=settings,
        term_frequencies=tf,
    ).with_columns(_rules_of(frame["mask"].to_numpy(), labels))
    return scored.with_columns(
        weak_links(scored, corroborating_bits=settings.clustering.corroborating_bits)
    )


def scored_on_spark(
    levels: DataFrame,
    shares: DataFrame,
    *,
    model: FellegiSunterModel,
    comparisons: tuple[Comparison, ...],
    settings: MatchSettings,
    labels: Mapping[int, str],
) -> DataFrame:
    """The scored pairs (the columns of ``score_pairs``, ``blocking_rules`` and ``weak_link``)."""
    from pyspark.sql import functions as F

    names = level_columns(comparisons)
    empty = pl.DataFrame(
        {"left": [], "right": [], "mask": [], **{c: [] for c in names}},
        schema={"left": pl.Int64, "right": pl.Int64, "mask": pl.Int64}
        | dict.fromkeys(names, pl.Int8),
    )
    example = _score_batch(
        empty, model=model, comparisons=comparisons, settings=settings, labels=labels
    )
    out = classic_schema(example.to_arrow().schema)
    rule_text = dict(labels)

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from batches_as(
            (
                _score_batch(
                    frame, model=model, comparisons=comparisons, settings=settings,
                    labels=rule_text,
                )
                for frame in frames_of(batches)
            ),
            out,
        )  # fmt: skip

    with_shares = levels.join(
        shares.withColumnRenamed("record_index", "left"), on="left", how="left"
    ).select(
        "left", "right", "mask", *names, *(F.col(c) for c in shares.columns if c != "record_index")
    )
    return with_shares.mapInArrow(compute, spark_schema(out))
