"""Trust of every candidate value, as auditable components and their product.

``trust_score = clip(authority * recency * validity * completeness * (1 + corroboration), 0, 1)``,
rounded to ``settings.trust_decimals``. Every component, and every input of a
component, is stored with the candidate, so an auditor can recompute it by hand:

- ``authority``: the source's maximum trust for the field (``trust:`` in the source config);
- ``recency``: ``(min_trust + (authority - min_trust) * curve(age_days / decay_days)) / authority``
  (1 when ``authority`` is 0), where ``min_trust``, ``decay_curve`` and ``decay_days`` come
  from ``survivorship:`` (see ``SurvivorshipSettings.decay_for``), and ``curve(x)`` is

  - ``linear``: ``max(0, 1 - x)``;
  - ``slow_initial_rapid_later``: ``max(0, 1 - x**2)``;
  - ``rapid_initial_slow_later``: ``0.5 ** x`` (exponential; ``decay_days`` is the half-life).

  ``age_days`` is the age of ``confirmed_at`` (the latest source repeating the value
  or a part of it; see ``containment``) against ``as_of``, floored at 0; a value
  without any timestamp has no age and gets ``curve = 0``. ``as_of`` is the run
  clock (``pipelines.clock``: the run's start day unless pinned), stored with the
  run in ``run_settings.as_of``, so a rerun with the same clock gives identical
  trust. It is never taken from the data: one source row dated 9999-12-31 would
  otherwise make every other value old. Source timestamps outside the run's
  window are dropped before scoring (``connectors.time_window``);
- ``validity``: the product of the downgrades in ``validation_issues``:
  ``invalid_downgrade`` when the value failed standardisation's validation,
  ``placeholder_downgrade`` when it matches a placeholder pattern;
- ``completeness``: ``fragment_downgrade`` when the value is a proper part of
  another candidate's value for the same customer and field, else 1;
- ``corroboration``: ``corroboration_bonus`` per distinct *other* source system in
  the cluster supporting the value (same value, or a shorter value it contains,
  compared lower-cased on letters and digits only), capped at ``max_corroboration_bonus``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol, runtime_checkable

import polars as pl

from connectors.canonical import GOLDEN_FIELDS
from lineage.containment import containment
from lineage.containment import normalised_value as normalised_value  # its importers read it here
from lineage.settings import DEFAULT_KEY, LineageError, SurvivorshipSettings

DEFAULT_TRUST_KEY = DEFAULT_KEY
MICROSECONDS_PER_DAY = 86_400 * 1_000_000
HALF = 0.5  # the exponential curve's factor at an age of one decay period (its half-life)
AGE_DECIMALS = 6  # age_days is stored rounded; recency is computed from the stored value

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
# The inputs of the components, stored beside them.
TRUST_INPUTS: tuple[str, ...] = (
    "min_trust",
    "decay_curve",
    "decay_days",
    "age_days",
    "validation_issues",
)
PROFILE_SCHEMA: dict[str, pl.DataType] = {
    "source_system": pl.String(),
    "field": pl.String(),
    "authority": pl.Float64(),
    "min_trust": pl.Float64(),
    "decay_curve": pl.String(),
    "decay_days": pl.Float64(),
}


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


def _lookups(sources: Sources) -> list[tuple[str, Callable[[str], float]]]:
    lookups: list[tuple[str, Callable[[str], float]]]
    if isinstance(sources, Mapping):
        lookups = [(name, partial(_trust_for, name, trust)) for name, trust in sources.items()]
    else:
        lookups = [(s.name, s.trust_for) for s in sources]
    names = [name for name, _ in lookups]
    if len(names) != len(set(names)):
        msg = f"sources: duplicate source names in {names}"
        raise SourceTrustError(msg)
    return lookups


def source_names(sources: Sources) -> list[str]:
    """The configured source names, in configuration order."""
    return [name for name, _ in _lookups(sources)]


def authority_table(sources: Sources, *, fields: Sequence[str] = GOLDEN_FIELDS) -> pl.DataFrame:
    """One row per (source_system, field) with the source's configured (maximum) trust.

    Accepts the ``trust:`` blocks by source name, or objects with ``.name`` and
    ``.trust_for(field)`` (the source configs), so callers and tests need not
    build full configs. Loops over the configuration, never over data rows.

    Example:
        >>> authority_table({"crm": {"default": 0.8, "tier": 0.7}}, fields=["name", "tier"]).rows()
        [('crm', 'name', 0.8), ('crm', 'tier', 0.7)]
    """
    rows = [
        (name, field, float(lookup(field)))
        for name, lookup in _lookups(sources)
        for field in fields
    ]
    for name, field, value in rows:
        if not 0.0 <= value <= 1.0:
            msg = f"source {name!r}: trust for field {field!r} is {value}, outside 0..1"
            raise SourceTrustError(msg)
    return pl.DataFrame(
        rows,
        schema={"source_system": pl.String, "field": pl.String, "authority": pl.Float64},
        orient="row",
    ).sort("source_system", "field")


def check_source_names(sources: Sources, *, settings: SurvivorshipSettings) -> None:
    """Fail when ``survivorship:`` names a source that is not configured (a typo would
    otherwise silently lock a field to nothing or leave a priority list unused)."""
    configured = source_names(sources)
    unknown = sorted(settings.source_names() - set(configured))
    if unknown:
        msg = f"survivorship: unknown source(s) {unknown}; configured sources are {configured}"
        raise SourceTrustError(msg)


def trust_profiles(
    sources: Sources, *, settings: SurvivorshipSettings, fields: Sequence[str] = GOLDEN_FIELDS
) -> pl.DataFrame:
    """Per (source_system, field): maximum trust (``authority``), minimum trust and decay.

    Example:
        >>> s = SurvivorshipSettings(sources={"crm": {"min_trust": {"default": 0.2},
        ...                                            "decay": {"curve": "linear"}}})
        >>> trust_profiles({"crm": {"default": 0.8}}, settings=s, fields=["email"]).rows()
        [('crm', 'email', 0.8, 0.2, 'linear', 365.0)]
    """
    check_source_names(sources, settings=settings)
    rows = []
    for name, field, authority in authority_table(sources, fields=fields).iter_rows():
        minimum = settings.min_trust_for(name, field, max_trust=authority)
        if minimum > authority:
            msg = (
                f"survivorship: key 'sources.{name}.min_trust': {minimum} for field {field!r} "
                f"is above the source's maximum trust {authority}"
            )
            raise SourceTrustError(msg)
        curve, days = settings.decay_for(name, field)
        rows.append((name, field, authority, minimum, curve, days))
    return pl.DataFrame(rows, schema=PROFILE_SCHEMA, orient="row")


def decay_curve_expr(curve: pl.Expr, x: pl.Expr) -> pl.Expr:
    """The share (1 -> 0) of the trust range kept at ``x`` decay periods of age.

    Example:
        >>> df = pl.DataFrame({"c": ["linear", "slow_initial_rapid_later",
        ...                          "rapid_initial_slow_later"], "x": [0.5, 0.5, 0.5]})
        >>> df.select(decay_curve_expr(pl.col("c"), pl.col("x")).round(4)).to_series().to_list()
        [0.5, 0.75, 0.7071]
    """
    return (
        pl.when(curve == "linear")
        .then((1.0 - x).clip(lower_bound=0.0))
        .when(curve == "slow_initial_rapid_later")
        .then((1.0 - x.pow(2)).clip(lower_bound=0.0))
        .otherwise(pl.lit(HALF).pow(x))
    )


def age_days_expr(*, as_of: datetime | None, column: str = "confirmed_at") -> pl.Expr:
    """Age in days of a timestamp column against ``as_of``; null without a timestamp.

    A timestamp later than ``as_of`` counts as age 0.
    """
    if as_of is None:
        return pl.lit(None, dtype=pl.Float64).alias("age_days")
    age = (pl.lit(as_of) - pl.col(column)).dt.total_microseconds() / MICROSECONDS_PER_DAY
    return age.clip(lower_bound=0.0).round(AGE_DECIMALS).alias("age_days")


def recency_expr() -> pl.Expr:
    """Recency from the stored columns ``authority, min_trust, decay_curve, decay_days, age_days``.

    Example:
        >>> df = pl.DataFrame({"authority": [0.8], "min_trust": [0.2], "decay_curve": ["linear"],
        ...                    "decay_days": [100.0], "age_days": [50.0]})
        >>> df.select(recency_expr()).item()  # (0.2 + 0.6 * 0.5) / 0.8
        0.625
    """
    share = (
        pl.when(pl.col("age_days").is_null())
        .then(pl.lit(0.0))
        .otherwise(
            decay_curve_expr(pl.col("decay_curve"), pl.col("age_days") / pl.col("decay_days"))
        )
    )
    timed = pl.col("min_trust") + (pl.col("authority") - pl.col("min_trust")) * share
    return (
        pl.when(pl.col("authority") > 0)
        .then(timed / pl.col("authority"))
        .otherwise(pl.lit(1.0))
        .alias("recency")
    )


def _combined_pattern(patterns: Iterable[str]) -> str:
    return "(?i)^(?:" + "|".join(f"(?:{p})" for p in patterns) + ")$"


def placeholder_expr(*, settings: SurvivorshipSettings) -> pl.Expr:
    """True where the value matches its field's (or the default) placeholder patterns.

    Example:
        >>> df = pl.DataFrame({"field": ["email", "email", "phone"],
        ...                    "value": ["noreply@acme.cn", "li@acme.cn", "+8613333333333"]})
        >>> df.select(placeholder_expr(settings=SurvivorshipSettings())).to_series().to_list()
        [True, False, True]
    """
    default = settings.placeholder_patterns.get(DEFAULT_KEY, ())
    expr: pl.Expr = (
        pl.col("value").str.contains(_combined_pattern(default)) if default else pl.lit(False)
    )
    for field, patterns in sorted(settings.placeholder_patterns.items()):
        if field == DEFAULT_KEY or not patterns:
            continue
        own = pl.col("value").str.contains(_combined_pattern((*patterns, *default)))
        expr = pl.when(pl.col("field") == field).then(own).otherwise(expr)
    return expr.fill_null(False)


def _validation(settings: SurvivorshipSettings) -> tuple[pl.Expr, pl.Expr]:
    """``validity`` (product of the downgrades) and ``validation_issues`` (their names)."""
    invalid = pl.col("valid").not_().fill_null(False)
    placeholder = placeholder_expr(settings=settings)
    validity = pl.when(invalid).then(settings.invalid_downgrade).otherwise(1.0) * pl.when(
        placeholder
    ).then(settings.placeholder_downgrade).otherwise(1.0)
    issues = pl.concat_str(
        pl.when(invalid).then(pl.format("invalid {}", pl.col("field"))),
        pl.when(placeholder).then(pl.lit("placeholder")),
        separator="; ",
        ignore_nulls=True,
    )
    return (
        validity.cast(pl.Float64).alias("validity"),
        pl.when(issues != "").then(issues).alias("validation_issues"),
    )


def score_candidates(
    candidates: pl.DataFrame,
    *,
    sources: Sources,
    settings: SurvivorshipSettings,
    as_of: datetime | None,
) -> pl.DataFrame:
    """Add the trust components, their inputs and ``trust_score`` to the candidates.

    Args:
        candidates: Long frame, one row per non-null candidate value, with
            ``CANDIDATE_COLUMNS`` (``valid`` is null for fields without validation).
        sources: Per-source maximum trust (see ``authority_table``).
        settings: Minimum trust, decay, downgrade and corroboration parameters.
        as_of: The run clock (``pipelines.clock``): stored with the run, so never the
            wall clock of the moment scoring happens, and never taken from the data.

    Returns:
        The candidates with ``confirmed_at``, ``TRUST_COMPONENTS``, ``TRUST_INPUTS``
        and ``trust_score``.

    Raises:
        SourceTrustError: A candidate's ``source_system`` has no trust configured, or
            the trust settings are inconsistent (minimum above maximum, unknown source).

    Example::

        scored = score_candidates(cands, sources={"crm": {"default": 0.8}},
                                  settings=SurvivorshipSettings(), as_of=latest)
    """
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        msg = f"candidates: missing columns {missing}"
        raise LineageError(msg)
    profiles = trust_profiles(
        sources, settings=settings, fields=sorted(candidates["field"].unique())
    )
    unknown = sorted(set(candidates["source_system"].unique()) - set(profiles["source_system"]))
    if unknown:
        msg = f"source_system {unknown} in the records has no trust configured"
        raise SourceTrustError(msg)
    relations = containment(candidates, min_contained_chars=settings.min_contained_chars)
    validity, issues = _validation(settings)
    scored = (
        candidates.with_columns(
            relations["support"].alias("_support"),
            relations["is_fragment"].alias("_fragment"),
            relations["confirmed_at"],
        )
        .join(profiles, on=["source_system", "field"], how="left")
        .with_columns(age_days_expr(as_of=as_of, column="confirmed_at"), validity, issues)
        .with_columns(
            recency_expr(),
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
