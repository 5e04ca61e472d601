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
    assert s.recency_half_life_days == 365
    assert s.min_recency == 0.02
    assert s.invalid_downgrade == 0.5
    assert s.corroboration_bonus == 0.1
    assert s.max_corroboration_bonus == 0.2
    assert s.trust_decimals == 4
    assert s.dependent_fields == {"address": ("postcode", "city", "region")}
    assert s.rules == dict.fromkeys(GOLDEN_FIELDS, "highest_trust")


def test_json_round_trip_lists_every_rule() -> None:
    s = SurvivorshipSettings(rules={"tier": "most_recent"}, recency_half_life_days=180)
    restored = SurvivorshipSettings.model_validate_json(s.model_dump_json())
    assert restored == s
    assert restored.rules["tier"] == "most_recent"
    assert restored.rules["name"] == "highest_trust"
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
        ({"recency_half_life_days": 0}, "greater than 0"),
        ({"min_recency": 1.5}, "less than or equal to 1"),
        ({"invalid_downgrade": -0.1}, "greater than or equal to 0"),
        ({"half_life": 30}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        SurvivorshipSettings(**kwargs)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_registered_rule_is_accepted(rule: str) -> None:
    assert SurvivorshipSettings(rules={"name": rule}).rules["name"] == rule


@pytest.mark.parametrize("module", ["lineage.settings", "lineage.survivorship", "lineage.trust"])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
