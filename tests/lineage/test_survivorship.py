"""Survivorship: winners per rule, the tie-break chain, dependent fields, and the reasons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from lineage import SurvivorshipSettings, score_candidates, select_winners
from lineage.survivorship import TRUST, rank_candidates, rank_keys, ranked_candidates

Builder = Callable[..., pl.DataFrame]
ALL_TIED = "tie on trust, source_updated_at, authority; "


def outcome(chosen: pl.DataFrame, field: str | None = None) -> tuple[str, dict[str, str | None]]:
    """(winning record id, {record id: lost_because}) of one field of U1 (default: its only one)."""
    of_u1 = chosen.filter(pl.col("unified_id") == "U1")
    field = field or of_u1["field"].unique().item()
    group = of_u1.filter(pl.col("field") == field)
    assert group["is_winner"].sum() == 1
    winner = group.filter("is_winner")["source_record_id"].item()
    return winner, dict(group.select("source_record_id", "lost_because").rows())


@pytest.mark.parametrize(
    ("older", "newer", "as_of", "lost_because"),
    [
        pytest.param(
            "2023-01-01",
            "2024-01-01",
            "2024-01-01",
            "lower trust 0.408 < 0.8",  # 0.8 * (0.02 + 0.98 * 0.5)
            id="one half-life apart",
        ),
        pytest.param(
            "2023-07-01",
            "2023-12-01",
            "2024-01-01",
            "lower trust 0.5688 < 0.7552",
            id="both decayed",
        ),
        pytest.param(
            "2010-01-01",
            "2012-01-01",
            "2030-01-01",
            "tie on trust; older (2010-01-01 < 2012-01-01)",
            id="both at the floor",
        ),
        pytest.param(
            "2024-05-02 09:59",
            "2024-05-02 10:00",
            "2024-05-02 10:00",
            "tie on trust; older (2024-05-02 09:59:00 < 2024-05-02 10:00:00)",
            id="a minute apart rounds to a tie",
        ),
        pytest.param(
            None,
            "2010-01-01",
            "2030-01-01",
            "tie on trust; older (unknown < 2010-01-01)",
            id="missing timestamp is oldest",
        ),
    ],
)
def test_equal_authority_fresher_value_wins(
    older: str | None,
    newer: str,
    as_of: str,
    lost_because: str,
    make_candidates: Builder,
    parse_ts: Callable[..., Any],
) -> None:
    candidates = make_candidates(
        [
            {"system": "crm", "id": "A-old", "value": "Acme", "at": older},
            {"system": "erp", "id": "B-new", "value": "Zenith Ltd", "at": newer},
        ]
    )
    scored = score_candidates(
        candidates,
        sources={"crm": {"default": 0.8}, "erp": {"default": 0.8}},
        settings=SurvivorshipSettings(),
        as_of=parse_ts(as_of),
    )
    winner, reasons = outcome(select_winners(scored, settings=SurvivorshipSettings()))
    assert winner == "B-new"
    assert reasons == {"B-new": None, "A-old": lost_because}


@pytest.mark.parametrize(
    ("strong_at", "expected_winner", "lost_because"),
    [
        # erp 0.9 one year old: 0.9 * (0.02 + 0.98 * 0.5) = 0.459 beats tickets 0.4 fresh.
        pytest.param("2023-01-01", "E1", "lower trust 0.4 < 0.459", id="authority wins"),
        # erp 0.9 two years old: 0.9 * (0.02 + 0.98 * 0.25) = 0.2385 loses to tickets 0.4 fresh.
        pytest.param("2022-01-01", "T1", "lower trust 0.2385 < 0.4", id="freshness wins"),
    ],
)
def test_authority_against_freshness_follows_trust(
    strong_at: str,
    expected_winner: str,
    lost_because: str,
    make_candidates: Builder,
) -> None:
    candidates = make_candidates(
        [
            {"system": "erp", "id": "E1", "value": "Acme", "at": strong_at},
            {"system": "tickets", "id": "T1", "value": "Zenith Co", "at": "2024-01-01"},
        ]
    )
    scored = score_candidates(
        candidates,
        sources={"erp": {"default": 0.9}, "tickets": {"default": 0.4}},
        settings=SurvivorshipSettings(),
        as_of=datetime(2024, 1, 1, tzinfo=UTC),
    )
    winner, reasons = outcome(select_winners(scored, settings=SurvivorshipSettings()))
    assert winner == expected_winner
    loser = next(k for k in reasons if k != expected_winner)
    assert reasons[loser] == lost_because


@pytest.mark.parametrize(
    ("rows", "winner", "lost_because"),
    [
        pytest.param(
            [
                ("crm", "C1", "2024-01-01", 0.9, 0.6),
                ("erp", "E1", "2024-01-01", 0.9, 0.5),
            ],
            "C1",
            {"E1": "lower trust 0.5 < 0.6"},
            id="higher trust",
        ),
        pytest.param(
            [
                ("crm", "C1", "2021-03-01", 0.9, 0.6),
                ("erp", "E1", "2024-05-02", 0.7, 0.6),
            ],
            "E1",
            {"C1": "tie on trust; older (2021-03-01 < 2024-05-02)"},
            id="then later timestamp, even against higher authority",
        ),
        pytest.param(
            [
                ("crm", "C1", "2024-01-01", 0.5, 0.3),
                ("erp", "E1", "2024-01-01", 0.6, 0.3),
            ],
            "E1",
            {"C1": "tie on trust, source_updated_at; lower authority 0.5 < 0.6"},
            id="then higher authority",
        ),
        pytest.param(
            [
                ("crm", "C1", None, 0.5, 0.3),
                ("erp", "E1", None, 0.6, 0.3),
            ],
            "E1",
            {"C1": "tie on trust, source_updated_at; lower authority 0.5 < 0.6"},
            id="two missing timestamps tie",
        ),
        pytest.param(
            [
                ("crm", "C2", "2024-01-01", 0.8, 0.8),
                ("crm", "C10", "2024-01-01", 0.8, 0.8),
                ("crm", "C1", "2024-01-01", 0.8, 0.8),
            ],
            "C1",
            {
                "C10": ALL_TIED + "record key crm:C10 sorts after crm:C1",
                "C2": ALL_TIED + "record key crm:C2 sorts after crm:C1",
            },
            id="then smaller record id (string order)",
        ),
        pytest.param(
            [
                ("erp", "A1", "2024-01-01", 0.8, 0.8),
                ("crm", "Z9", "2024-01-01", 0.8, 0.8),
            ],
            "Z9",
            {"A1": ALL_TIED + "record key erp:A1 sorts after crm:Z9"},
            id="source system before record id",
        ),
    ],
)
def test_tie_break_chain(
    rows: list[tuple[str, str, str | None, float, float]],
    winner: str,
    lost_because: dict[str, str],
    make_scored: Builder,
) -> None:
    candidates = make_scored(
        [
            {"system": s, "id": i, "value": f"v-{i}", "at": at, "authority": a, "trust": t}
            for s, i, at, a, t in rows
        ]
    )
    got_winner, reasons = outcome(select_winners(candidates, settings=SurvivorshipSettings()))
    assert got_winner == winner
    assert reasons == {winner: None, **lost_because}


@pytest.mark.parametrize(
    ("rows", "winner", "lost_because"),
    [
        pytest.param(
            [("erp", "E1", "2023-01-01", 0.95), ("shop", "S1", "2024-01-01", 0.3)],
            "S1",
            {"E1": "older (2023-01-01 < 2024-01-01)"},
            id="newest beats trusted",
        ),
        pytest.param(
            [("erp", "E1", "2024-01-01", 0.95), ("shop", "S1", "2024-01-01", 0.3)],
            "E1",
            {"S1": "tie on source_updated_at; lower trust 0.3 < 0.95"},
            id="same time: trust decides",
        ),
        pytest.param(
            [("erp", "E1", None, 0.95), ("shop", "S1", "2001-01-01", 0.1)],
            "S1",
            {"E1": "older (unknown < 2001-01-01)"},
            id="missing timestamp loses",
        ),
    ],
)
def test_most_recent_rule(
    rows: list[tuple[str, str, str | None, float]],
    winner: str,
    lost_because: dict[str, str],
    make_scored: Builder,
) -> None:
    candidates = make_scored(
        [
            {
                "system": s,
                "id": i,
                "field": "tier",
                "value": f"v-{i}",
                "at": at,
                "authority": t,
                "trust": t,
            }
            for s, i, at, t in rows
        ]
    )
    settings = SurvivorshipSettings(rules={"tier": "most_recent"})
    chosen = select_winners(candidates, settings=settings)
    got_winner, reasons = outcome(chosen, field="tier")
    assert got_winner == winner
    assert reasons == {winner: None, **lost_because}
    assert set(chosen["rule"]) == {"most_recent"}


ADDRESS_CASE = [
    # crm wins the address; erp is more trusted for city and region.
    {"system": "crm", "id": "C1", "field": "address", "value": "1 Road", "trust": 0.9},
    {"system": "crm", "id": "C1", "field": "city", "value": "Shanghai", "trust": 0.5},
    {"system": "crm", "id": "C1", "field": "postcode", "value": "200000", "trust": 0.5},
    {"system": "erp", "id": "E1", "field": "address", "value": "2 Street", "trust": 0.8},
    {"system": "erp", "id": "E1", "field": "city", "value": "Beijing", "trust": 0.95},
    {"system": "erp", "id": "E1", "field": "postcode", "value": "100000", "trust": 0.95},
    {"system": "erp", "id": "E1", "field": "region", "value": "Beijing", "trust": 0.95},
    {"system": "shop", "id": "S1", "field": "region", "value": "BJ", "trust": 0.2},
]


@pytest.mark.parametrize(
    ("field", "value", "rule", "lost_because"),
    [
        ("address", "1 Road", "highest_trust", {"E1": "lower trust 0.8 < 0.9"}),
        ("city", "Shanghai", "dependent_on_address", {"E1": "dependent on address from crm:C1"}),
        (
            "postcode",
            "200000",
            "dependent_on_address",
            {"E1": "dependent on address from crm:C1"},
        ),
        # The address record has no region: region falls back to its own rule.
        ("region", "Beijing", "highest_trust", {"S1": "lower trust 0.2 < 0.95"}),
    ],
)
def test_dependent_fields_follow_the_address_record(
    field: str,
    value: str,
    rule: str,
    lost_because: dict[str, str],
    make_scored: Builder,
) -> None:
    candidates = make_scored(
        [{**r, "at": "2024-01-01", "authority": r["trust"]} for r in ADDRESS_CASE]
    )
    chosen = select_winners(candidates, settings=SurvivorshipSettings())
    group = chosen.filter(pl.col("field") == field)
    assert group.filter("is_winner")["value"].item() == value
    assert set(group["rule"]) == {rule}
    losers = dict(
        group.filter(~pl.col("is_winner")).select("source_record_id", "lost_because").rows()
    )
    assert losers == lost_because


def test_dependent_fields_without_an_address_use_their_own_rule(make_scored: Builder) -> None:
    candidates = make_scored(
        [{**r, "at": "2024-01-01", "authority": r["trust"]} for r in ADDRESS_CASE]
    ).filter(pl.col("field") != "address")
    winners = select_winners(candidates, settings=SurvivorshipSettings()).filter("is_winner")
    assert dict(winners.select("field", "value").rows()) == {
        "city": "Beijing",
        "postcode": "100000",
        "region": "Beijing",
    }
    assert set(winners["rule"]) == {"highest_trust"}


def test_dependent_fields_are_configurable(make_scored: Builder) -> None:
    candidates = make_scored(
        [
            {
                "system": "crm",
                "id": "C1",
                "field": "name",
                "value": "Acme",
                "trust": 0.9,
                "authority": 0.5,
            },
            {
                "system": "crm",
                "id": "C1",
                "field": "contact_name",
                "value": "Li Lei",
                "trust": 0.1,
                "authority": 0.5,
            },
            {
                "system": "erp",
                "id": "E1",
                "field": "contact_name",
                "value": "Han Meimei",
                "trust": 0.9,
                "authority": 0.5,
            },
            {
                "system": "erp",
                "id": "E1",
                "field": "city",
                "value": "Beijing",
                "trust": 0.9,
                "authority": 0.5,
            },
            {
                "system": "crm",
                "id": "C1",
                "field": "city",
                "value": "Shanghai",
                "trust": 0.1,
                "authority": 0.5,
            },
        ]
    ).with_columns(source_updated_at=pl.lit(datetime(2024, 1, 1, tzinfo=UTC)))
    settings = SurvivorshipSettings(dependent_fields={"name": ("contact_name",)})
    winners = select_winners(candidates, settings=settings).filter("is_winner")
    assert dict(winners.select("field", "value").rows()) == {
        "name": "Acme",
        "contact_name": "Li Lei",
        "city": "Beijing",  # no longer tied to an address
    }
    assert dict(winners.select("field", "rule").rows())["contact_name"] == "dependent_on_name"


def test_one_winner_per_group_across_clusters_and_rules(make_scored: Builder) -> None:
    rows = [
        {
            "uid": uid,
            "field": field,
            "system": s,
            "id": f"{uid}-{s}",
            "value": f"{s}",
            "at": at,
            "authority": 0.5,
            "trust": t,
        }
        for uid in ("U1", "U2", "U3")
        for field in ("name", "tier", "city")
        for s, at, t in (
            ("crm", "2024-01-01", 0.7),
            ("erp", "2023-01-01", 0.9),
            ("shop", None, 0.7),
        )
    ]
    settings = SurvivorshipSettings(rules={"tier": "most_recent"})
    chosen = select_winners(make_scored(rows), settings=settings)
    assert chosen.height == len(rows)
    per_group = chosen.group_by("unified_id", "field").agg(
        pl.col("is_winner").sum().alias("winners"),
        pl.col("lost_because").null_count().alias("unexplained"),
        pl.col("rank").sort().alias("ranks"),
    )
    assert per_group["winners"].to_list() == [1] * 9
    assert per_group["unexplained"].to_list() == [1] * 9
    assert per_group["ranks"].to_list() == [[1, 2, 3]] * 9
    winners = chosen.filter("is_winner")
    assert dict(winners.filter(pl.col("unified_id") == "U1").select("field", "value").rows()) == {
        "name": "erp",
        "tier": "crm",
        "city": "erp",
    }
    assert chosen.select("unified_id", "field", "rank").equals(
        chosen.select("unified_id", "field", "rank").sort("unified_id", "field", "rank")
    )


Row = tuple[str, str, str, str | None, float]  # system, record id, value, timestamp, trust


def _rule_outcome(
    rows: list[Row], make_scored: Builder, **settings: Any
) -> tuple[str | None, dict[str, str | None], set[str]]:
    """(winning record id or None, {record id: lost_because}, rules) for field tier of U1."""
    candidates = make_scored(
        [
            {
                "system": s,
                "id": i,
                "field": "tier",
                "value": v,
                "at": at,
                "authority": t,
                "trust": t,
            }
            for s, i, v, at, t in rows
        ]  # fmt: skip
    )
    chosen = select_winners(candidates, settings=SurvivorshipSettings(**settings))
    assert chosen.height == len(rows)
    assert chosen["is_winner"].sum() <= 1
    winners = chosen.filter("is_winner")["source_record_id"].to_list()
    reasons = dict(chosen.select("source_record_id", "lost_because").rows())
    return (winners[0] if winners else None), reasons, set(chosen["rule"])


PRIORITY = {"rules": {"tier": "source_priority"}, "source_priority": {"tier": ["erp", "crm"]}}


@pytest.mark.parametrize(
    ("rows", "settings", "winner", "lost_because"),
    [
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("erp", "E1", "B", "2020-01-01", 0.3)],
            PRIORITY, "E1", {"C1": "lower source priority (crm #2 after erp #1)"},
            id="priority beats trust and freshness",
        ),
        pytest.param(
            [("shop", "S1", "A", "2024-01-01", 0.9), ("crm", "C1", "B", "2020-01-01", 0.3)],
            PRIORITY, "C1", {"S1": "lower source priority (shop unlisted after crm #2)"},
            id="unlisted sources rank last",
        ),
        pytest.param(
            [("shop", "S1", "A", "2024-01-01", 0.4), ("tickets", "T1", "B", "2024-01-01", 0.5)],
            PRIORITY, "T1", {"S1": "tie on source priority; lower trust 0.4 < 0.5"},
            id="two unlisted sources tie: trust decides",
        ),
        pytest.param(
            [("erp", "E1", "A", "2023-01-01", 0.9), ("erp", "E2", "B", "2024-01-01", 0.9)],
            PRIORITY, "E2",
            {"E1": "tie on source priority, trust; older (2023-01-01 < 2024-01-01)"},
            id="same source: the tie-break chain",
        ),
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("erp", "E1", "B", "2020-01-01", 0.3)],
            {"rules": {"tier": "source_priority"}, "source_priority": {"default": ["erp"]}},
            "E1", {"C1": "lower source priority (crm unlisted after erp #1)"},
            id="default order",
        ),
    ],
)  # fmt: skip
def test_source_priority_rule(
    rows: list[Row],
    settings: dict[str, Any],
    winner: str,
    lost_because: dict[str, str],
    make_scored: Builder,
) -> None:
    got, reasons, rules = _rule_outcome(rows, make_scored, **settings)
    assert got == winner
    assert reasons == {winner: None, **lost_because}
    assert rules == {"source_priority"}


@pytest.mark.parametrize(
    ("rows", "winner", "lost_because"),
    [
        pytest.param(
            [("crm", "C1", "A", None, 0.9), ("shop", "S1", "B", None, 0.3),
             ("tickets", "T1", "b", None, 0.2)],
            "S1", {"C1": "less frequent (1 < 2 records)",
                   "T1": "tie on frequency; lower trust 0.2 < 0.3"},
            id="majority beats trust; case-folded",
        ),
        pytest.param(
            [("crm", "C1", "A", None, 0.9), ("shop", "S1", "B", None, 0.3)],
            "C1", {"S1": "tie on frequency; lower trust 0.3 < 0.9"},
            id="a tie on frequency goes to trust",
        ),
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.5), ("shop", "S1", "B", "2023-01-01", 0.5)],
            "C1", {"S1": "tie on frequency, trust; older (2023-01-01 < 2024-01-01)"},
            id="then freshness",
        ),
    ],
)  # fmt: skip
def test_most_frequent_rule(
    rows: list[Row], winner: str, lost_because: dict[str, str], make_scored: Builder
) -> None:
    got, reasons, rules = _rule_outcome(rows, make_scored, rules={"tier": "most_frequent"})
    assert got == winner
    assert reasons == {winner: None, **lost_because}
    assert rules == {"most_frequent"}


@pytest.mark.parametrize(
    ("rows", "winner", "lost_because"),
    [
        pytest.param(
            [("erp", "E1", "1 Road", None, 0.9), ("shop", "S1", "1 Road, Floor 3", None, 0.3)],
            "S1", {"E1": "shorter (5 < 11 characters)"},
            id="most complete beats trust",
        ),
        pytest.param(
            [("erp", "E1", "1 Road!!!", None, 0.3), ("shop", "S1", "1 Road", None, 0.9)],
            "S1", {"E1": "tie on length; lower trust 0.3 < 0.9"},
            id="punctuation does not count",
        ),
        pytest.param(
            [("erp", "E1", "ab", None, 0.5), ("crm", "C1", "cd", None, 0.5)],
            "C1", {"E1": "tie on length, trust, source_updated_at, authority; "
                         "record key erp:E1 sorts after crm:C1"},
            id="full tie: record key",
        ),
    ],
)  # fmt: skip
def test_longest_rule(
    rows: list[Row], winner: str, lost_because: dict[str, str], make_scored: Builder
) -> None:
    got, reasons, rules = _rule_outcome(rows, make_scored, rules={"tier": "longest"})
    assert got == winner
    assert reasons == {winner: None, **lost_because}
    assert rules == {"longest"}


@pytest.mark.parametrize(
    ("rows", "winner", "lost_because"),
    [
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("shop", "S1", "B", "2019-01-01", 0.3)],
            "S1", {"C1": "newer (2024-01-01 > 2019-01-01)"},
            id="the first value seen wins",
        ),
        pytest.param(
            [("crm", "C1", "A", None, 0.9), ("shop", "S1", "B", "2019-01-01", 0.3)],
            "S1", {"C1": "newer (unknown > 2019-01-01)"},
            id="no timestamp ranks last",
        ),
        pytest.param(
            [("crm", "C1", "A", "2019-01-01", 0.9), ("shop", "S1", "B", "2019-01-01", 0.3)],
            "C1", {"S1": "tie on source_updated_at; lower trust 0.3 < 0.9"},
            id="same time: trust",
        ),
    ],
)  # fmt: skip
def test_oldest_rule(
    rows: list[Row], winner: str, lost_because: dict[str, str], make_scored: Builder
) -> None:
    got, reasons, rules = _rule_outcome(rows, make_scored, rules={"tier": "oldest"})
    assert got == winner
    assert reasons == {winner: None, **lost_because}
    assert rules == {"oldest"}


@pytest.mark.parametrize(
    ("rows", "settings", "winner", "lost_because"),
    [
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("erp", "E1", "B", "2020-01-01", 0.2)],
            {"field_locks": {"tier": ["erp"]}},
            "E1", {"C1": "field tier locked to erp"},
            id="locked source wins against higher trust",
        ),
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("shop", "S1", "B", "2024-01-01", 0.5)],
            {"field_locks": {"tier": ["erp"]}},
            None, {"C1": "field tier locked to erp", "S1": "field tier locked to erp"},
            id="no allowed source: no golden value",
        ),
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("erp", "E1", "B", "2020-01-01", 0.2),
             ("erp", "E2", "C", "2021-01-01", 0.3)],
            {"field_locks": {"tier": ["erp", "shop"]}},
            "E2", {"C1": "field tier locked to erp, shop", "E1": "lower trust 0.2 < 0.3"},
            id="the rule decides among the allowed sources",
        ),
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("erp", "E1", "B", "2020-01-01", 0.2),
             ("erp", "E2", "C", "2021-01-01", 0.3)],
            {"field_locks": {"tier": ["erp"]}, "rules": {"tier": "most_recent"}},
            "E2", {"C1": "field tier locked to erp", "E1": "older (2020-01-01 < 2021-01-01)"},
            id="with another rule",
        ),
        pytest.param(
            [("crm", "C1", "A", "2024-01-01", 0.9), ("erp", "E1", "B", "2020-01-01", 0.2)],
            {"field_locks": {"name": ["erp"]}},
            "C1", {"E1": "lower trust 0.2 < 0.9"},
            id="a lock on another field changes nothing",
        ),
    ],
)  # fmt: skip
def test_field_locks(
    rows: list[Row],
    settings: dict[str, Any],
    winner: str | None,
    lost_because: dict[str, str],
    make_scored: Builder,
) -> None:
    got, reasons, _ = _rule_outcome(rows, make_scored, **settings)
    assert got == winner
    expected = lost_because if winner is None else {winner: None, **lost_because}
    assert reasons == expected


def test_locked_leader_without_a_winner_leaves_followers_to_their_rule(
    make_scored: Builder,
) -> None:
    rows = [
        {"system": "crm", "id": "C1", "field": "address", "value": "1 Road", "trust": 0.9},
        {"system": "crm", "id": "C1", "field": "city", "value": "Shanghai", "trust": 0.5},
        {"system": "shop", "id": "S1", "field": "city", "value": "Beijing", "trust": 0.6},
    ]
    candidates = make_scored([{**r, "at": "2024-01-01", "authority": r["trust"]} for r in rows])
    settings = SurvivorshipSettings(field_locks={"address": ["erp"]})
    chosen = select_winners(candidates, settings=settings).filter("is_winner")
    assert dict(chosen.select("field", "value").rows()) == {"city": "Beijing"}


@pytest.mark.parametrize("rule", ["highest_trust", "most_recent", "oldest", "source_priority",
                                  "most_frequent", "longest"])  # fmt: skip
def test_every_rule_is_deterministic_under_row_order(rule: str, make_scored: Builder) -> None:
    rows = [
        {"system": s, "id": f"{s}-{i}", "field": "tier", "value": v, "at": at, "authority": 0.5,
         "trust": 0.5}
        for i, (s, v, at) in enumerate(
            [("crm", "A", "2024-01-01"), ("erp", "a", "2024-01-01"), ("shop", "B", None),
             ("crm", "B", "2024-01-01"), ("erp", "AB", "2023-01-01")]
        )
    ]  # fmt: skip
    settings = SurvivorshipSettings(rules={"tier": rule}, source_priority={"default": ["erp"]})
    first = select_winners(make_scored(rows), settings=settings)
    second = select_winners(make_scored(rows[::-1]), settings=settings)
    assert first.equals(second)
    assert first["is_winner"].sum() == 1


def _with_roles(scored: pl.DataFrame, roles: list[tuple[str, int, int]]) -> pl.DataFrame:
    """``scored`` plus ``role``, ``role_rank`` and ``agreement``, one tuple per row."""
    role, role_rank, agreement = zip(*roles, strict=True)
    return scored.with_columns(
        pl.Series("role", role, pl.String),
        pl.Series("role_rank", role_rank, pl.Int64),
        pl.Series("agreement", agreement, pl.Int64),
    )


def test_rule_notes_follow_each_groups_winner_with_groups_interleaved(
    make_scored: Builder,
) -> None:
    # Three customers' phone candidates, rows interleaved so no group is contiguous:
    # U1's roles differ (the main line wins), U2's lone agreed value beats a higher-trust
    # value of its role, U3 has one role and equal agreement (the rule alone decided).
    rows = [
        ("U1", "crm", 0.9, ("mobile", 1, 1)),
        ("U2", "crm", 0.9, ("line", 0, 1)),
        ("U3", "crm", 0.9, ("line", 0, 1)),
        ("U1", "erp", 0.5, ("main_line", 0, 1)),
        ("U2", "erp", 0.5, ("line", 0, 2)),
        ("U3", "erp", 0.5, ("line", 0, 1)),
        ("U2", "shop", 0.4, ("mobile", 1, 3)),
    ]
    scored = make_scored(
        [
            {"uid": uid, "field": "phone", "system": s, "id": f"{uid}-{s}", "value": f"{uid}{s}",
             "at": "2024-01-01", "authority": 0.5, "trust": t}
            for uid, s, t, _ in rows
        ]
    )  # fmt: skip
    chosen = select_winners(
        _with_roles(scored, [r for *_, r in rows]), settings=SurvivorshipSettings()
    )
    winners = chosen.filter("is_winner").select("unified_id", "source_system", "rule").rows()
    assert sorted(winners) == [
        ("U1", "erp", "highest_trust:role=main_line"),
        ("U2", "erp", "highest_trust:role=line+agreement"),
        ("U3", "crm", "highest_trust"),
    ]
    # The rule is the group's: every candidate of a group carries its winner's note.
    assert chosen.group_by("unified_id").agg(pl.col("rule").n_unique())["rule"].to_list() == [
        1,
        1,
        1,
    ]


def test_ranked_candidates_are_select_winners_rows_in_any_order(make_scored: Builder) -> None:
    rows = [
        {"uid": uid, "field": field, "system": s, "id": f"{uid}-{s}", "value": f"{s}{uid}",
         "at": at, "authority": 0.5, "trust": t}
        for uid in ("U2", "U1", "U3")
        for field in ("address", "postcode", "tier")
        for s, at, t in (("crm", "2024-01-01", 0.7), ("erp", "2023-01-01", 0.9),
                         ("shop", None, 0.7))
    ]  # fmt: skip
    settings = SurvivorshipSettings(rules={"tier": "most_recent"})
    scored = make_scored(rows[::-1])
    unsorted = ranked_candidates(scored, settings=settings)
    assert unsorted.sort("unified_id", "field", "rank").equals(
        select_winners(scored, settings=settings)
    )


def test_ranks_count_from_one_in_every_group_nulls_included(make_scored: Builder) -> None:
    # A null field is a group of its own, as ``over`` groups it: rank 1..n there too.
    scored = make_scored(
        [
            {"uid": "U1", "field": f, "system": s, "id": f"{s}{i}", "value": "v", "at": None,
             "authority": 0.5, "trust": t}
            for i, (f, s, t) in enumerate(
                [("tier", "crm", 0.2), (None, "erp", 0.3), ("tier", "erp", 0.9),
                 (None, "crm", 0.8), ("tier", "shop", 0.5)]
            )
        ]
    )  # fmt: skip
    ranked = rank_candidates(scored, keys=rank_keys((TRUST,)))
    ranks = ranked.group_by("field").agg(pl.col("trust_score"), pl.col("rank"), pl.col("is_winner"))
    by_field = {f: (t, r, w) for f, t, r, w in ranks.rows()}
    assert by_field["tier"] == ([0.9, 0.5, 0.2], [1, 2, 3], [True, False, False])
    assert by_field[None] == ([0.8, 0.3], [1, 2], [True, False])
    losers = ranked.filter(~pl.col("is_winner")).sort("trust_score")["lost_because"].to_list()
    assert losers == ["lower trust 0.2 < 0.9", "lower trust 0.3 < 0.8", "lower trust 0.5 < 0.9"]
