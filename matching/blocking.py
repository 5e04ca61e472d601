"""Candidate generation: several blocking rules, each measured.

A pair is compared only if some rule puts both records in one block; every
rule's pair count is reported so a data engineer can see which rule costs what.
Exact-key rules skip oversized blocks (see BlockingSettings.max_block_size),
the sorted-neighbourhood rule (recordlinkage) catches typos that break exact
keys, the semantic rule catches reordered, abbreviated and cross-script
names that share no key at all, and the alias rule pairs names that a
user-supplied alias table says are one ('IBM' / 'International Business
Machines', matching.aliases).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from connectors.errors import ConfigError
from matching.aliases import NameAliases, alias_key_expr
from matching.comparisons import phone_digits
from matching.semantic import nearest_name_pairs
from matching.settings import BlockingSettings
from matching.unique import sorted_unique

PAIR_SCHEMA = {"left": pl.UInt32, "right": pl.UInt32}
LOGGER = logging.getLogger(__name__)
# Name-part keys: the first letters of each of the first few romanised name tokens.
NAME_PART_PREFIX = 3
NAME_PARTS = 4


@dataclass(frozen=True)
class BlockingContext:
    """What a blocking rule may use: the standardised records, name vectors and alias table."""

    std: pl.DataFrame
    name_vectors: object
    settings: BlockingSettings
    # Set by matching.incremental to learn an exact-key rule's key and refinement
    # without running the rule (a new record only touches the blocks of its keys).
    key_probe: Callable[[pl.Expr, pl.Expr | None, int], RuleOutcome] | None = None
    name_aliases: NameAliases | None = None
    # The semantic neighbour lists (row -> neighbour), when already computed.
    semantic_neighbours: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """The pairs one rule produced and the blocks it skipped as too large."""

    pairs: pl.DataFrame
    skipped_blocks: int = 0
    skipped_records: int = 0


def record_keys(std: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    """(record_index, key): one row per record and distinct non-null key.

    A key that is a list (the parts of a name) gives a record one row per part:
    such a rule pairs records sharing any part.
    """
    keyed = std.select("record_index", key.alias("key"))
    if isinstance(keyed.schema["key"], pl.List):
        keyed = keyed.explode("key").unique(maintain_order=True)
    return keyed.drop_nulls("key")


def pairs_sharing_key(
    key: pl.Expr, context: BlockingContext, *, refine: pl.Expr | None = None, cap: int | None = None
) -> RuleOutcome:
    """All pairs of records with the same non-null key; oversized blocks refined or skipped.

    A block larger than ``cap`` (default ``max_block_size``) is split by ``refine`` when given
    (a common name within one city): the pairs of a 'John Smith' block grow with
    the square of its size and are nearly all different people, while the
    namesakes in one city are still compared. What is still too large is skipped
    and counted in the report.
    """
    cap = context.settings.max_block_size if cap is None else cap
    if context.key_probe is not None:
        return context.key_probe(key, refine, cap)
    keyed = record_keys(context.std, key).with_columns(pl.len().over("key").alias("size"))
    if refine is not None:
        refined = context.std.select(refine.alias("refine"))["refine"].gather(
            keyed["record_index"].cast(pl.Int64)
        )
        keyed = (
            keyed.with_columns(
                pl.when(pl.col("size") > cap)
                .then(pl.concat_str([pl.col("key"), pl.lit(refined)], separator="\x1f"))
                .otherwise(pl.col("key"))
                .alias("key")
            )
            .drop_nulls("key")
            .with_columns(pl.len().over("key").alias("size"))
        )
    too_big = keyed.filter(pl.col("size") > cap)
    kept = keyed.filter(pl.col("size") <= cap).select("record_index", "key")
    pairs = (
        kept.join(kept, on="key", suffix="_r")
        .filter(pl.col("record_index") < pl.col("record_index_r"))
        .select(
            pl.col("record_index").cast(pl.UInt32).alias("left"),
            pl.col("record_index_r").cast(pl.UInt32).alias("right"),
        )
    )
    if keyed["record_index"].is_duplicated().any():
        pairs = _distinct_pairs(pairs)
    skipped = too_big.select(pl.col("key").n_unique()).item() if too_big.height else 0
    return RuleOutcome(pairs, int(skipped), too_big.height)


def distinct_pair_keys(pairs: pl.DataFrame) -> np.ndarray:
    """Each (left, right) of ``pairs`` once, packed into one sorted 64-bit key (left << 32 | right).

    Sorting packed keys dedupes twice as fast as a hash ``unique`` of the two
    columns on 7M pairs, and leaves less memory with the allocator.

    Example:
        >>> pairs = pl.DataFrame({"left": [1, 0, 1], "right": [2, 5, 2]}).cast(pl.UInt32)
        >>> [int(k) >> 32 for k in distinct_pair_keys(pairs)]
        [0, 1]
    """
    return sorted_unique(
        pairs["left"].to_numpy().astype(np.uint64) << np.uint64(32)
        | pairs["right"].to_numpy().astype(np.uint64)
    )


def _distinct_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    """Each (left, right) once, sorted (see ``distinct_pair_keys``)."""
    keys = distinct_pair_keys(pairs)
    return pl.DataFrame(
        {"left": keys >> np.uint64(32), "right": keys & np.uint64(0xFFFFFFFF)}
    ).cast(pl.UInt32)


def block_on_email(context: BlockingContext) -> RuleOutcome:
    """Same valid e-mail address."""
    return pairs_sharing_key(pl.when(pl.col("email_valid")).then(pl.col("email")), context)


def block_on_company_domain(context: BlockingContext) -> RuleOutcome:
    """Same company e-mail domain (free-mail providers excluded), capped like a name.

    A company's contacts write from its domain; a domain held by more than
    ``max_name_block_size`` records (a large group's) is skipped, as its pairs
    would be nearly all different customers.
    """
    return pairs_sharing_key(
        pl.col("company_domain"), context, cap=context.settings.max_name_block_size
    )


def block_on_phone(context: BlockingContext) -> RuleOutcome:
    """Same phone digits: of a valid number (E.164), or of one with 10 digits or more.

    libphonenumber rejects a number whose area code is not assigned. Such a
    number is still an identifier within one data set (a mistyped or made-up
    one is written the same way again by the same customer): 55% of people_1m's
    phones are of this kind, and left out of blocking their records' shared
    phones found no pair. The key is the digits the phone comparison's "exact"
    level compares; a long number keeps shorter local numbers out, whose area
    is unknown. A number shared by more than ``max_block_size`` records (a
    placeholder) is skipped like any other key.
    """
    digits = phone_digits()
    return pairs_sharing_key(
        pl.when(pl.col("phone_valid") | (digits.str.len_chars() >= 10)).then(digits), context
    )


def block_on_tax_id(context: BlockingContext) -> RuleOutcome:
    """Same tax id, valid in form or not.

    An identifier that fails the format check (a 7-digit social security
    number, a mistyped credit code) still rarely belongs to two customers; the
    comparison, not the blocking rule, decides how much the agreement counts.
    Placeholders were nulled by standardisation and shared junk values hit the
    block-size cap.
    """
    return pairs_sharing_key(pl.col("tax_id"), context)


def block_on_name_key(context: BlockingContext) -> RuleOutcome:
    """Same name once legal form, case and punctuation are removed (common names per city).

    Capped at ``max_name_block_size``, see there.
    """
    return pairs_sharing_key(
        pl.col("name_key"),
        context,
        refine=pl.col("city_key"),
        cap=context.settings.max_name_block_size,
    )


def block_on_name_latin_sorted(context: BlockingContext) -> RuleOutcome:
    """Same romanised name tokens in any order: 王伟 / 'Wang Wei' / 'Wei Wang'."""
    return pairs_sharing_key(
        pl.col("name_latin_sorted"),
        context,
        refine=pl.col("city_key"),
        cap=context.settings.max_name_block_size,
    )


def block_on_name_alias(context: BlockingContext) -> RuleOutcome:
    """Same alias key (matching.aliases): 'IBM' / 'International Business Machines'.

    Only records whose name key the alias table lists have one; the rule is
    among the rules only when a table is configured (``MatchSettings``). Capped
    and refined like the name-key rule: 25 records of one listed name in one
    city are as likely to be several customers as 25 'James Smith's.
    """
    return pairs_sharing_key(
        alias_key_expr(context.name_aliases),
        context,
        refine=pl.col("city_key"),
        cap=context.settings.max_name_block_size,
    )


def block_on_contact_and_postcode(context: BlockingContext) -> RuleOutcome:
    """Same contact person (romanised, any order) at the same postcode."""
    key = pl.concat_str([pl.col("contact_latin_sorted"), pl.col("postcode")], separator="|")
    return pairs_sharing_key(key, context)


def block_on_address_key(context: BlockingContext) -> RuleOutcome:
    """Same street address (normalised key): a moved or renamed customer's other records."""
    return pairs_sharing_key(pl.col("address_key"), context)


def block_on_postcode_and_name_initials(context: BlockingContext) -> RuleOutcome:
    """Same postcode and the same initials of the romanised, token-sorted name.

    Catches name typos that break every name key when the postcode is right
    ('tayla greecn' / 'tayla green' at 2905 -> '2905|gt'): initials of the sorted
    tokens survive a swapped name order and most typos, and keep postcode
    blocks small.
    """
    tokens = pl.col("name_latin_sorted").str.split(" ")
    initials = tokens.list.eval(pl.element().str.slice(0, 1)).list.join("")
    key = pl.concat_str([pl.col("postcode"), initials], separator="|")
    return pairs_sharing_key(key, context, cap=context.settings.max_name_block_size)


def block_on_birth_date(context: BlockingContext) -> RuleOutcome:
    """Same valid date of birth: people whose name and contact details were both mistyped.

    A birth date is shared by about 27 of a million people (365 days over
    about 100 years), so its blocks are small but grow with the data: like the
    name rules it is capped at ``max_name_block_size``, a larger block refined
    by postcode and skipped if still larger.
    """
    return pairs_sharing_key(
        pl.when(pl.col("birth_date_valid")).then(pl.col("birth_date")),
        context,
        refine=pl.col("postcode"),
        cap=context.settings.max_name_block_size,
    )


def _name_part_prefixes(prefix: int) -> list[pl.Expr]:
    """The first ``prefix`` letters of each of the first ``NAME_PARTS`` romanised name tokens."""
    tokens = pl.col("name_latin_sorted").str.split(" ")
    return [tokens.list.get(i, null_on_oob=True).str.slice(0, prefix) for i in range(NAME_PARTS)]


def keyed_by_name_part(key: pl.Expr, *, prefix: int = NAME_PART_PREFIX) -> pl.Expr:
    """One key per romanised name token: ``key|`` + the token's first ``prefix`` letters.

    A list (see ``record_keys``): records sharing any one part share a block. A
    prefix survives the variants that break whole-name keys: a nickname
    ('art' / 'arthur'), a dropped or added token, a typo late in the word. Only
    the first ``NAME_PARTS`` tokens of the sorted name count.
    """
    parts = _name_part_prefixes(prefix)
    return pl.concat_list(
        [pl.when(part != "").then(pl.concat_str([key, pl.lit("|"), part])) for part in parts]
    )


def block_on_postcode_and_name_part(context: BlockingContext) -> RuleOutcome:
    """Same postcode and one name part in common, capped like a name.

    Where ``postcode_and_name_initials`` needs every token's initial to agree,
    this survives a dropped or added token ('art' / 'arthur englefield').
    """
    return pairs_sharing_key(
        keyed_by_name_part(pl.col("postcode")), context, cap=context.settings.max_name_block_size
    )


def name_part_pairs(*, prefix: int = NAME_PART_PREFIX) -> pl.Expr:
    """Every two of the first ``NAME_PARTS`` name tokens' prefixes, in name order ('art|eng')."""
    parts = _name_part_prefixes(prefix)
    return pl.concat_list(
        [
            pl.concat_str([parts[i], pl.lit("|"), parts[j]])
            for i in range(NAME_PARTS)
            for j in range(i + 1, NAME_PARTS)
        ]
    )


def block_on_name_part_pairs(context: BlockingContext) -> RuleOutcome:
    """Two name parts in common, capped like a name ('artie englefield' / 'arthur englefiwld')."""
    return pairs_sharing_key(name_part_pairs(), context, cap=context.settings.max_name_block_size)


def block_on_birth_date_and_name_part(context: BlockingContext) -> RuleOutcome:
    """Same valid birth date and one name part in common, capped like a name.

    The birth-date rule alone must refine a date many people share (a year-only
    '1855-01-01') by postcode, losing the pairs whose postcode changed; one
    shared name part keeps those blocks small without needing the whole name to
    agree (Splink's docs block on first name + dob and on surname + dob).
    """
    date = pl.when(pl.col("birth_date_valid")).then(pl.col("birth_date"))
    return pairs_sharing_key(
        keyed_by_name_part(date), context, cap=context.settings.max_name_block_size
    )


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
    small = settings.neighbourhood_max_cross_block
    half = (settings.neighbourhood_window - 1) // 2
    # Filters on block size go before each join, so no cross product of two
    # common names is ever materialised (at 1M records that was gigabytes).
    records = kept.select("record_index", "rank", "size")
    is_small = pl.col("size") <= small
    found = []
    for offset in range(half + 1):
        shifted = records.select(
            pl.col("record_index").alias("other"),
            pl.col("size").alias("other_size"),
            (pl.col("rank") - offset).alias("rank"),
        )
        if offset == 0:
            # Records of one name: the name rules pair them (refined by city when
            # the name is common); here only small names, whose pairs are few.
            pairs = (
                records.filter(is_small)
                .join(shifted.filter(pl.col("other_size") <= small), on="rank")
                .filter(pl.col("record_index") < pl.col("other"))
            )
        else:
            # Neighbouring names: a typo'd rare name meets a common one, but two
            # common names ('wangwei' x 'wangwen') would make a cross product.
            pairs = pl.concat(
                [
                    records.filter(is_small).join(shifted, on="rank"),
                    records.filter(~is_small).join(
                        shifted.filter(pl.col("other_size") <= small), on="rank"
                    ),
                ]
            )
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
            directed=context.semantic_neighbours,
        )
    )


BLOCKING_RULES: dict[str, Callable[[BlockingContext], RuleOutcome]] = {
    "email": block_on_email,
    "phone": block_on_phone,
    "tax_id": block_on_tax_id,
    "name_key": block_on_name_key,
    "name_latin_sorted": block_on_name_latin_sorted,
    "contact_and_postcode": block_on_contact_and_postcode,
    "address_key": block_on_address_key,
    "postcode_and_name_initials": block_on_postcode_and_name_initials,
    "sorted_name_neighbourhood": block_on_sorted_name_neighbourhood,
    "semantic_name_neighbours": block_on_semantic_name_neighbours,
    "birth_date": block_on_birth_date,
    "birth_date_and_name_part": block_on_birth_date_and_name_part,
    "postcode_and_name_part": block_on_postcode_and_name_part,
    "name_part_pairs": block_on_name_part_pairs,
    "name_alias": block_on_name_alias,
    "company_domain": block_on_company_domain,
}


def rules_label(mask: int, rules: Sequence[str]) -> str:
    """The ``blocking_rules`` label of a rule bit mask: its rules' names in order, ','-joined."""
    return ",".join(rule for k, rule in enumerate(rules) if mask >> k & 1)


def blocking_report(
    rules: Sequence[str],
    *,
    pairs: Mapping[int, int],
    new_pairs: Mapping[int, int],
    skipped: Sequence[tuple[int, int]],
) -> pl.DataFrame:
    """One row per rule (in order): its pairs, those no earlier rule found, what it skipped.

    ``pairs`` and ``new_pairs`` are keyed by the rule's position; ``skipped`` holds
    (blocks, records) per position. The default engine and the Spark one both report so,
    and a rule that skipped blocks is logged as a warning.
    """
    report = pl.DataFrame(
        [
            {
                "rule": rule,
                "pairs": int(pairs.get(order, 0)),
                "new_pairs": int(new_pairs.get(order, 0)),
                "skipped_blocks": skipped[order][0],
                "skipped_records": skipped[order][1],
            }
            for order, rule in enumerate(rules)
        ],
        schema={"rule": pl.String, "pairs": pl.Int64, "new_pairs": pl.Int64,
                "skipped_blocks": pl.Int64, "skipped_records": pl.Int64},
    )  # fmt: skip
    for row in report.filter(pl.col("skipped_blocks") > 0).iter_rows(named=True):
        LOGGER.warning(
            "blocking rule %s: %d blocks over the size cap skipped (%d records); "
            "their pairs are left to the other rules",
            row["rule"],
            row["skipped_blocks"],
            row["skipped_records"],
        )
    return report


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
    std: pl.DataFrame,
    *,
    name_vectors: object,
    settings: BlockingSettings,
    name_aliases: NameAliases | None = None,
    semantic_neighbours: tuple[np.ndarray, np.ndarray] | None = None,
) -> CandidatePairs:
    """Run every configured blocking rule and union their pairs.

    ``name_aliases``: the alias table the ``name_alias`` rule blocks on;
    ``semantic_neighbours``: that rule's neighbour lists, if computed already.

    Each pair is packed into one integer (left << 32 | right) and each rule
    into one bit, so the union, the per-rule counts of new pairs and the
    ``blocking_rules`` label are a sort and a group-by over integers; the label
    text is built once per distinct combination of rules, not once per pair.
    """
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
    packed: list[pl.DataFrame] = []
    skipped: list[tuple[int, int]] = []
    for order, rule in enumerate(settings.rules):
        # Only the packed keys outlive the rule: at 1M records the rules' own pair
        # frames (10M pairs) held beside the union were the matching's peak.
        outcome = BLOCKING_RULES[rule](context)
        skipped.append((outcome.skipped_blocks, outcome.skipped_records))
        keys = distinct_pair_keys(outcome.pairs)
        del outcome
        packed.append(
            pl.DataFrame({"key": keys}, schema={"key": pl.UInt64}).with_columns(
                pl.lit(order, dtype=pl.UInt8).alias("order")
            )
        )
    empty = pl.DataFrame(schema={"key": pl.UInt64, "order": pl.UInt8})
    # Sorted first, then grouped in order: half the temporary memory of a hash
    # group-by over 10M keys, and faster; the groups come out sorted by key.
    union = (
        (pl.concat(packed, rechunk=False) if packed else empty)
        .sort("key")
        .group_by("key", maintain_order=True)
        .agg(
            pl.col("order").min().alias("first"),
            pl.lit(2, dtype=pl.UInt32).pow(pl.col("order")).cast(pl.UInt32).sum().alias("mask"),
        )
    )
    rule_pairs = [frame.height for frame in packed]
    del packed
    firsts = union["first"].value_counts()
    new_pairs = dict(zip(firsts["first"].to_list(), firsts["count"].to_list(), strict=True))
    report = blocking_report(
        settings.rules, pairs=dict(enumerate(rule_pairs)), new_pairs=new_pairs, skipped=skipped
    )
    masks = union["mask"].unique().to_list()
    labels = {mask: rules_label(mask, settings.rules) for mask in masks}
    pairs = union.select(
        (pl.col("key") // (1 << 32)).cast(pl.UInt32).alias("left"),
        (pl.col("key") % (1 << 32)).cast(pl.UInt32).alias("right"),
        pl.col("mask").replace_strict(labels, return_dtype=pl.String).alias("blocking_rules"),
    )
    return CandidatePairs(pairs=pairs, report=report)
