"""Trust components: recency decay, validity downgrade, corroboration, authority lookup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from lineage import (
    SourceTrustError,
    SurvivorshipSettings,
    TrustSource,
    authority_table,
    recency_expr,
    score_candidates,
)

AS_OF = datetime(2024, 1, 1, tzinfo=UTC)
Builder = Callable[..., pl.DataFrame]
SOURCES = {
    "crm": {"default": 0.8},
    "erp": {"default": 0.9},
    "shop": {"default": 0.7},
    "tickets": {"default": 0.5},
}


@pytest.mark.parametrize(
    ("updated_at", "half_life", "expected"),
    [
        ("2024-01-01", 365, 1.0),  # age 0
        ("2023-01-01", 365, 0.5),  # one half-life (2023 has 365 days)
        ("2022-01-01", 365, 0.25),  # two half-lives
        ("2023-07-05", 180, 0.5),  # one custom half-life (180 days)
        ("2023-01-01", 730, 0.7071),  # half a half-life: sqrt(0.5)
        ("2010-01-01", 365, 0.02),  # very old: the floor
        (None, 365, 0.02),  # no timestamp: the floor
        ("2025-06-01", 365, 1.0),  # later than as_of: counts as fresh
    ],
)
def test_recency_decay(
    updated_at: str | None, half_life: int, expected: float, parse_ts: Callable[..., Any]
) -> None:
    frame = pl.DataFrame(
        {"field": ["email"], "source_updated_at": [parse_ts(updated_at)]},
        schema={"field": pl.String, "source_updated_at": pl.Datetime("us", "UTC")},
    )
    settings = SurvivorshipSettings(recency_half_life_days=half_life)
    got = frame.select(recency_expr(as_of=AS_OF, settings=settings)).item()
    assert got == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("email", 0.25),  # default half-life 365 days: two half-lives
        ("phone", 0.25),
        ("tier", 0.5),  # 730 days
        ("name", 0.8706),  # 3650 days: a registered name barely ages in two years
        ("tax_id", 0.8706),
    ],
)
def test_recency_half_life_is_per_field(
    field: str, expected: float, parse_ts: Callable[..., Any]
) -> None:
    frame = pl.DataFrame(
        {"field": [field], "source_updated_at": [parse_ts("2022-01-01")]},
        schema={"field": pl.String, "source_updated_at": pl.Datetime("us", "UTC")},
    )
    got = frame.select(recency_expr(as_of=AS_OF, settings=SurvivorshipSettings())).item()
    assert got == pytest.approx(expected, abs=1e-4)


def test_recency_without_any_timestamp_in_the_run_is_the_floor() -> None:
    frame = pl.DataFrame(
        {"source_updated_at": [None]}, schema={"source_updated_at": pl.Datetime("us", "UTC")}
    )
    settings = SurvivorshipSettings(min_recency=0.3)
    assert frame.select(recency_expr(as_of=None, settings=settings)).item() == 0.3


@pytest.mark.parametrize(
    ("valid", "downgrade", "validity", "trust"),
    [
        (True, 0.5, 1.0, 0.8),
        (None, 0.5, 1.0, 0.8),  # a field without validation is not downgraded
        (False, 0.5, 0.5, 0.4),
        (False, 0.25, 0.25, 0.2),
    ],
)
def test_invalid_values_are_downgraded(
    valid: bool | None,
    downgrade: float,
    validity: float,
    trust: float,
    make_candidates: Builder,
) -> None:
    frame = make_candidates([{"system": "crm", "field": "phone", "value": "12345", "valid": valid}])
    scored = score_candidates(
        frame,
        sources=SOURCES,
        settings=SurvivorshipSettings(invalid_downgrade=downgrade),
        as_of=AS_OF,
    )
    assert scored["validity"].to_list() == [validity]
    assert scored["trust_score"].to_list() == [trust]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [{"system": "crm", "value": "Acme"}, {"system": "erp", "value": "Other"}],
            {"crm": 0.0, "erp": 0.0},
            id="no agreement",
        ),
        pytest.param(
            [{"system": "crm", "value": "Acme Ltd"}, {"system": "erp", "value": " ACME  ltd"}],
            {"crm": 0.1, "erp": 0.1},
            id="case and whitespace ignored",
        ),
        pytest.param(
            [
                {"system": "crm", "value": "Acme"},
                {"system": "erp", "value": "acme"},
                {"system": "shop", "value": "ACME"},
            ],
            {"crm": 0.2, "erp": 0.2, "shop": 0.2},
            id="two other sources",
        ),
        pytest.param(
            [
                {"system": "crm", "value": "Acme"},
                {"system": "erp", "value": "acme"},
                {"system": "shop", "value": "ACME"},
                {"system": "tickets", "value": "a c m e"},
            ],
            {"crm": 0.2, "erp": 0.2, "shop": 0.2, "tickets": 0.2},
            id="capped at max bonus",
        ),
        pytest.param(
            [
                {"system": "crm", "id": "C1", "value": "Acme"},
                {"system": "crm", "id": "C2", "value": "Acme"},
            ],
            {"crm": 0.0},
            id="same source twice is not corroboration",
        ),
        pytest.param(
            [
                {"system": "crm", "uid": "U1", "value": "Acme"},
                {"system": "erp", "uid": "U2", "value": "Acme"},
            ],
            {"crm": 0.0, "erp": 0.0},
            id="other clusters do not count",
        ),
        pytest.param(
            [
                {"system": "crm", "field": "name", "value": "Acme"},
                {"system": "erp", "field": "contact_name", "value": "Acme"},
            ],
            {"crm": 0.0, "erp": 0.0},
            id="other fields do not count",
        ),
        pytest.param(
            [
                {"system": "crm", "field": "address", "value": "滨江区友谊路24号"},
                {"system": "erp", "field": "address", "value": "滨江区友谊路24号金融广场1楼"},
            ],
            {"crm": 0.0, "erp": 0.1},
            id="a truncated value supports the complete one, not the reverse",
        ),
        pytest.param(
            [
                {"system": "crm", "value": "Northstar Life Sciences"},
                {"system": "erp", "value": "Northstar Life Sciences PLC"},
            ],
            {"crm": 0.0, "erp": 0.1},
            id="a name without its legal form supports the full name",
        ),
        pytest.param(
            [
                {"system": "crm", "value": "Acm"},
                {"system": "erp", "value": "Acme Ltd"},
            ],
            {"crm": 0.0, "erp": 0.0},
            id="fragments shorter than min_contained_chars prove nothing",
        ),
        pytest.param(
            [
                {"system": "crm", "value": "Velvet Foods Corp."},
                {"system": "erp", "value": "velvet foods corp"},
            ],
            {"crm": 0.1, "erp": 0.1},
            id="punctuation and case do not make values differ",
        ),
    ],
)
def test_corroboration_bonus_and_cap(
    rows: list[dict[str, Any]], expected: dict[str, float], make_candidates: Builder
) -> None:
    scored = score_candidates(
        make_candidates(rows), sources=SOURCES, settings=SurvivorshipSettings(), as_of=AS_OF
    )
    got = dict(scored.select("source_system", "corroboration").unique().rows())
    assert got == pytest.approx(expected)


def test_trust_is_the_product_of_its_components_clipped_to_one(
    make_candidates: Builder,
) -> None:
    rows = [
        {"system": "erp", "value": "Acme", "at": "2023-01-01"},
        {"system": "crm", "value": "acme", "at": "2024-01-01"},
        {"system": "shop", "value": "ACME", "at": None},
        {"system": "tickets", "field": "email", "value": "x@", "valid": False},
    ]
    sources = {**SOURCES, "crm": {"default": 0.95}}
    scored = score_candidates(
        make_candidates(rows), sources=sources, settings=SurvivorshipSettings(), as_of=AS_OF
    )
    by_system = {r["source_system"]: r for r in scored.to_dicts()}
    # The three names are one value, confirmed by crm's 2024 timestamp, so all are fresh.
    # erp: 0.9 * 1 * 1 * 1.2 = 1.08 -> clipped; crm: 0.95 * 1.2 -> clipped;
    # shop: 0.7 * 1 (confirmed by crm, no timestamp of its own) * 1.2; tickets: 0.5 * 0.5.
    assert by_system["erp"]["trust_score"] == 1.0
    assert by_system["crm"]["trust_score"] == 1.0
    assert by_system["shop"]["trust_score"] == 0.84
    assert by_system["tickets"]["trust_score"] == 0.25
    for row in scored.to_dicts():
        recomputed = min(
            1.0,
            row["authority"]
            * row["recency"]
            * row["validity"]
            * row["completeness"]
            * (1 + row["corroboration"]),
        )
        assert row["trust_score"] == round(recomputed, 4)


def test_same_inputs_give_same_trust_regardless_of_when_run(
    make_candidates: Builder,
) -> None:
    frame = make_candidates([{"system": "crm", "value": "Acme", "at": "2023-01-01"}])
    runs = [
        score_candidates(frame, sources=SOURCES, settings=SurvivorshipSettings(), as_of=AS_OF)
        for _ in range(2)
    ]
    assert runs[0].equals(runs[1])
    assert runs[0]["recency"].item() == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param(
            {"crm": {"default": 0.8, "tier": 0.7}},
            [("crm", "name", 0.8), ("crm", "tier", 0.7)],
            id="mapping with default",
        ),
        pytest.param(
            {"erp": {"name": 0.9, "tier": 0.95}},
            [("erp", "name", 0.9), ("erp", "tier", 0.95)],
            id="mapping without default, every field given",
        ),
    ],
)
def test_authority_table_from_mappings(
    sources: dict[str, dict[str, float]], expected: list[tuple[str, str, float]]
) -> None:
    assert authority_table(sources, fields=["name", "tier"]).rows() == expected


def test_authority_table_from_source_objects(fake_source: type[Any]) -> None:
    sources = [fake_source("erp", 0.85, {"tier": 0.95}), fake_source("crm", 0.8)]
    assert all(isinstance(s, TrustSource) for s in sources)
    assert authority_table(sources, fields=["name", "tier"]).rows() == [
        ("crm", "name", 0.8),
        ("crm", "tier", 0.8),
        ("erp", "name", 0.85),
        ("erp", "tier", 0.95),
    ]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"crm": {"name": 0.8}}, "source 'crm': no trust for field 'tier' and no 'default'"),
        ({"crm": {"default": 1.2}}, "source 'crm': trust for field 'name' is 1.2, outside 0..1"),
        ({"crm": {"default": -0.1}}, "outside 0..1"),
    ],
)
def test_bad_trust_config_raises(sources: dict[str, dict[str, float]], message: str) -> None:
    with pytest.raises(SourceTrustError, match=message):
        authority_table(sources, fields=["name", "tier"])


def test_duplicate_source_names_raise(fake_source: type[Any]) -> None:
    with pytest.raises(SourceTrustError, match="duplicate source names"):
        authority_table([fake_source("crm", 0.8), fake_source("crm", 0.7)])


def test_unknown_source_in_candidates_raises(make_candidates: Builder) -> None:
    frame = make_candidates([{"system": "legacy", "value": "Acme"}])
    with pytest.raises(SourceTrustError, match=r"\['legacy'\] .* no trust configured"):
        score_candidates(frame, sources=SOURCES, settings=SurvivorshipSettings(), as_of=AS_OF)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [
                {"system": "erp", "id": "E1", "field": "address", "value": "滨江区友谊路24号",
                 "at": "2024-01-01"},
                {"system": "crm", "id": "C1", "field": "address",
                 "value": "滨江区友谊路24号金融广场1楼", "at": "2021-01-01"},
            ],
            # The fresh, truncated erp address confirms the full crm one is current.
            {"E1": ("2024-01-01", 0.8), "C1": ("2024-01-01", 1.0)},
            id="a fresh fragment confirms the complete value",
        ),
        pytest.param(
            [
                {"system": "erp", "id": "E1", "field": "address", "value": "88 Old Street",
                 "at": "2024-01-01"},
                {"system": "crm", "id": "C1", "field": "address", "value": "1 Century Avenue",
                 "at": "2021-01-01"},
            ],
            {"E1": ("2024-01-01", 1.0), "C1": ("2021-01-01", 1.0)},
            id="different values confirm nothing",
        ),
    ],
)  # fmt: skip
def test_confirmation_and_completeness(
    rows: list[dict[str, Any]],
    expected: dict[str, tuple[str, float]],
    make_candidates: Builder,
    parse_ts: Callable[..., Any],
) -> None:
    scored = score_candidates(
        make_candidates(rows), sources=SOURCES, settings=SurvivorshipSettings(), as_of=AS_OF
    )
    got = {r["source_record_id"]: (r["confirmed_at"], r["completeness"]) for r in scored.to_dicts()}
    assert got == {k: (parse_ts(at), c) for k, (at, c) in expected.items()}


def test_complete_address_beats_a_fresher_fragment_of_itself(make_candidates: Builder) -> None:
    from lineage import select_winners

    rows = [
        {"system": "erp", "id": "E1", "field": "address", "value": "190 Robinson Road",
         "at": "2024-01-01"},
        {"system": "shop", "id": "S1", "field": "address", "value": "190 Robinson Road, #34-19",
         "at": "2022-01-01"},
    ]  # fmt: skip
    settings = SurvivorshipSettings()
    scored = score_candidates(
        make_candidates(rows), sources=SOURCES, settings=settings, as_of=AS_OF
    )
    winner = select_winners(scored, settings=settings).filter("is_winner")
    assert winner["value"].item() == "190 Robinson Road, #34-19"
