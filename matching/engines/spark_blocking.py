"""Candidate generation on Spark: the blocking rules' self-joins run on the executors.

The pairs of an exact-key rule grow with the square of its block sizes; its
keys grow with the records. So each exact-key rule is run once on the driver
with ``BlockingContext.key_probe`` set (the hook ``matching.incremental``
uses), which hands over the rule's key, refinement and size cap instead of
its pairs; the driver computes each record's keys (one row per record and
key) and Spark does the rest of ``pairs_sharing_key``: block sizes, the
refinement of oversized blocks, the cap and the self-join. The rules that
are not exact keys (sorted neighbourhood, semantic neighbours) give at most
a window's or a neighbour list's pairs per record and still run on the
driver; their pairs are shipped. The union, the per-rule counts and the
``blocking_rules`` label are a group-by on Spark, as ``generate_candidates``
does them with integers.

The pairs stay on Spark: the driver receives the per-rule report only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from connectors.errors import ConfigError
from matching.aliases import NameAliases
from matching.blocking import (
    BLOCKING_RULES,
    BlockingContext,
    RuleOutcome,
    blocking_report,
    record_keys,
    rules_label,
)
from matching.engines.spark_frames import to_spark
from matching.settings import BlockingSettings

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class KeyRule:
    """What an exact-key rule asked ``pairs_sharing_key`` for."""

    key: pl.Expr
    refine: pl.Expr | None
    cap: int


@dataclass(frozen=True)
class SparkCandidates:
    """Candidate pairs on Spark (``left, right, mask``) and the per-rule report.

    ``mask`` has bit k set when rule k (in ``labels``' rule order) found the
    pair; ``labels`` maps each mask present to its ``blocking_rules`` text.
    """

    pairs: DataFrame
    report: pl.DataFrame
    labels: dict[int, str]


def probe_rule(rule: str, context: BlockingContext) -> KeyRule | RuleOutcome:
    """The rule's key when it is an exact-key rule, else the pairs it found on the driver."""
    asked: list[KeyRule] = []

    def probe(key: pl.Expr, refine: pl.Expr | None, cap: int) -> RuleOutcome:
        asked.append(KeyRule(key, refine, cap))
        return RuleOutcome(pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32}))

    probed = BlockingContext(
        std=context.std,
        name_vectors=context.name_vectors,
        settings=context.settings,
        key_probe=probe,
        name_aliases=context.name_aliases,
        semantic_neighbours=context.semantic_neighbours,
    )
    outcome = BLOCKING_RULES[rule](probed)
    return asked[0] if asked else outcome


def keyed_records(std: pl.DataFrame, rule: KeyRule) -> pl.DataFrame:
    """``record_index, key, refine`` (strings): one row per record and distinct key."""
    keyed = record_keys(std, rule.key)
    refine = (
        std.select(rule.refine.cast(pl.String).alias("refine"))["refine"].gather(
            keyed["record_index"].cast(pl.Int64)
        )
        if rule.refine is not None
        else pl.repeat(None, keyed.height, dtype=pl.String, eager=True)
    )
    return keyed.select(
        pl.col("record_index").cast(pl.Int64),
        pl.col("key").cast(pl.String),
        refine.alias("refine"),
    )


def _with_size(keyed: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    sizes = keyed.groupBy("key").agg(F.count("*").alias("size"))
    return keyed.join(sizes, on="key")


def pairs_sharing_key_on_spark(
    keyed: DataFrame, *, cap: int, refined: bool
) -> tuple[DataFrame, int, int]:
    """``pairs_sharing_key`` on Spark: the pairs (``left < right``) and the skipped counts."""
    from pyspark.sql import functions as F

    sized = _with_size(keyed)
    if refined:
        # As in pairs_sharing_key: an oversized block's key gains the record's refinement
        # (null when the refinement is null: such records leave the rule).
        refined_key: Column = F.when(
            F.col("size") > cap, F.concat(F.col("key"), F.lit(KEY_SEPARATOR), F.col("refine"))
        ).otherwise(F.col("key"))
        sized = _with_size(
            sized.select("record_index", refined_key.alias("key")).where(F.col("key").isNotNull())
        )
    sized = sized.localCheckpoint(eager=True)
    too_big = sized.where(F.col("size") > cap)
    skipped = too_big.agg(
        F.countDistinct("key").alias("blocks"), F.count("*").alias("records")
    ).first()
    kept = sized.where(F.col("size") <= cap).select("record_index", "key")
    right = kept.select(F.col("record_index").alias("right"), "key")
    pairs = (
        kept.select(F.col("record_index").alias("left"), "key")
        .join(right, on="key")
        .where(F.col("left") < F.col("right"))
        .select("left", "right")
    )
    assert skipped is not None
    return pairs, int(skipped["blocks"] or 0), int(skipped["records"] or 0)


def candidates_on_spark(
    spark: SparkSession,
    std: pl.DataFrame,
    *,
    name_vectors: object,
    settings: BlockingSettings,
    name_aliases: NameAliases | None = None,
    semantic_neighbours: tuple[np.ndarray, np.ndarray] | None = None,
) -> SparkCandidates:
    """``generate_candidates`` with the pairs made and united on Spark (same pairs, same report).

    ``semantic_neighbours``: the name-space neighbour lists when the caller has
    them already, as ``generate_candidates`` takes them.
    """
    from pyspark.sql import functions as F

    unknown = [r for r in settings.rules if r not in BLOCKING_RULES]
    if unknown:
        msg = f"matching.blocking.rules: unknown rule(s) {unknown}; known: {sorted(BLOCKING_RULES)}"
        raise ConfigError(msg)
    context = BlockingContext(
        std=std,
        name_vectors=name_vectors,
        settings=settings,
        name_aliases=name_aliases,
        semantic_neighbours=semantic_neighbours,
    )
    found: list[DataFrame] = []
    skipped: list[tuple[int, int]] = []
    for order, rule in enumerate(settings.rules):
        probed = probe_rule(rule, context)
        if isinstance(probed, KeyRule):
            keyed = to_spark(spark, keyed_records(std, probed))
            pairs, blocks, records = pairs_sharing_key_on_spark(
                keyed, cap=probed.cap, refined=probed.refine is not None
            )
        else:
            pairs = to_spark(spark, probed.pairs.select(pl.col("left", "right").cast(pl.Int64)))
            blocks, records = probed.skipped_blocks, probed.skipped_records
        skipped.append((blocks, records))
        found.append(
            pairs.distinct().withColumns({"order": F.lit(order), "bit": F.lit(1 << order)})
        )
    by_rule = found[0]
    for more in found[1:]:
        by_rule = by_rule.unionByName(more)
    by_rule = by_rule.localCheckpoint(eager=True)
    union = (
        by_rule.groupBy("left", "right")
        .agg(F.min("order").alias("first"), F.sum("bit").alias("mask"))
        .localCheckpoint(eager=True)
    )
    rule_pairs = {
        int(r["order"]): int(r["count"]) for r in by_rule.groupBy("order").count().collect()
    }
    new_pairs = {int(r["first"]): int(r["count"]) for r in union.groupBy("first").count().collect()}
    masks = [int(row["mask"]) for row in union.select("mask").distinct().collect()]
    report = blocking_report(settings.rules, pairs=rule_pairs, new_pairs=new_pairs, skipped=skipped)
    labels = {mask: rules_label(mask, settings.rules) for mask in masks}
    return SparkCandidates(
        pairs=union.select("left", "right", F.col("mask").cast("long")),
        report=report,
        labels=labels,
    )
