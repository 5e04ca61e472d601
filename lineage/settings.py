"""Survivorship settings: every threshold of the golden-record step, in one frozen object.

The object is stored with the run (``settings.model_dump_json()``), so a golden
record can be reproduced, and explained, from the inputs plus this JSON. In the
run config it is the ``survivorship:`` section, e.g.::

    survivorship:
      decay: {curve: rapid_initial_slow_later, days: 365}   # the default profile
      decay_by_field: {phone: {curve: linear, days: 1460}}
      sources:                       # per source, keyed by the source's name
        tickets:
          min_trust: {default: 0.05}
          decay: {curve: slow_initial_rapid_later, days: 730}
      rules: {tier: source_priority, size_band: most_frequent, address: longest}
      source_priority: {default: [erp, crm, ecommerce, tickets]}
      field_locks: {tier: [erp]}     # tier only ever comes from the ERP

A source's *maximum* trust per field is its ``trust:`` block in the source config
(``{default: 0.85, tier: 0.95}``); everything else about trust lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.canonical import GOLDEN_FIELDS
from connectors.errors import FusionError
from lineage.survivorship import DEFAULT_RULE, RULES

DEFAULT_KEY = "default"
# How trust decays with age, from the maximum to the minimum trust (Informatica's three curves).
DecayCurve = Literal["linear", "rapid_initial_slow_later", "slow_initial_rapid_later"]
CURVE_ALIASES: dict[str, str] = {"exponential": "rapid_initial_slow_later"}


class LineageError(FusionError):
    """Base of the errors the lineage step raises on bad input or configuration."""


def _address_parts() -> dict[str, tuple[str, ...]]:
    """Default dependent fields: the parts of an address follow the winning address."""
    return {"address": ("postcode", "city", "region")}


def _check_fields(names: object, *, key: str, allow_default: bool = False) -> None:
    allowed = set(GOLDEN_FIELDS) | ({DEFAULT_KEY} if allow_default else set())
    unknown = sorted(set(names) - allowed) if isinstance(names, Mapping | list | tuple) else []
    if unknown:
        extra = f" or {DEFAULT_KEY!r}" if allow_default else ""
        msg = f"{key}: unknown fields {unknown}; golden fields are {list(GOLDEN_FIELDS)}{extra}"
        raise ValueError(msg)


class DecaySpec(BaseModel):
    """How a value's trust decays with age; unset parts come from the next, broader level.

    Attributes:
        curve: ``linear`` (reaches the minimum at ``days``), ``slow_initial_rapid_later``
            (``1 - x**2``, reaches the minimum at ``days``) or ``rapid_initial_slow_later``
            (exponential, alias ``exponential``: halves every ``days``, approaching the
            minimum without reaching it).
        days: The decay period in days (the half-life for the exponential curve).

    Example:
        >>> DecaySpec(curve="exponential", days=30).curve
        'rapid_initial_slow_later'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    curve: DecayCurve | None = None
    days: float | None = Field(default=None, gt=0)

    @field_validator("curve", mode="before")
    @classmethod
    def _alias(cls, value: object) -> object:
        return CURVE_ALIASES.get(value, value) if isinstance(value, str) else value


class SourceTrustSettings(BaseModel):
    """Trust settings of one source (``survivorship.sources.<name>``).

    Attributes:
        min_trust: Field (or ``default``) -> the trust a value of this source keeps
            however old it is; at most the source's maximum trust for the field.
            Fields not listed keep ``min_recency`` times the maximum.
        decay: The decay of every field of this source (overrides the global
            per-field decay; ``decay_by_field`` here overrides it).
        decay_by_field: Field -> decay, the most specific level.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_trust: dict[str, float] = Field(default_factory=dict)
    decay: DecaySpec = Field(default_factory=DecaySpec)
    decay_by_field: dict[str, DecaySpec] = Field(default_factory=dict)

    @field_validator("min_trust")
    @classmethod
    def _check_min_trust(cls, value: dict[str, float]) -> dict[str, float]:
        _check_fields(value, key="min_trust", allow_default=True)
        outside = {k: v for k, v in value.items() if not 0.0 <= v <= 1.0}
        if outside:
            msg = f"min_trust: values must be within 0..1, got {outside}"
            raise ValueError(msg)
        return value

    @field_validator("decay_by_field")
    @classmethod
    def _check_decay_fields(cls, value: dict[str, DecaySpec]) -> dict[str, DecaySpec]:
        _check_fields(value, key="decay_by_field")
        return value


def _default_placeholders() -> dict[str, tuple[str, ...]]:
    """Values that mean "unknown", as full-match, case-insensitive regular expressions.

    Standardisation already nulls the common ones ('N/A', '000000', 'test@test.com');
    these also catch what slips through (a no-reply mailbox, a phone of repeated
    digits), so such a value can only win when nothing better exists.
    """
    repeated_digit = "|".join(f"{d}{{7}}" for d in range(10))
    return {
        DEFAULT_KEY: (
            r"n/?a|-+|\.+|\?+|null|none|nil|unknown|tbd|test|x+|0+|无|未知|暂无|不详|待定",
        ),
        "email": (
            r"(test|noreply|no-reply|donotreply|do-not-reply|none|null|nobody|unknown|na)@.*",
            r".*@(example|test)\.(com|org|net)",
        ),
        "phone": (rf"\+?\d*({repeated_digit})\d*", r"\+?\d*12345678\d*"),
        "name": (r"(test|测试)\s*(customer|company|客户|公司)?",),
    }


def _default_decay_by_field() -> dict[str, DecaySpec]:
    # A registered name or tax id does not go stale the way a phone or an e-mail does.
    days = {
        "customer_type": 3650.0,
        "name": 3650.0,
        "tax_id": 3650.0,
        "country": 3650.0,
        "industry": 1825.0,
        "size_band": 1095.0,
        "contact_name": 1095.0,
        "tier": 730.0,
    }
    return {field: DecaySpec(days=d) for field, d in days.items()}


class SurvivorshipSettings(BaseModel):
    """How candidate values are scored and which one survives into the golden record.

    Attributes:
        decay: The default decay profile; must name both curve and days.
        decay_by_field: Per-field decay overriding ``decay`` (Informatica keeps a
            decay period per field for the same reason: names age slowly, phones fast).
            Resolution, per attribute, most specific first: ``sources.<s>.decay_by_field``,
            ``sources.<s>.decay``, ``decay_by_field``, ``decay``.
        min_recency: Default minimum trust as a share of the maximum: a very old
            value, or one without a timestamp, keeps this share of its source's trust.
        sources: Per-source minimum trust and decay, keyed by source name.
        invalid_downgrade: Factor applied to a value whose validation failed
            (``email_valid``/``phone_valid``/``tax_id_valid``/``name_valid`` false):
            a wrong-looking phone may still be the only one, but should lose to a valid one.
        placeholder_downgrade: Factor applied to a value matching a placeholder pattern.
        placeholder_patterns: Field (or ``default``, for every field) -> regular
            expressions that match a whole placeholder value, case-insensitively.
        corroboration_bonus: Relative bonus per additional distinct source system
            in the same cluster holding the same normalised value.
        max_corroboration_bonus: Cap of the summed corroboration bonus; the final
            trust is clipped to 1.0 anyway.
        fragment_downgrade: Completeness factor of a value that is a proper part of
            another candidate's value for the same customer (a truncated address,
            a name without its legal form): the complete value should win.
        min_contained_chars: A shorter value supports a value that contains it only
            when it has at least this many letters and digits.
        trust_decimals: Candidate and record trust scores are rounded to this many
            decimals, so float noise never decides a winner and the ties an auditor
            sees are real ties (broken by the documented tie-break chain).
        dependent_fields: Leader field -> fields that belong to it. A follower is
            taken from the record of the leader's winning value whenever that record
            has it, so postcode/city/region never mix two addresses.
        rules: Golden field -> survivorship rule name (a key of
            ``lineage.survivorship.RULES``). Fields left out use ``highest_trust``;
            the stored settings always list every field.
        source_priority: Field (or ``default``) -> source names, most trusted first,
            for the ``source_priority`` rule; unlisted sources rank after listed ones.
        field_locks: Field -> the only sources its value may come from (a credit
            rating only from the ERP). Other sources' values are kept as losing
            candidates; with none from an allowed source the golden value is null.
        contact_point_fields: Fields aggregated into ``customer_contact_points``:
            every distinct value is kept with its sources, not only the winner.
        role_fields: Fields whose candidates are classified by role before
            survivorship (``lineage.roles``: main line vs mobile, legal vs short,
            translated or personal name, registered vs shipping or region-prefixed
            address); the rule then picks within the best role present. Empty turns
            roles off.
        agreement_min_sources: Distinct sources that must hold the same normalised
            value for it to count as agreed; an agreed value (or one from the field's
            most authoritative source) beats a lone value of a lesser source whatever
            their trust (``lineage.roles.agreement_expr``). Below 2: off.
        agreement_fields: Fields the agreement key applies to.
        agreement_window_days: Only records updated within this many days of the
            customer's latest record for the field count towards agreement: three
            old exports repeating a moved address agree on a stale value.
        common_spelling: After the winner is picked, a company's name is written the
            way most of its sources (then records) write the same name (``lineage.roles``'s variant
            key: 宏智管理咨询(广州)有限公司 and 广州宏智管理咨询有限公司, 'Acme Inc.'
            and 'Acme Incorporated' are one name). False keeps the winner's spelling.
        infer_company_type: A customer none of whose records has a ``customer_type``
            is a company when one of them names a contact person other than the
            record's own name (``lineage.inferred_type``: a company seen only in
            tickets). False leaves such customers' type empty.

    Example:
        >>> s = SurvivorshipSettings(rules={"tier": "most_recent"})
        >>> s.rules["tier"], s.rules["name"], s.decay.curve
        ('most_recent', 'highest_trust', 'rapid_initial_slow_later')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    decay: DecaySpec = Field(
        default_factory=lambda: DecaySpec(curve="rapid_initial_slow_later", days=365.0)
    )
    decay_by_field: dict[str, DecaySpec] = Field(default_factory=_default_decay_by_field)
    min_recency: float = Field(default=0.02, ge=0, le=1)
    sources: dict[str, SourceTrustSettings] = Field(default_factory=dict)
    invalid_downgrade: float = Field(default=0.5, ge=0, le=1)
    placeholder_downgrade: float = Field(default=0.1, ge=0, le=1)
    placeholder_patterns: dict[str, tuple[str, ...]] = Field(default_factory=_default_placeholders)
    corroboration_bonus: float = Field(default=0.1, ge=0)
    max_corroboration_bonus: float = Field(default=0.2, ge=0)
    trust_decimals: int = Field(default=4, ge=1, le=12)
    min_contained_chars: int = Field(default=4, ge=1)
    fragment_downgrade: float = Field(default=0.8, ge=0, le=1)
    dependent_fields: dict[str, tuple[str, ...]] = Field(default_factory=_address_parts)
    rules: dict[str, str] = Field(default_factory=dict, validate_default=True)
    source_priority: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    field_locks: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    contact_point_fields: tuple[str, ...] = ("email", "phone")
    role_fields: tuple[str, ...] = ("name", "phone", "address")
    agreement_min_sources: int = Field(default=2, ge=0)
    agreement_fields: tuple[str, ...] = ("name",)
    agreement_window_days: float = Field(default=365.0, ge=0)
    common_spelling: bool = True
    infer_company_type: bool = True

    @field_validator("decay")
    @classmethod
    def _complete_decay(cls, decay: DecaySpec) -> DecaySpec:
        if decay.curve is None or decay.days is None:
            msg = "decay: the default profile needs both 'curve' and 'days'"
            raise ValueError(msg)
        return decay

    @field_validator("decay_by_field", "contact_point_fields", "role_fields", "agreement_fields")
    @classmethod
    def _known_fields(cls, value: dict[str, DecaySpec]) -> dict[str, DecaySpec]:
        _check_fields(value, key="fields")
        return value

    @field_validator("placeholder_patterns")
    @classmethod
    def _compile_patterns(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        _check_fields(value, key="placeholder_patterns", allow_default=True)
        for field, patterns in value.items():
            for pattern in patterns:
                # Checked with the engine that applies them (Rust regex: no look-around).
                try:
                    pl.select(pl.lit("").str.contains(pattern))
                except pl.exceptions.ComputeError as error:
                    lines = [ln.strip() for ln in str(error).splitlines()]
                    first = next((ln for ln in lines if ln.startswith("error:")), lines[0])
                    msg = (
                        f"placeholder_patterns.{field}: bad regular expression {pattern!r}: {first}"
                    )
                    raise ValueError(msg) from None
        return value

    @field_validator("source_priority")
    @classmethod
    def _check_priority(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        _check_fields(value, key="source_priority", allow_default=True)
        for field, order in value.items():
            if len(order) != len(set(order)):
                msg = f"source_priority.{field}: a source is listed twice in {list(order)}"
                raise ValueError(msg)
        return value

    @field_validator("field_locks")
    @classmethod
    def _check_locks(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        _check_fields(value, key="field_locks")
        empty = sorted(f for f, allowed in value.items() if not allowed)
        if empty:
            msg = f"field_locks: {empty} must name at least one source"
            raise ValueError(msg)
        return value

    @field_validator("rules")
    @classmethod
    def _complete_rules(cls, rules: dict[str, str]) -> dict[str, str]:
        _check_fields(rules, key="rules")
        for field, rule in rules.items():
            if rule not in RULES:
                msg = f"rules: field {field!r} has unknown rule {rule!r}; known: {sorted(RULES)}"
                raise ValueError(msg)
        return {field: rules.get(field, DEFAULT_RULE) for field in GOLDEN_FIELDS}

    @field_validator("dependent_fields")
    @classmethod
    def _check_dependencies(
        cls, dependent_fields: Mapping[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        followers = [f for fs in dependent_fields.values() for f in fs]
        _check_fields(sorted(set(dependent_fields) | set(followers)), key="dependent_fields")
        if len(followers) != len(set(followers)):
            msg = f"dependent_fields: a field follows two leaders in {dict(dependent_fields)}"
            raise ValueError(msg)
        chained = sorted(set(followers) & set(dependent_fields))
        if chained:
            msg = f"dependent_fields: {chained} are both leader and follower (no chains)"
            raise ValueError(msg)
        return dict(dependent_fields)

    @model_validator(mode="after")
    def _priority_for_priority_rule(self) -> SurvivorshipSettings:
        missing = sorted(
            f
            for f, rule in self.rules.items()
            if rule == "source_priority"
            and f not in self.source_priority
            and DEFAULT_KEY not in self.source_priority
        )
        if missing:
            msg = (
                f"rules: {missing} use 'source_priority' but source_priority lists no order "
                f"for them (give one per field or a {DEFAULT_KEY!r} order)"
            )
            raise ValueError(msg)
        return self

    def source_names(self) -> set[str]:
        """Every source name these settings mention (checked against the configured sources)."""
        named = set(self.sources)
        for order in (*self.source_priority.values(), *self.field_locks.values()):
            named.update(order)
        return named

    def decay_for(self, source: str, field: str) -> tuple[str, float]:
        """The (curve, days) of one source's field, resolved attribute by attribute.

        Example:
            >>> s = SurvivorshipSettings(sources={"crm": {"decay": {"curve": "linear"}}})
            >>> s.decay_for("crm", "name"), s.decay_for("erp", "email")
            (('linear', 3650.0), ('rapid_initial_slow_later', 365.0))
        """
        own = self.sources.get(source, SourceTrustSettings())
        levels = (
            own.decay_by_field.get(field, DecaySpec()),
            own.decay,
            self.decay_by_field.get(field, DecaySpec()),
            self.decay,
        )
        curve = next(level.curve for level in levels if level.curve is not None)
        days = next(level.days for level in levels if level.days is not None)
        return curve, days

    def min_trust_for(self, source: str, field: str, *, max_trust: float) -> float:
        """The configured minimum trust, else ``min_recency`` times the maximum.

        Example:
            >>> s = SurvivorshipSettings(sources={"crm": {"min_trust": {"default": 0.1}}})
            >>> s.min_trust_for("crm", "email", max_trust=0.8), s.min_trust_for("erp", "email",
            ...                                                                 max_trust=0.5)
            (0.1, 0.01)
        """
        own = self.sources.get(source, SourceTrustSettings()).min_trust
        if field in own:
            return own[field]
        if DEFAULT_KEY in own:
            return own[DEFAULT_KEY]
        return max_trust * self.min_recency

    def priority_order(self, field: str) -> tuple[str, ...]:
        """The source priority of a field (its own list, else the default one, else none)."""
        return self.source_priority.get(field, self.source_priority.get(DEFAULT_KEY, ()))
