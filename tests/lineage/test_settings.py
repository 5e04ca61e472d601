"""SurvivorshipSettings: documented defaults, JSON round trip, and loud validation."""

from __future__ import annotations

import doctest
import importlib
from typing import Any

import pydantic
import pytest

from connectors.canonical import GOLDEN_FIELDS
from lineage import RULES, SurvivorshipSettings


def test_defaults_match_the_design() -> None:
    s = SurvivorshipSettings()
    assert (s.decay.curve, s.decay.days) == ("rapid_initial_slow_later", 365)
    assert s.decay_by_field["name"].days == 3650
    assert s.decay_by_field["name"].curve is None  # inherits the default curve
    assert s.min_recency == 0.02
    assert s.invalid_downgrade == 0.5
    assert s.placeholder_downgrade == 0.1
    assert s.contact_point_fields == ("email", "phone")
    assert s.field_locks == {}
    assert s.source_priority == {}
    assert s.corroboration_bonus == 0.1
    assert s.max_corroboration_bonus == 0.2
    assert s.trust_decimals == 4
    assert s.dependent_fields == {"address": ("postcode", "city", "region")}
    assert s.rules == dict.fromkeys(GOLDEN_FIELDS, "highest_trust")


def test_json_round_trip_lists_every_rule() -> None:
    s = SurvivorshipSettings(
        rules={"tier": "most_recent", "name": "source_priority"},
        decay={"curve": "linear", "days": 180},
        sources={"crm": {"min_trust": {"default": 0.1}, "decay": {"curve": "exponential"}}},
        source_priority={"default": ["erp", "crm"]},
        field_locks={"tier": ["erp"]},
    )
    restored = SurvivorshipSettings.model_validate_json(s.model_dump_json())
    assert restored == s
    assert restored.rules["tier"] == "most_recent"
    assert restored.rules["name"] == "source_priority"
    assert restored.rules["email"] == "highest_trust"
    assert restored.sources["crm"].decay.curve == "rapid_initial_slow_later"
    assert list(restored.rules) == list(GOLDEN_FIELDS)


def test_settings_are_frozen() -> None:
    s = SurvivorshipSettings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        s.min_recency = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rules": {"tier": "coin_flip"}}, "unknown rule 'coin_flip'"),
        ({"rules": {"shoe_size": "highest_trust"}}, "unknown fields \\['shoe_size'\\]"),
        ({"dependent_fields": {"address": ("planet",)}}, "unknown fields \\['planet'\\]"),
        (
            {"dependent_fields": {"address": ("city",), "name": ("city",)}},
            "a field follows two leaders",
        ),
        ({"dependent_fields": {"address": ("city",), "city": ("region",)}}, "no chains"),
        ({"dependent_fields": {"address": ("address",)}}, "no chains"),
        ({"decay": {"curve": "linear", "days": 0}}, "greater than 0"),
        ({"decay": {"curve": "linear"}}, "needs both 'curve' and 'days'"),
        ({"decay": {"curve": "sigmoid", "days": 30}}, "Input should be 'linear'"),
        ({"decay_by_field": {"shoe_size": {"days": 3}}}, "unknown fields \\['shoe_size'\\]"),
        ({"min_recency": 1.5}, "less than or equal to 1"),
        ({"invalid_downgrade": -0.1}, "greater than or equal to 0"),
        ({"placeholder_downgrade": 2}, "less than or equal to 1"),
        ({"placeholder_patterns": {"email": ["(a)\\1"]}}, "backreferences are not supported"),
        ({"placeholder_patterns": {"planet": ["x"]}}, "unknown fields \\['planet'\\]"),
        ({"sources": {"crm": {"min_trust": {"default": 1.5}}}}, "within 0..1"),
        ({"sources": {"crm": {"min_trust": {"shoe": 0.1}}}}, "unknown fields \\['shoe'\\]"),
        ({"sources": {"crm": {"half_life": 3}}}, "Extra inputs are not permitted"),
        ({"rules": {"tier": "source_priority"}}, "lists no order for them"),
        ({"source_priority": {"tier": ["erp", "erp"]}}, "listed twice"),
        ({"field_locks": {"tier": []}}, "must name at least one source"),
        ({"field_locks": {"shoe": ["erp"]}}, "unknown fields \\['shoe'\\]"),
        ({"contact_point_fields": ["fax"]}, "unknown fields \\['fax'\\]"),
        ({"half_life": 30}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        SurvivorshipSettings(**kwargs)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_registered_rule_is_accepted(rule: str) -> None:
    settings = SurvivorshipSettings(rules={"name": rule}, source_priority={"default": ["erp"]})
    assert settings.rules["name"] == rule


def test_rules_match_the_issue() -> None:
    assert set(RULES) == {
        "highest_trust", "most_recent", "oldest", "source_priority", "most_frequent", "longest",
    }  # fmt: skip


@pytest.mark.parametrize(
    "module", ["lineage.settings", "lineage.survivorship", "lineage.trust", "lineage.masking"]
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
