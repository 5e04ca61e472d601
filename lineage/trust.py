"""Trust of every candidate value, as four auditable components and their product.

``trust_score = clip(authority * recency * validity * completeness * (1 + corroboration), 0, 1)``,
rounded to ``settings.trust_decimals``:

- ``authority``: the source's configured trust for the field (``trust:`` in the config);
- ``recency``: ``max(min_recency, 0.5 ** (age_days / half_life))`` with the field's
  half-life (``half_life_days_by_field``, else ``recency_half_life_days``), the age
  being that of ``confirmed_at`` (the latest source repeating the value or a part
  of it; see ``containment``), measured
  against ``as_of`` (the run's latest ``source_updated_at``, never the wall clock,
  so identical inputs give identical trust); a missing timestamp gets ``min_recency``;
- ``validity``: ``invalid_downgrade`` when the value failed validation, else 1;
- ``completeness``: ``fragment_downgrade`` when the value is a proper part of
  another candidate's value for the same customer and field, else 1;
- ``corroboration``: ``corroboration_bonus`` per distinct *other* source system in
  the cluster supporting the value (same value, or a shorter value it contains,
  compared lower-cased on letters and digits only; see ``supporting_sources``),
  capped at ``max_corroboration_bonus``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol, runtime_checkable

import polars as pl

from connectors.canonical import GOLDEN_FIELDS
from lineage.settings import LineageError, SurvivorshipSettings

DEFAULT_TRUST_KEY = "default"
MICROSECONDS_PER_DAY = 86_400 * 1_000_000
HALF = 0.5  # the recency factor at an age of one half-life

CANDIDATE_COLUMNS: tuple[str, ...] = (
    "unified_id",
    "field",
    "value",
    "source_system",
    "source_record_id",
    "source_column",
    "source_updated_at",
    "valid",
)
TRUST_COMPONENTS: tuple[str, ...] = (
    "authority",
    "recency",
    "validity",
    "completeness",
    "corroboration",
)


class SourceTrustError(LineageError):
    """A source's trust configuration is missing, out of range, or unknown to the run."""


@runtime_checkable
class TrustSource(Protocol):
    """What survivorship needs from a source config (``connectors.config.SourceConfig``)."""

    @property
    def name(self) -> str:
        """The source name, as written in ``source_system``."""
        ...

    def trust_for(self, field: str) -> float:
        """The source's trust (0..1) for a canonical field."""
        ...


Sources = Mapping[str, Mapping[str, float]] | Iterable[TrustSource]


def _trust_for(name: str, trust: Mapping[str, float], field: str) -> float:
    if field in trust:
        return trust[field]
    if DEFAULT_TRUST_KEY in trust:
        return trust[DEFAULT_TRUST_KEY]
    msg = f"source {name!r}: no trust for field {field!r} and no {DEFAULT_TRUST_KEY!r}"
    raise SourceTrustError(msg)


def authority_table(sources: Sources, *, fields: Sequence[str] = GOLDEN_FIELDS) -> pl.DataFrame:
    """One row per (source_system, field) with the source's configured trust.

    Accepts the ``trust:`` blocks by source name, or objects with ``.name`` and
    ``.trust_for(field)`` (the source configs), so callers and tests need not
    build full configs. Loops over the configuration, never over data rows.

    Example:
        >>> authority_table({"crm": {"default": 0.8, "tier": 0.7}}, fields=["name", "tier"]).rows()
        [('crm', 'name', 0.8), ('crm', 'tier', 0.7)]
    """
    lookups: list[tuple[str, Callable[[str], float]]]
    if isinstance(sources, Mapping):
        lookups = [(name, partial(_trust_for, name, trust)) for name, trust in sources.items()]
    else:
        lookups = [(s.name, s.trust_for) for s in sources]
    names = [name for name, _ in lookups]
    if len(names) != len(set(names)):
        msg = f"sources: duplicate source names in {names}"
        raise SourceTrustError(msg)
    rows = [(name, field, float(lookup(field))) for name, lookup in lookups for field in fields]
    for name, field, value in rows:
        if not 0.0 <= value <= 1.0:
            msg = f"source {name!r}: trust for field {field!r} is {value}, outside 0..1"
            raise SourceTrustError(msg)
    return pl.DataFrame(
        rows,
        schema={"source_system": pl.String, "field": pl.String, "authority": pl.Float64},
        orient="row",
    ).sort("source_system", "field")


def recency_expr(
    *, as_of: datetime | None, settings: SurvivorshipSettings, column: str = "source_updated_at"
) -> pl.Expr:
    """Recency factor of a timestamp column: exponential decay with a floor.

    A timestamp later than ``as_of`` counts as age 0; a null timestamp (or no
    ``as_of`` at all, when the run has no timestamps) gets the floor.

    Example:
        >>> from datetime import UTC, datetime
        >>> df = pl.DataFrame({"field": ["email"],
        ...                    "source_updated_at": [datetime(2023, 1, 1, tzinfo=UTC)]})
        >>> s = SurvivorshipSettings(recency_half_life_days=365)
        >>> df.select(recency_expr(as_of=datetime(2024, 1, 1, tzinfo=UTC), settings=s)).item()
        0.5
    """
    floor = pl.lit(settings.min_recency, dtype=pl.Float64)
    if as_of is None:
        return floor.alias("recency")
    age_days = (
        (pl.lit(as_of) - pl.col(column)).dt.total_microseconds() / MICROSECONDS_PER_DAY
    ).clip(lower_bound=0.0)
    half_life = pl.col("field").replace_strict(
        dict(settings.half_life_days_by_field),
        default=settings.recency_half_life_days,
        return_dtype=pl.Float64,
    )
    decay = pl.lit(HALF).pow(age_days / half_life)
    return (
        pl.when(pl.col(column).is_null())
        .then(floor)
        .otherwise(pl.max_horizontal(floor, decay))
        .alias("recency")
    )


def normalised_value(value: pl.Expr) -> pl.Expr:
    """The value as compared for corroboration: lower-cased, only letters and digits kept.

    Example:
        >>> pl.select(normalised_value(pl.lit(" Acme  Ltd. "))).item()
        'acmeltd'
    """
    return value.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", "")


def containment(candidates: pl.DataFrame, *, min_contained_chars: int) -> pl.DataFrame:
    """Per candidate: ``support`` and ``is_fragment``, in candidate order.

    ``support`` counts the *other* source systems in the cluster whose value,
    normalised, equals this one or (being at least ``min_contained_chars``
    long) is contained in it: a truncated address or a name without its legal
    form agrees with everything the complete value says, so it corroborates
    the complete value, not the reverse.

    ``is_fragment`` marks a value that is a proper part of another candidate's
    value for the same customer and field (from any source): 'Ember Trading'
    beside 'Ember Trading GmbH', '滨江区友谊路24号' beside the same address with
    its building and floor. Survivorship downgrades it for completeness.

    ``confirmed_at`` is the latest timestamp of any candidate (this one
    included) holding the same value or a part of it: a fresh export that
    repeats an address, even truncated, confirms that the address is still
    current, so the full address is as fresh as its freshest confirmation.
    """
    keyed = candidates.select(
        pl.int_range(pl.len()).alias("_row"),
        "unified_id",
        "field",
        "source_system",
        "source_updated_at",
        normalised_value(pl.col("value")).alias("_norm"),
    )
    others = keyed.select(
        "unified_id",
        "field",
        pl.col("source_system").alias("_other_system"),
        pl.col("_norm").alias("_other_norm"),
        pl.col("source_updated_at").alias("_other_at"),
    )
    equal = pl.col("_other_norm") == pl.col("_norm")
    other_is_part = (pl.col("_other_norm").str.len_chars() >= min_contained_chars) & pl.col(
        "_norm"
    ).str.contains(pl.col("_other_norm"), literal=True)
    is_part_of_other = (pl.col("_norm").str.len_chars() >= min_contained_chars) & pl.col(
        "_other_norm"
    ).str.contains(pl.col("_norm"), literal=True)
    other_source = pl.col("_other_system") != pl.col("source_system")
    relations = (
        keyed.join(others, on=["unified_id", "field"])
        .group_by("_row")
        .agg(
            pl.col("_other_system")
            .filter(other_source & (equal | other_is_part))
            .n_unique()
            .alias("support"),
            (~equal & is_part_of_other).any().alias("is_fragment"),
            pl.col("_other_at").filter(equal | other_is_part).max().alias("confirmed_at"),
        )
    )
    return (
        keyed.select("_row", "source_updated_at")
        .join(relations, on="_row", how="left", maintain_order="left")
        .select(
            pl.col("support").fill_null(0),
            pl.col("is_fragment").fill_null(False),
            pl.coalesce("confirmed_at", "source_updated_at").alias("confirmed_at"),
        )
    )


def score_candidates(
    candidates: pl.DataFrame,
    *,
    sources: Sources,
    settings: SurvivorshipSettings,
    as_of: datetime | None,
) -> pl.DataFrame:
    """Add ``authority, recency, validity, corroboration`` and ``trust_score`` to candidates.

    Args:
        candidates: Long frame, one row per non-null candidate value, with
            ``CANDIDATE_COLUMNS`` (``valid`` is null for fields without validation).
        sources: Per-source trust (see ``authority_table``).
        settings: Decay, downgrade and corroboration parameters.
        as_of: The run's latest ``source_updated_at``; passed in, never the clock.

    Returns:
        The candidates with the four components and the trust score.

    Raises:
        SourceTrustError: A candidate's ``source_system`` has no trust configured.

    Example::

        scored = score_candidates(cands, sources={"crm": {"default": 0.8}},
                                  settings=SurvivorshipSettings(), as_of=latest)
    """
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        msg = f"candidates: missing columns {missing}"
        raise LineageError(msg)
    authority = authority_table(sources, fields=sorted(candidates["field"].unique()))
    unknown = sorted(set(candidates["source_system"].unique()) - set(authority["source_system"]))
    if unknown:
        msg = f"source_system {unknown} in the records has no trust configured"
        raise SourceTrustError(msg)
    relations = containment(candidates, min_contained_chars=settings.min_contained_chars)
    scored = (
        candidates.with_columns(
            relations["support"].alias("_support"),
            relations["is_fragment"].alias("_fragment"),
            relations["confirmed_at"],
        )
        .join(authority, on=["source_system", "field"], how="left")
        .with_columns(
            recency_expr(as_of=as_of, settings=settings, column="confirmed_at"),
            pl.when(pl.col("valid").not_())
            .then(pl.lit(settings.invalid_downgrade))
            .otherwise(pl.lit(1.0))
            .alias("validity"),
            pl.when(pl.col("_fragment"))
            .then(pl.lit(settings.fragment_downgrade))
            .otherwise(pl.lit(1.0))
            .alias("completeness"),
            (pl.col("_support") * settings.corroboration_bonus)
            .clip(upper_bound=settings.max_corroboration_bonus)
            .cast(pl.Float64)
            .alias("corroboration"),
        )
    )
    trust = (
        pl.col("authority")
        * pl.col("recency")
        * pl.col("validity")
        * pl.col("completeness")
        * (1 + pl.col("corroboration"))
    )
    return scored.drop("_support", "_fragment").with_columns(
        trust.clip(0.0, 1.0).round(settings.trust_decimals).alias("trust_score")
    )
