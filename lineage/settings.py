"""Survivorship settings: every threshold of the golden-record step, in one frozen object.

The object is stored with the run (``settings.model_dump_json()``), so a golden
record can be reproduced, and explained, from the inputs plus this JSON.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.canonical import GOLDEN_FIELDS
from connectors.errors import FusionError
from lineage.survivorship import DEFAULT_RULE, RULES


class LineageError(FusionError):
    """Base of the errors the lineage step raises on bad input or configuration."""


def _address_parts() -> dict[str, tuple[str, ...]]:
    """Default dependent fields: the parts of an address follow the winning address."""
    return {"address": ("postcode", "city", "region")}


class SurvivorshipSettings(BaseModel):
    """How candidate values are scored and which one survives into the golden record.

    Attributes:
        recency_half_life_days: Age, in days before the run's latest source
            timestamp, at which a value keeps half of its recency (exponential decay).
        min_recency: Floor of the recency factor: a very old value, or one without
            a timestamp, still keeps this share of its source's trust.
        invalid_downgrade: Factor applied to a value whose validation failed
            (``email_valid``/``phone_valid``/``tax_id_valid`` false): a wrong-looking
            phone may still be the only one, but should lose to a valid one.
        corroboration_bonus: Relative bonus per additional distinct source system
            in the same cluster holding the same normalised value.
        max_corroboration_bonus: Cap of the summed corroboration bonus; the final
            trust is clipped to 1.0 anyway.
        half_life_days_by_field: Per-field half-life overriding
            ``recency_half_life_days``: a company's registered name or tax id does
            not go stale the way a phone number or an e-mail address does
            (Informatica keeps a decay period per field for the same reason).
        fragment_downgrade: Factor applied to a value that is a proper part of
            another candidate's value for the same customer (a truncated address,
            a name without its legal form): the complete value should win.
        min_contained_chars: A shorter value from another source supports a value
            that contains it (a truncated address supports the full one) only when
            it has at least this many letters and digits; shorter fragments prove
            nothing.
        trust_decimals: Candidate and record trust scores are rounded to this many
            decimals, so float noise never decides a winner and the ties an auditor
            sees are real ties (broken by the documented tie-break chain).
        dependent_fields: Leader field -> fields that belong to it. A follower is
            taken from the record of the leader's winning value whenever that record
            has it, so postcode/city/region never mix two addresses.
        rules: Golden field -> survivorship rule name (a key of
            ``lineage.survivorship.RULES``). Fields left out use ``highest_trust``;
            the stored settings always list every field.

    Example:
        >>> s = SurvivorshipSettings(rules={"tier": "most_recent"})
        >>> s.rules["tier"], s.rules["name"]
        ('most_recent', 'highest_trust')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    recency_half_life_days: float = Field(default=365.0, gt=0)
    min_recency: float = Field(default=0.02, ge=0, le=1)
    invalid_downgrade: float = Field(default=0.5, ge=0, le=1)
    corroboration_bonus: float = Field(default=0.1, ge=0)
    max_corroboration_bonus: float = Field(default=0.2, ge=0)
    trust_decimals: int = Field(default=4, ge=1, le=12)
    min_contained_chars: int = Field(default=4, ge=1)
    fragment_downgrade: float = Field(default=0.8, ge=0, le=1)
    half_life_days_by_field: dict[str, float] = Field(
        default_factory=lambda: {
            "customer_type": 3650.0,
            "name": 3650.0,
            "tax_id": 3650.0,
            "country": 3650.0,
            "industry": 1825.0,
            "size_band": 1095.0,
            "contact_name": 1095.0,
            "tier": 730.0,
        }
    )
    dependent_fields: dict[str, tuple[str, ...]] = Field(default_factory=_address_parts)
    rules: dict[str, str] = Field(default_factory=dict, validate_default=True)

    @field_validator("rules")
    @classmethod
    def _complete_rules(cls, rules: dict[str, str]) -> dict[str, str]:
        unknown_fields = sorted(set(rules) - set(GOLDEN_FIELDS))
        if unknown_fields:
            msg = f"rules: unknown fields {unknown_fields}; golden fields are {list(GOLDEN_FIELDS)}"
            raise ValueError(msg)
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
        named = sorted(set(dependent_fields) | set(followers))
        unknown = [f for f in named if f not in GOLDEN_FIELDS]
        if unknown:
            msg = f"dependent_fields: unknown fields {unknown}"
            raise ValueError(msg)
        if len(followers) != len(set(followers)):
            msg = f"dependent_fields: a field follows two leaders in {dict(dependent_fields)}"
            raise ValueError(msg)
        chained = sorted(set(followers) & set(dependent_fields))
        if chained:
            msg = f"dependent_fields: {chained} are both leader and follower (no chains)"
            raise ValueError(msg)
        return dict(dependent_fields)
