"""Survivorship: one winning value per (unified_id, field), and why every other value lost.

A rule is a function returning its *primary* rank keys; the shared tie-break
chain (higher trust, later ``source_updated_at``, higher authority, smaller
``(source_system, source_record_id)``) is appended to every rule, so a winner is
always unique and the same inputs always give the same winner. The last key is
unique per record, which makes the order total.

Adding a rule is one function plus one ``RULES`` entry, e.g. ``longest``::

    def longest(settings):
        return (RankKey("length", pl.col("value").str.len_chars(), descending=True,
                        explain=lambda lost, won: pl.format("shorter ({} < {})", lost, won)),)

Rules (``settings.rules``, per field):

- ``highest_trust`` (default): the highest ``trust_score``;
- ``most_recent``: the latest ``source_updated_at`` (no timestamp ranks last);
- ``oldest``: the earliest ``source_updated_at`` (the first value ever seen);
- ``source_priority``: the first source in ``settings.source_priority`` (unlisted last);
- ``most_frequent``: the value held by most records of the customer (compared on
  letters and digits, case-folded);
- ``longest``: the most complete value, by letters and digits.

Tie-breaks, in this order, after the rule's own keys: higher trust, later
``source_updated_at``, higher authority, then the smaller
``(source_system, source_record_id)``, so every group has exactly one winner.

Dependent fields (``settings.dependent_fields``) are ranked after their leader:
a follower value from the record that supplied the leader's winning value ranks
first (rule ``dependent_on_<leader>``); without one the field's own rule applies.

Roles and agreement (``lineage.roles``): when the candidates carry ``role_rank``
and ``agreement`` (the golden record adds them), a field's candidates are ranked
on the role first (a company's main line before a contact's mobile), then on
cross-source agreement, then by the field's rule, so the rule picks within the
best role and among agreed values. ``rule`` then says so: ``highest_trust:role=main_line``
when the candidates held several roles, ``+agreement`` when agreement put the
winner ahead of a candidate of its role (``highest_trust:role=legal_name+agreement``).

Field locks (``settings.field_locks``) rank before everything: a value from a
source outside the lock never wins; when only such values exist the golden
value is null and each candidate says ``field locked to ...``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from connectors.canonical import GOLDEN_FIELDS

GROUP = ("unified_id", "field")
RECORD = pl.struct("source_system", "source_record_id")
Explain = Callable[[pl.Expr, pl.Expr], pl.Expr]


class RuleSettings(Protocol):
    """What the rules read of ``lineage.settings.SurvivorshipSettings``.

    A protocol, so that the settings module may import the rules (to validate
    rule names) without the rules importing the settings back.
    """

    @property
    def rules(self) -> Mapping[str, str]: ...

    @property
    def field_locks(self) -> Mapping[str, tuple[str, ...]]: ...

    @property
    def dependent_fields(self) -> Mapping[str, tuple[str, ...]]: ...

    def priority_order(self, field: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class RankKey:
    """One ordering criterion of a survivorship rule.

    Attributes:
        name: Identifier, unique within a rule's keys; also how the key is deduplicated
            against the tie-break chain.
        expr: Expression over the candidate frame giving the key's value.
        descending: True when a larger value wins.
        explain: ``(loser_value, winner_value) -> text`` for a candidate that lost on
            this key, e.g. ``"lower trust 0.61 < 0.83"``.
        tie_label: How a tie on this key is named in later reasons
            (``"tie on trust; older (...)"``); None keeps it out of the text.
    """

    name: str
    expr: pl.Expr
    descending: bool
    explain: Explain
    tie_label: str | None = None


def _won(column: str) -> pl.Expr:
    """The winner's value of a candidate column (available while reasons are built)."""
    return pl.col(f"_won_value_{column}")


def _timestamp_text(ts: pl.Expr, other: pl.Expr) -> pl.Expr:
    """A date, or a full timestamp when both values fall on the same day."""
    same_day = ts.dt.date() == other.dt.date()
    text = (
        pl.when(same_day)
        .then(ts.dt.to_string("%Y-%m-%d %H:%M:%S"))
        .otherwise(ts.dt.to_string("%Y-%m-%d"))
    )
    return text.fill_null("unknown")


def _record_key_text(key: pl.Expr) -> pl.Expr:
    """``source_system:source_record_id`` of a record-key struct."""
    return pl.format(
        "{}:{}", key.struct.field("source_system"), key.struct.field("source_record_id")
    )


TRUST = RankKey(
    "trust",
    pl.col("trust_score"),
    descending=True,
    explain=lambda lost, won: pl.format("lower trust {} < {}", lost, won),
    tie_label="trust",
)
FRESHNESS = RankKey(
    "freshness",
    pl.col("source_updated_at"),
    descending=True,
    explain=lambda lost, won: pl.format(
        "older ({} < {})", _timestamp_text(lost, won), _timestamp_text(won, lost)
    ),
    tie_label="source_updated_at",
)
AUTHORITY = RankKey(
    "authority",
    pl.col("authority"),
    descending=True,
    explain=lambda lost, won: pl.format("lower authority {} < {}", lost, won),
    tie_label="authority",
)
RECORD_KEY = RankKey(
    "record_key",
    RECORD,
    descending=False,
    explain=lambda lost, won: pl.format(
        "record key {} sorts after {}", _record_key_text(lost), _record_key_text(won)
    ),
)
TIE_BREAKS: tuple[RankKey, ...] = (TRUST, FRESHNESS, AUTHORITY, RECORD_KEY)


def _normalised(value: pl.Expr) -> pl.Expr:
    # Same normalisation as trust's corroboration (kept here to avoid an import cycle).
    return value.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", "")


def highest_trust(settings: RuleSettings) -> tuple[RankKey, ...]:
    """The value with the highest trust score wins (the default rule)."""
    return (TRUST,)


def most_recent(settings: RuleSettings) -> tuple[RankKey, ...]:
    """The most recently updated value wins, whatever its trust (e.g. a tier change)."""
    return (FRESHNESS,)


def oldest(settings: RuleSettings) -> tuple[RankKey, ...]:
    """The earliest value wins (e.g. the date a customer relationship started)."""
    return (
        RankKey(
            "age",
            pl.col("source_updated_at"),
            descending=False,
            explain=lambda lost, won: pl.format(
                "newer ({} > {})", _timestamp_text(lost, won), _timestamp_text(won, lost)
            ),
            tie_label="source_updated_at",
        ),
    )


UNLISTED_PRIORITY = 1_000_000  # sources missing from a priority list rank after all listed ones


def source_priority(settings: RuleSettings) -> tuple[RankKey, ...]:
    """The value of the first source in the field's ``source_priority`` list wins."""
    ranks = {
        f"{field}\x1f{source}": position
        for field in GOLDEN_FIELDS
        for position, source in enumerate(settings.priority_order(field), start=1)
    }
    expr = pl.concat_str("field", "source_system", separator="\x1f").replace_strict(
        ranks, default=UNLISTED_PRIORITY, return_dtype=pl.Int64
    )
    unlisted = pl.lit(UNLISTED_PRIORITY)
    return (
        RankKey(
            "source_priority",
            expr,
            descending=False,
            explain=lambda lost, won: pl.format(
                "lower source priority ({} {} after {} {})",
                pl.col("source_system"),
                pl.when(lost == unlisted)
                .then(pl.lit("unlisted"))
                .otherwise(pl.format("#{}", lost)),
                _won("source_system"),
                pl.when(won == unlisted).then(pl.lit("unlisted")).otherwise(pl.format("#{}", won)),
            ),
            tie_label="source priority",
        ),
    )


def most_frequent(settings: RuleSettings) -> tuple[RankKey, ...]:
    """The value held by most of the customer's records wins (a majority vote)."""
    frequency = pl.len().over("unified_id", "field", _normalised(pl.col("value")))
    return (
        RankKey(
            "frequency",
            frequency.cast(pl.Int64),
            descending=True,
            explain=lambda lost, won: pl.format("less frequent ({} < {} records)", lost, won),
            tie_label="frequency",
        ),
    )


def longest(settings: RuleSettings) -> tuple[RankKey, ...]:
    """The most complete value wins: most letters and digits (an address with its floor)."""
    return (
        RankKey(
            "length",
            _normalised(pl.col("value")).str.len_chars().cast(pl.Int64),
            descending=True,
            explain=lambda lost, won: pl.format("shorter ({} < {} characters)", lost, won),
            tie_label="length",
        ),
    )


Rule = Callable[[RuleSettings], tuple[RankKey, ...]]
# Rules receive the settings so configurable ones (a source priority list) can read them.
RULES: dict[str, Rule] = {
    "highest_trust": highest_trust,
    "most_recent": most_recent,
    "oldest": oldest,
    "source_priority": source_priority,
    "most_frequent": most_frequent,
    "longest": longest,
}
DEFAULT_RULE = "highest_trust"


def rank_keys(primary: Sequence[RankKey]) -> tuple[RankKey, ...]:
    """A rule's primary keys followed by the tie-break chain keys it does not already use.

    Example:
        >>> [k.name for k in rank_keys((FRESHNESS,))]
        ['freshness', 'trust', 'authority', 'record_key']
    """
    used = {k.name for k in primary}
    return (*primary, *(k for k in TIE_BREAKS if k.name not in used))


def _group_start() -> pl.Expr:
    """Row index of the first row of each row's (unified_id, field) group, rows sorted by it.

    Sorted, a group's rows are contiguous, so its rank and its winner's values are
    positions: ``int_range - start + 1`` and a gather at ``start``. The same as
    ``int_range(...).over(GROUP)`` and ``first().over(GROUP)``, which hash both text
    columns again for every window: a quarter of ranking's time at 1M records.
    """
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    starts = (
        (row == 0)
        | pl.col("unified_id").ne_missing(pl.col("unified_id").shift(1))
        | pl.col("field").ne_missing(pl.col("field").shift(1))
    )
    return pl.when(starts).then(row).forward_fill()


def rank_candidates(candidates: pl.DataFrame, *, keys: Sequence[RankKey]) -> pl.DataFrame:
    """Order each (unified_id, field) group by ``keys``; mark the winner and explain the rest.

    Adds ``rank`` (1 = winner), ``is_winner`` and ``lost_because`` (null for the
    winner): the first key on which a candidate differs from the winner, prefixed
    by the keys it tied on, e.g. ``"tie on trust; older (2021-03-01 < 2024-05-02)"``.

    Example::

        ranked = rank_candidates(scored, keys=rank_keys((TRUST,)))
        ranked.filter("is_winner").select("unified_id", "field", "value")
    """
    key_cols = [f"_key_{k.name}" for k in keys]
    won_cols = [f"_won_{k.name}" for k in keys]
    ranked = (
        candidates.with_columns(k.expr.alias(c) for k, c in zip(keys, key_cols, strict=True))
        .sort(
            [*GROUP, *key_cols],
            descending=[False] * len(GROUP) + [k.descending for k in keys],
            nulls_last=True,
            maintain_order=True,
        )
        .with_columns(_group_start().alias("_group_start"))
        .with_columns(
            (pl.int_range(pl.len(), dtype=pl.UInt32) - pl.col("_group_start") + 1).alias("rank"),
            *(
                pl.col(k).gather(pl.col("_group_start")).alias(w)
                for k, w in zip(key_cols, won_cols, strict=True)
            ),
            pl.col("source_system")
            .gather(pl.col("_group_start"))
            .alias("_won_value_source_system"),
        )
        .drop("_group_start")
        .with_columns(is_winner=pl.col("rank") == 1)
    )
    # One candidate reason per key; the first key the loser differs on is the one reported.
    reasons: list[pl.Expr] = []
    tied: list[str] = []
    for key, key_col, won_col in zip(keys, key_cols, won_cols, strict=True):
        prefix = f"tie on {', '.join(tied)}; " if tied else ""
        reasons.append(
            pl.when(pl.col(key_col).ne_missing(pl.col(won_col))).then(
                pl.lit(prefix) + key.explain(pl.col(key_col), pl.col(won_col))
            )
        )
        if key.tie_label is not None:
            tied.append(key.tie_label)
    reason = pl.when(~pl.col("is_winner")).then(pl.coalesce(reasons))
    return ranked.with_columns(reason.alias("lost_because")).drop(
        *key_cols, *won_cols, "_won_value_source_system"
    )


def _lock_key(settings: RuleSettings) -> tuple[RankKey, pl.Expr, pl.Expr]:
    """The rank key of field locks, the eligibility expression and the lock's text."""
    pairs = {
        f"{field}\x1f{source}"
        for field, allowed in settings.field_locks.items()
        for source in allowed
    }
    locked = pl.col("field").is_in(list(settings.field_locks))
    eligible = ~locked | pl.concat_str("field", "source_system", separator="\x1f").is_in(
        list(pairs)
    )
    allowed_text = pl.col("field").replace_strict(
        {f: ", ".join(sources) for f, sources in settings.field_locks.items()},
        default=None,
        return_dtype=pl.String,
    )
    text = pl.format("field {} locked to {}", pl.col("field"), allowed_text)
    key = RankKey("field_lock", eligible, descending=True, explain=lambda _lost, _won: text)
    return key, eligible, text


INVALID_ROLE = "invalid_value"  # lineage.roles: a value that failed validation, ranked last
ROLE = RankKey(
    "role",
    pl.format("{}:{}", pl.col("role_rank"), pl.col("role")),
    descending=False,
    explain=lambda lost, won: pl.format(
        "role {} ranks after role {}",
        lost.str.split_exact(":", 1).struct.field("field_1"),
        won.str.split_exact(":", 1).struct.field("field_1"),
    ),
)
AGREEMENT = RankKey(
    "agreement",
    pl.col("agreement"),
    descending=True,
    explain=lambda lost, won: pl.format(
        "a lone value of a lesser source ({} < {} agreeing sources)", lost, won
    ),
)


def _role_keys(candidates: pl.DataFrame) -> tuple[RankKey, ...]:
    """The role and agreement keys, for candidates that carry their columns."""
    keys = []
    if "role_rank" in candidates.columns:
        keys.append(ROLE)
    if "agreement" in candidates.columns:
        keys.append(AGREEMENT)
    return tuple(keys)


def _annotate_rule(ranked: pl.DataFrame) -> pl.DataFrame:
    """``rule`` + ``:role=<winner's role>`` / ``+agreement`` / ``+spelling`` where those decided."""
    respelled = "_respelled" in ranked.columns
    has_roles = "role_rank" in ranked.columns
    has_agreement = "agreement" in ranked.columns
    if not (has_roles or has_agreement or respelled):
        return ranked
    # The conditions are computed once, as columns: nesting ``rule`` in each step's
    # when/then/otherwise would evaluate every earlier step's windows twice per step.
    # The winner's values are columns too, before any window reads them: a window
    # nested in another's aggregation (``any().over`` of a comparison with
    # ``first().over``) is evaluated group by group, 1.0 s of 1.6 s on a range of
    # 175k candidates where the two passes take 0.35 s.
    winner = pl.col("rank") == 1
    won_columns = [
        column
        for column, wanted in (
            ("role", has_roles),
            ("role_rank", has_roles and has_agreement),
            ("agreement", has_agreement),
        )
        if wanted
    ]
    framed = ranked.with_columns(
        pl.col(column).filter(winner).first().over(GROUP).alias(f"_winner_{column}")
        for column in won_columns
    )
    rule = pl.col("rule")
    steps: list[pl.Expr] = []
    if has_roles:
        winner_role = pl.col("_winner_role")
        valid_rank = pl.col("role_rank").filter(pl.col("role") != INVALID_ROLE)
        several = valid_rank.n_unique().over(GROUP) > 1
        steps.append(
            pl.when(several & winner_role.is_not_null())
            .then(pl.format(":role={}", winner_role))
            .otherwise(pl.lit(""))
            .alias("_role_note")
        )
    if has_agreement:
        same_role = (
            pl.col("role_rank").eq_missing(pl.col("_winner_role_rank"))
            if has_roles
            else pl.lit(True)
        )
        beaten = (same_role & (pl.col("agreement") < pl.col("_winner_agreement"))).any().over(GROUP)
        steps.append(
            pl.when(beaten).then(pl.lit("+agreement")).otherwise(pl.lit("")).alias("_agree_note")
        )
    if respelled:
        steps.append(
            pl.when("_respelled")
            .then(pl.lit("+spelling"))
            .otherwise(pl.lit(""))
            .alias("_spelling_note")
        )
    notes = [step.meta.output_name() for step in steps]
    return (
        framed.with_columns(steps)
        .with_columns(pl.concat_str([rule, *notes]).alias("rule"))
        .drop(
            *notes,
            *(f"_winner_{column}" for column in won_columns),
            *(["_respelled"] if respelled else []),
        )
    )


SPELLING_SOURCES = RankKey(
    "spelling_sources",
    pl.col("_spelling_sources"),
    descending=True,
    explain=lambda lost, won: pl.format(
        "a spelling of the same name fewer sources write ({} < {} sources)", lost, won
    ),
    tie_label="sources",
)
SPELLING = RankKey(
    "spelling",
    pl.col("_spelling"),
    descending=True,
    explain=lambda lost, won: pl.format(
        "a less common spelling of the same name ({} < {} records)", lost, won
    ),
)
IN_VARIANT = RankKey(
    "variant",
    pl.col("_in_variant"),
    descending=True,
    explain=lambda _lost, _won: pl.lit("another name than the winner's"),
)


def _common_spelling(ranked: pl.DataFrame, keys: Sequence[RankKey]) -> pl.DataFrame:
    """Write the winning name the way most sources write it (``variant``, lineage.roles).

    Among the candidates of the winner's role that are spellings of the winner's name
    (same ``variant`` key), the one most source systems hold wins, then the one most
    records hold; ties keep ``keys``' order, so the rule still decides between equally
    common spellings. Sources before records: one system's repeated rows (an ERP's
    three invoices copying its own spelling) are one witness, two systems writing a
    name alike are two, as the agreement key counts them. Values that failed
    validation count for nothing. Only groups where a more common spelling exists are
    ranked again (with ``keys`` around the spelling keys); there, a candidate of
    another name keeps the reason it lost for.
    """
    not_respelled = pl.lit(False).alias("_respelled")
    # Only groups holding a spelled value (a company's names) are looked at again.
    spelled = ranked.filter(pl.col("variant").is_not_null()).select(GROUP).unique()
    if spelled.is_empty():
        return ranked.with_columns(not_respelled)
    # Rows keep their place (groups contiguous, by rank): later windows over GROUP are
    # several times slower on scattered groups.
    ranked = ranked.with_row_index("_pos")
    rest = ranked.join(spelled, on=GROUP, how="anti").with_columns(not_respelled)
    winner = pl.col("rank") == 1
    same_value = _normalised(pl.col("value"))
    counted = pl.col("role").ne_missing(INVALID_ROLE)
    framed = ranked.join(spelled, on=GROUP, how="semi").with_columns(
        (
            pl.col("variant").eq(pl.col("variant").filter(winner).first().over(GROUP))
            & pl.col("role_rank").eq_missing(pl.col("role_rank").filter(winner).first().over(GROUP))
            & pl.col("_eligible")
        )
        .fill_null(False)
        .alias("_in_variant"),
        pl.col("source_system")
        .filter(counted)
        .n_unique()
        .over(*GROUP, same_value)
        .cast(pl.Int64)
        .alias("_spelling_sources"),
        counted.sum().over(*GROUP, same_value).cast(pl.Int64).alias("_spelling"),
    )
    sources, records = pl.col("_spelling_sources"), pl.col("_spelling")
    won_sources = sources.filter(winner).first()
    more_common = (
        (
            pl.col("_in_variant")
            & (
                (sources > won_sources)
                | ((sources == won_sources) & (records > records.filter(winner).first()))
            )
        )
        .any()
        .over(GROUP)
    )
    affected = framed.filter(more_common)
    if affected.is_empty():
        return ranked.drop("_pos").with_columns(not_respelled)
    head, tail = [], list(keys)
    while tail and tail[0].name in {"field_lock", "follows_leader", "role", "agreement"}:
        head.append(tail.pop(0))
    again = rank_candidates(
        affected.with_columns(
            pl.col("lost_because").alias("_lost_before"), winner.alias("_won_before")
        ),
        keys=(*head, IN_VARIANT, SPELLING_SOURCES, SPELLING, *tail),
    ).with_columns(
        pl.when(pl.col("_in_variant") | pl.col("is_winner"))
        .then(pl.col("lost_because"))
        .otherwise(pl.col("_lost_before"))
        .alias("lost_because"),
        (pl.col("is_winner") & ~pl.col("_won_before")).any().over(GROUP).alias("_respelled"),
        (pl.col("_pos").min().over(GROUP) + pl.col("rank") - 1).alias("_pos"),
    )
    kept = framed.filter(~more_common).with_columns(not_respelled)
    respelled = pl.concat([kept, again.drop("_lost_before", "_won_before")], how="vertical")
    return (
        pl.concat(
            [rest, respelled.drop("_in_variant", "_spelling_sources", "_spelling")],
            how="vertical",
        )
        .sort("_pos")
        .drop("_pos")
    )


def _rank_by_field_rules(
    candidates: pl.DataFrame, *, settings: RuleSettings, lead: Sequence[RankKey] = ()
) -> pl.DataFrame:
    """Rank each field by its own rule (one pass per registered rule), adding ``rule``.

    A field lock ranks first; a candidate outside the lock never wins, even alone.
    """
    lock, eligible, lock_text = _lock_key(settings)
    with_rule = candidates.with_columns(
        pl.col("field")
        .replace_strict(settings.rules, default=DEFAULT_RULE, return_dtype=pl.String)
        .alias("rule"),
        eligible.alias("_eligible"),
    )
    spelled = "variant" in candidates.columns and "role_rank" in candidates.columns
    parts = []
    for name, rule in sorted(RULES.items()):
        keys = (lock, *lead, *_role_keys(candidates), *rank_keys(rule(settings)))
        part = rank_candidates(with_rule.filter(pl.col("rule") == name), keys=keys)
        parts.append(_common_spelling(part, keys) if spelled else part)
    ranked = pl.concat(parts, how="vertical")
    return (
        _annotate_rule(ranked)
        .with_columns(
            (pl.col("is_winner") & pl.col("_eligible")).alias("is_winner"),
            pl.when(pl.col("_eligible"))
            .then(pl.col("lost_because"))
            .otherwise(lock_text)
            .alias("lost_because"),
        )
        .drop("_eligible")
    )


FOLLOWS_LEADER = RankKey(
    "follows_leader",
    pl.col("_follows_leader"),
    descending=True,
    explain=lambda _lost, _won: pl.format(
        "dependent on {} from {}", pl.col("_leader_field"), _record_key_text(pl.col("_leader_key"))
    ),
)


def select_winners(candidates: pl.DataFrame, *, settings: RuleSettings) -> pl.DataFrame:
    """Pick one value per (unified_id, field) per its rule and the dependent-field settings.

    Args:
        candidates: Scored candidates (``lineage.trust.score_candidates`` output):
            ``unified_id, field, value, source_system, source_record_id,
            source_updated_at, authority, trust_score`` and any other columns.
        settings: The rule of each field and the dependent fields.

    Returns:
        The candidates plus ``rank``, ``is_winner``, ``rule`` (the rule that decided
        the group; ``dependent_on_<leader>`` when a follower came from the leader's
        record) and ``lost_because``, sorted by unified_id, field and rank.

    Example::

        chosen = select_winners(scored, settings=SurvivorshipSettings())
        chosen.filter("is_winner").select("unified_id", "field", "value", "rule")
    """
    return ranked_candidates(candidates, settings=settings).sort(*GROUP, "rank")


def ranked_candidates(candidates: pl.DataFrame, *, settings: RuleSettings) -> pl.DataFrame:
    """``select_winners``' rows in no particular order, for a caller that sorts them itself.

    The golden record sorts by its field order (``lineage.golden``): sorting by
    ``GROUP`` first as well cost it a second pass over every column of every
    candidate, 9 s of CPU at 1M records.
    """
    leader_of = {f: leader for leader, fs in settings.dependent_fields.items() for f in fs}
    is_follower = pl.col("field").is_in(list(leader_of))
    first_pass = _rank_by_field_rules(candidates.filter(~is_follower), settings=settings)
    leader_records = first_pass.filter(
        pl.col("is_winner") & pl.col("field").is_in(list(settings.dependent_fields))
    ).select("unified_id", pl.col("field").alias("_leader_field"), RECORD.alias("_leader_key"))
    followers = (
        candidates.filter(is_follower)
        .with_columns(
            pl.col("field").replace_strict(leader_of, return_dtype=pl.String).alias("_leader_field")
        )
        .join(leader_records, on=["unified_id", "_leader_field"], how="left")
        .with_columns(RECORD.eq_missing(pl.col("_leader_key")).alias("_follows_leader"))
    )
    second_pass = (
        _rank_by_field_rules(followers, settings=settings, lead=(FOLLOWS_LEADER,))
        .with_columns(
            rule=pl.when(pl.col("_follows_leader").any().over(GROUP))
            .then(pl.format("dependent_on_{}", pl.col("_leader_field")))
            .otherwise(pl.col("rule"))
        )
        .drop("_leader_field", "_leader_key", "_follows_leader")
    )
    return pl.concat([first_pass, second_pass], how="vertical")
