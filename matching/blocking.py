"""Candidate generation: several blocking rules, each measured.

A pair is compared only if some rule puts both records in one block; every
rule's pair count is reported so a data engineer can see which rule costs what.
Exact-key rules skip oversized blocks (see BlockingSettings.max_block_size),
the sorted-neighbourhood rule (recordlinkage) catches typos that break exact
keys, and the semantic rule catches reordered, abbreviated and cross-script
names that share no key at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from connectors.errors import ConfigError
from matching.semantic import nearest_name_pairs
from matching.settings import BlockingSettings

PAIR_SCHEMA = {"left": pl.UInt32, "right": pl.UInt32}


@dataclass(frozen=True)
class BlockingContext:
    """What a blocking rule may use: the standardised records and name vectors."""

    std: pl.DataFrame
    name_vectors: object
    settings: BlockingSettings


@dataclass(frozen=True)
class RuleOutcome:
    """The pairs one rule produced and the blocks it skipped as too large."""

    pairs: pl.DataFrame
    skipped_blocks: int = 0
    skipped_records: int = 0


def pairs_sharing_key(key: pl.Expr, context: BlockingContext) -> RuleOutcome:
    """All pairs of records with the same non-null key, skipping oversized blocks."""
    keyed = context.std.select("record_index", key.alias("key")).drop_nulls("key")
    sizes = keyed.group_by("key").len()
    too_big = sizes.filter(pl.col("len") > context.settings.max_block_size)
    kept = keyed.join(too_big.select("key"), on="key", how="anti")
    pairs = (
        kept.join(kept, on="key", suffix="_r")
        .filter(pl.col("record_index") < pl.col("record_index_r"))
        .select(
            pl.col("record_index").cast(pl.UInt32).alias("left"),
            pl.col("record_index_r").cast(pl.UInt32).alias("right"),
        )
    )
    return RuleOutcome(pairs, too_big.height, int(too_big["len"].sum() or 0))


def block_on_email(context: BlockingContext) -> RuleOutcome:
    """Same valid e-mail address."""
    return pairs_sharing_key(pl.when(pl.col("email_valid")).then(pl.col("email")), context)


def block_on_phone(context: BlockingContext) -> RuleOutcome:
    """Same valid phone number (E.164)."""
    return pairs_sharing_key(pl.when(pl.col("phone_valid")).then(pl.col("phone")), context)


def block_on_tax_id(context: BlockingContext) -> RuleOutcome:
    """Same valid tax id."""
    return pairs_sharing_key(pl.when(pl.col("tax_id_valid")).then(pl.col("tax_id")), context)


def block_on_name_key(context: BlockingContext) -> RuleOutcome:
    """Same name once legal form, case and punctuation are removed."""
    return pairs_sharing_key(pl.col("name_key"), context)


def block_on_name_latin_sorted(context: BlockingContext) -> RuleOutcome:
    """Same romanised name tokens in any order: 王伟 / 'Wang Wei' / 'Wei Wang'."""
    return pairs_sharing_key(pl.col("name_latin_sorted"), context)


def block_on_contact_and_postcode(context: BlockingContext) -> RuleOutcome:
    """Same contact person (romanised, any order) at the same postcode."""
    key = pl.concat_str([pl.col("contact_latin_sorted"), pl.col("postcode")], separator="|")
    return pairs_sharing_key(key, context)


def block_on_sorted_name_neighbourhood(context: BlockingContext) -> RuleOutcome:
    """Records whose romanised names sort near each other (a sorted-neighbourhood index).

    The index of recordlinkage (Christen, *Data Matching*, 2012): the distinct
    names are sorted, and records whose names are at most ``(window - 1) / 2``
    places apart in that order are paired, records with the same name
    included. Done here with polars joins on the name's rank rather than
    recordlinkage's pandas merges, which at a million records cost minutes and
    gigabytes. A name held by more than ``max_block_size`` records ('wangwei')
    takes no part: pairing it with itself and its neighbours would be
    quadratic and says little.
    """
    settings = context.settings
    keyed = (
        context.std.select(
            pl.col("record_index").cast(pl.UInt32),
            pl.col("name_latin").str.replace_all(" ", "").alias("name"),
        )
        .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
        .with_columns(pl.len().over("name").alias("size"))
    )
    too_big = keyed.filter(pl.col("size") > settings.max_block_size)
    kept = keyed.filter(pl.col("size") <= settings.max_block_size).with_columns(
        pl.col("name").rank("dense").cast(pl.Int64).alias("rank")
    )
    half = (settings.neighbourhood_window - 1) // 2
    found = []
    for offset in range(half + 1):
        shifted = kept.select(
            pl.col("record_index").alias("other"), (pl.col("rank") - offset).alias("rank")
        )
        pairs = kept.select("record_index", "rank").join(shifted, on="rank")
        if offset == 0:
            pairs = pairs.filter(pl.col("record_index") < pl.col("other"))
        found.append(
            pairs.select(
                pl.min_horizontal("record_index", "other").alias("left"),
                pl.max_horizontal("record_index", "other").alias("right"),
            )
        )
    pairs = pl.concat(found) if found else pl.DataFrame(schema=PAIR_SCHEMA)
    skipped = too_big.select(pl.col("name").n_unique()).item() if too_big.height else 0
    return RuleOutcome(pairs, int(skipped), too_big.height)


def block_on_semantic_name_neighbours(context: BlockingContext) -> RuleOutcome:
    """Nearest neighbours in name-embedding space (see matching.semantic)."""
    settings = context.settings
    return RuleOutcome(
        nearest_name_pairs(
            context.name_vectors,
            neighbours=settings.semantic_neighbours,
            min_cosine=settings.semantic_min_cosine,
            max_df=settings.semantic_max_df,
        )
    )


BLOCKING_RULES: dict[str, Callable[[BlockingContext], RuleOutcome]] = {
    "email": block_on_email,
    "phone": block_on_phone,
    "tax_id": block_on_tax_id,
    "name_key": block_on_name_key,
    "name_latin_sorted": block_on_name_latin_sorted,
    "contact_and_postcode": block_on_contact_and_postcode,
    "sorted_name_neighbourhood": block_on_sorted_name_neighbourhood,
    "semantic_name_neighbours": block_on_semantic_name_neighbours,
}


@dataclass(frozen=True)
class CandidatePairs:
    """Deduplicated candidate pairs and a per-rule report.

    ``pairs`` has ``left``, ``right`` (record_index, left < right) and
    ``blocking_rules`` (the rules that found the pair, in rule order, joined by
    ',') so match evidence can say how a pair was found.
    """

    pairs: pl.DataFrame
    report: pl.DataFrame


def generate_candidates(
    std: pl.DataFrame, *, name_vectors: object, settings: BlockingSettings
) -> CandidatePairs:
    """Run every configured blocking rule and union their pairs."""
    unknown = [r for r in settings.rules if r not in BLOCKING_RULES]
    if unknown:
        msg = f"matching.blocking.rules: unknown rule(s) {unknown}; known: {sorted(BLOCKING_RULES)}"
        raise ConfigError(msg)
    context = BlockingContext(std=std, name_vectors=name_vectors, settings=settings)
    found: list[pl.DataFrame] = []
    report_rows = []
    seen = pl.DataFrame(schema=PAIR_SCHEMA)
    for order, rule in enumerate(settings.rules):
        outcome = BLOCKING_RULES[rule](context)
        pairs = outcome.pairs.unique()
        new = pairs.join(seen, on=["left", "right"], how="anti")
        seen = pl.concat([seen, new])
        found.append(pairs.with_columns(pl.lit(order).alias("order"), pl.lit(rule).alias("rule")))
        report_rows.append(
            {
                "rule": rule,
                "pairs": pairs.height,
                "new_pairs": new.height,
                "skipped_blocks": outcome.skipped_blocks,
                "skipped_records": outcome.skipped_records,
            }
        )
    if found:
        union = (
            pl.concat(found)
            .sort("left", "right", "order")
            .group_by("left", "right", maintain_order=True)
            .agg(pl.col("rule").str.join(",").alias("blocking_rules"))
        )
    else:
        union = pl.DataFrame(schema={**PAIR_SCHEMA, "blocking_rules": pl.String})
    return CandidatePairs(pairs=union.sort("left", "right"), report=pl.DataFrame(report_rows))
