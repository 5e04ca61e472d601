"""Trust of every candidate value, as four auditable components and their product.

``trust_score = clip(authority * recency * validity * (1 + corroboration), 0, 1)``,
rounded to ``settings.trust_decimals``:

- ``authority``: the source's configured trust for the field (``trust:`` in the config);
- ``recency``: ``max(min_recency, 0.5 ** (age_days / half_life))``, age measured
  against ``as_of`` (the run's latest ``source_updated_at``, never the wall clock,
  so identical inputs give identical trust); a missing timestamp gets ``min_recency``;
- ``validity``: ``invalid_downgrade`` when the value failed validation, else 1;
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
TRUST_COMPONENTS: tuple[str, ...] = ("authority", "recency", "validity", "corroboration")


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


def recency_expr(*, as_of: datetime | None, settings: SurvivorshipSettings) -> pl.Expr:
    """Recency factor of ``source_updated_at``: exponential decay with a floor.

    A timestamp later than ``as_of`` counts as age 0; a null timestamp (or no
    ``as_of`` at all, when the run has no timestamps) gets the floor.

    Example:
        >>> from datetime import UTC, datetime
        >>> df = pl.DataFrame({"source_updated_at": [datetime(2023, 1, 1, tzinfo=UTC)]})
        >>> s = SurvivorshipSettings(recency_half_life_days=365)
        >>> df.select(recency_expr(as_of=datetime(2024, 1, 1, tzinfo=UTC), settings=s)).item()
        0.5
    """
    floor = pl.lit(settings.min_recency, dtype=pl.Float64)
    if as_of is None:
        return floor.alias("recency")
    age_days = (
        (pl.lit(as_of) - pl.col("source_updated_at")).dt.total_microseconds() / MICROSECONDS_PER_DAY
    ).clip(lower_bound=0.0)
    decay = pl.lit(HALF).pow(age_days / settings.recency_half_life_days)
    return (
        pl.when(pl.col("source_updated_at").is_null())
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


def supporting_sources(candidates: pl.DataFrame, *, min_contained_chars: int) -> pl.Series:
    """Per candidate, how many *other* source systems in its cluster support its value.

    Another source supports a value when its own value, normalised, is equal to
    it or (being at least ``min_contained_chars`` long) contained in it: a
    truncated address or a name without its legal form agrees with everything
    the complete value says, so it corroborates the complete value, not the
    reverse.
    """
    keyed = candidates.select(
        pl.int_range(pl.len()).alias("_row"),
        "unified_id",
        "field",
        "source_system",
        normalised_value(pl.col("value")).alias("_norm"),
    )
    others = keyed.select(
        "unified_id",
        "field",
        pl.col("source_system").alias("_other_system"),
        pl.col("_norm").alias("_other_norm"),
    )
    contained = pl.col("_norm").str.contains(pl.col("_other_norm"), literal=True)
    long_enough = pl.col("_other_norm").str.len_chars() >= min_contained_chars
    support = (
        keyed.join(others, on=["unified_id", "field"])
        .filter(
            (pl.col("_other_system") != pl.col("source_system"))
            & ((pl.col("_other_norm") == pl.col("_norm")) | (long_enough & contained))
        )
        .group_by("_row")
        .agg(pl.col("_other_system").n_unique().alias("support"))
    )
    counted = keyed.select("_row").join(support, on="_row", how="left", maintain_order="left")
    return counted["support"].fill_null(0)


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
    other_sources = supporting_sources(candidates, min_contained_chars=settings.min_contained_chars)
    scored = candidates.with_columns(other_sources.alias("_support")).join(authority, on=["source_system", "field"], how="left").with_columns(
        recency_expr(as_of=as_of, settings=settings),
        pl.when(pl.col("valid").not_())
        .then(pl.lit(settings.invalid_downgrade))
        .otherwise(pl.lit(1.0))
        .alias("validity"),
        (pl.col("_support") * settings.corroboration_bonus)
        .clip(upper_bound=settings.max_corroboration_bonus)
        .cast(pl.Float64)
        .alias("corroboration"),
    )
    trust = (
        pl.col("authority") * pl.col("recency") * pl.col("validity") * (1 + pl.col("corroboration"))
    )
    return scored.drop("_support").with_columns(
        trust.clip(0.0, 1.0).round(settings.trust_decimals).alias("trust_score")
    )
