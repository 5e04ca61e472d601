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


def _recency(
    *, curve: str, days: float, age: float | None, authority: float = 0.8, minimum: float = 0.0
) -> float:
    frame = pl.DataFrame(
        {
            "authority": [authority],
            "min_trust": [minimum],
            "decay_curve": [curve],
            "decay_days": [days],
            "age_days": [age],
        },
        schema={
            "authority": pl.Float64,
            "min_trust": pl.Float64,
            "decay_curve": pl.String,
            "decay_days": pl.Float64,
            "age_days": pl.Float64,
        },
    )
    return float(frame.select(recency_expr()).item())


LINEAR, RISL, SIRL = "linear", "rapid_initial_slow_later", "slow_initial_rapid_later"


@pytest.mark.parametrize(
    ("curve", "age", "expected"),
    [
        # linear: 1 - x, the minimum at one period and after
        (LINEAR, 0, 1.0),
        (LINEAR, 25, 0.75),
        (LINEAR, 50, 0.5),
        (LINEAR, 75, 0.25),
        (LINEAR, 100, 0.0),
        (LINEAR, 250, 0.0),
        # slow initial, rapid later: 1 - x**2
        (SIRL, 0, 1.0),
        (SIRL, 25, 0.9375),
        (SIRL, 50, 0.75),
        (SIRL, 75, 0.4375),
        (SIRL, 100, 0.0),
        (SIRL, 250, 0.0),
        # rapid initial, slow later: 0.5 ** x (the period is the half-life)
        (RISL, 0, 1.0),
        (RISL, 25, 0.8409),
        (RISL, 50, 0.7071),
        (RISL, 100, 0.5),
        (RISL, 200, 0.25),
        # no timestamp: the minimum, whatever the curve
        (LINEAR, None, 0.0),
        (SIRL, None, 0.0),
        (RISL, None, 0.0),
    ],
)
def test_decay_curves_without_a_minimum(curve: str, age: float | None, expected: float) -> None:
    assert _recency(curve=curve, days=100, age=age) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("curve", "age", "authority", "minimum", "expected"),
    [
        # recency = (min + (max - min) * curve) / max: trust runs from max down to min
        (LINEAR, 0, 0.8, 0.2, 1.0),
        (LINEAR, 50, 0.8, 0.2, 0.625),  # (0.2 + 0.6 * 0.5) / 0.8
        (LINEAR, 100, 0.8, 0.2, 0.25),  # the minimum: 0.2 / 0.8
        (LINEAR, 400, 0.8, 0.2, 0.25),
        (SIRL, 50, 0.8, 0.2, 0.8125),  # (0.2 + 0.6 * 0.75) / 0.8
        (RISL, 100, 0.8, 0.2, 0.625),  # (0.2 + 0.6 * 0.5) / 0.8
        (RISL, None, 0.8, 0.2, 0.25),
        (LINEAR, 50, 0.5, 0.5, 1.0),  # min == max: no decay at all
        (LINEAR, 50, 0.0, 0.0, 1.0),  # a source with no trust: recency is moot, trust is 0
    ],
)
def test_decay_runs_from_max_to_min_trust(
    curve: str, age: float | None, authority: float, minimum: float, expected: float
) -> None:
    got = _recency(curve=curve, days=100, age=age, authority=authority, minimum=minimum)
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
def test_default_decay_is_per_field(field: str, expected: float, make_candidates: Builder) -> None:
    scored = score_candidates(
        make_candidates([{"system": "crm", "field": field, "value": "x1", "at": "2022-01-01"}]),
        sources={"crm": {"default": 0.8}},
        settings=SurvivorshipSettings(min_recency=0.0),
        as_of=AS_OF,
    )
    assert scored["age_days"].item() == 730
    assert scored["recency"].item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("settings", "source", "field", "expected"),
    [
        pytest.param({}, "crm", "email", (RISL, 365.0), id="global default"),
        pytest.param({}, "crm", "name", (RISL, 3650.0), id="global per field"),
        pytest.param(
            {"decay": {"curve": "linear", "days": 90}}, "crm", "email", (LINEAR, 90.0),
            id="global default changed",
        ),
        pytest.param(
            {"sources": {"crm": {"decay": {"curve": "linear"}}}}, "crm", "name",
            (LINEAR, 3650.0), id="source curve, field days",
        ),
        pytest.param(
            {"sources": {"crm": {"decay": {"days": 30}}}}, "erp", "email", (RISL, 365.0),
            id="another source is unaffected",
        ),
        pytest.param(
            {"sources": {"crm": {"decay": {"curve": "linear", "days": 100},
                                 "decay_by_field": {"phone": {"curve": "exponential"}}}}},
            "crm", "phone", (RISL, 100.0), id="source field beats source",
        ),
        pytest.param(
            {"decay_by_field": {"phone": {"curve": "slow_initial_rapid_later", "days": 50}}},
            "crm", "phone", (SIRL, 50.0), id="global field",
        ),
    ],
)  # fmt: skip
def test_decay_resolution_most_specific_first(
    settings: dict[str, Any], source: str, field: str, expected: tuple[str, float]
) -> None:
    assert SurvivorshipSettings(**settings).decay_for(source, field) == expected


@pytest.mark.parametrize(
    ("min_trust", "field", "expected_min", "expected_recency"),
    [
        ({}, "email", 0.016, 0.02),  # default: min_recency (0.02) of the maximum
        ({"default": 0.2}, "email", 0.2, 0.25),
        ({"default": 0.2, "email": 0.4}, "email", 0.4, 0.5),
        ({"default": 0.2, "email": 0.4}, "phone", 0.2, 0.25),
    ],
)
def test_min_trust_per_source_and_field(
    min_trust: dict[str, float],
    field: str,
    expected_min: float,
    expected_recency: float,
    make_candidates: Builder,
) -> None:
    settings = SurvivorshipSettings(sources={"crm": {"min_trust": min_trust}})
    scored = score_candidates(
        make_candidates([{"system": "crm", "field": field, "value": "v1", "at": "1990-01-01"}]),
        sources={"crm": {"default": 0.8}},
        settings=settings,
        as_of=AS_OF,
    )
    assert scored["min_trust"].item() == pytest.approx(expected_min)
    assert scored["recency"].item() == pytest.approx(expected_recency, abs=1e-4)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"sources": {"crm": {"min_trust": {"default": 0.9}}}},
            "key 'sources.crm.min_trust': 0.9 for field 'email' is above the source's maximum",
            id="min above max",
        ),
        pytest.param(
            {"sources": {"legacy": {"min_trust": {"default": 0.1}}}},
            r"unknown source\(s\) \['legacy'\]", id="unknown source",
        ),
        pytest.param(
            {"field_locks": {"tier": ["erpp"]}}, r"unknown source\(s\) \['erpp'\]",
            id="typo in a lock",
        ),
        pytest.param(
            {"source_priority": {"default": ["crm", "shopp"]}},
            r"unknown source\(s\) \['shopp'\]", id="typo in a priority list",
        ),
    ],
)  # fmt: skip
def test_trust_settings_must_fit_the_sources(
    settings: dict[str, Any], message: str, make_candidates: Builder
) -> None:
    with pytest.raises(SourceTrustError, match=message):
        score_candidates(
            make_candidates([{"system": "crm", "value": "v1"}]),
            sources={"crm": {"default": 0.8}, "erp": {"default": 0.9}},
            settings=SurvivorshipSettings(**settings),
            as_of=AS_OF,
        )


def test_recency_without_any_timestamp_in_the_run_is_the_minimum(
    make_candidates: Builder,
) -> None:
    scored = score_candidates(
        make_candidates([{"system": "crm", "value": "v1", "at": None}]),
        sources={"crm": {"default": 0.8}},
        settings=SurvivorshipSettings(min_recency=0.3),
        as_of=None,
    )
    assert scored["age_days"].item() is None
    assert scored["recency"].item() == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("field", "value", "valid", "validity", "issues"),
    [
        pytest.param("email", "li.wei@acme.cn", True, 1.0, None, id="valid email"),
        pytest.param("email", "li.wei@acme", False, 0.5, "invalid email", id="invalid email"),
        pytest.param("phone", "021-5555", False, 0.5, "invalid phone", id="invalid phone"),
        pytest.param("email", "noreply@acme.cn", True, 0.1, "placeholder", id="no-reply mailbox"),
        pytest.param("email", "li@example.com", True, 0.1, "placeholder", id="example domain"),
        pytest.param("email", "TEST@acme.cn", True, 0.1, "placeholder", id="case-insensitive"),
        pytest.param("phone", "+8613333333333", True, 0.1, "placeholder", id="repeated digits"),
        pytest.param("phone", "+8613812345678", True, 0.1, "placeholder", id="12345678"),
        pytest.param("phone", "+8613800138000", True, 1.0, None, id="real phone"),
        pytest.param("phone", "0000000", False, 0.05, "invalid phone; placeholder", id="both"),
        pytest.param("name", "N/A", None, 0.1, "placeholder", id="n/a (any field)"),
        pytest.param("name", "-", None, 0.1, "placeholder", id="dash"),
        pytest.param("name", "未知", None, 0.1, "placeholder", id="unknown in Chinese"),
        pytest.param("name", "测试公司", None, 0.1, "placeholder", id="test company"),
        pytest.param("name", "Testa Foods", None, 1.0, None, id="a name that starts with test"),
        pytest.param("city", "Unknownville", None, 1.0, None, id="whole value only"),
        pytest.param("tax_id", "91310000X", None, 1.0, None, id="no validation flag"),
    ],
)
def test_validation_downgrades(
    field: str,
    value: str,
    valid: bool | None,
    validity: float,
    issues: str | None,
    make_candidates: Builder,
) -> None:
    scored = score_candidates(
        make_candidates([{"system": "crm", "field": field, "value": value, "valid": valid}]),
        sources={"crm": {"default": 0.8}},
        settings=SurvivorshipSettings(),
        as_of=AS_OF,
    )
    assert scored["validity"].item() == pytest.approx(validity)
    assert scored["validation_issues"].item() == issues


@pytest.mark.parametrize(
    ("settings", "value", "validity"),
    [
        ({"placeholder_downgrade": 0.3}, "noreply@acme.cn", 0.3),
        ({"placeholder_patterns": {"email": [r".*@acme\.cn"]}}, "li@acme.cn", 0.1),
        ({"placeholder_patterns": {}}, "noreply@acme.cn", 1.0),
    ],
)
def test_placeholder_downgrade_is_configurable(
    settings: dict[str, Any], value: str, validity: float, make_candidates: Builder
) -> None:
    scored = score_candidates(
        make_candidates([{"system": "crm", "field": "email", "value": value}]),
        sources={"crm": {"default": 0.8}},
        settings=SurvivorshipSettings(**settings),
        as_of=AS_OF,
    )
    assert scored["validity"].item() == pytest.approx(validity)


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
    assert runs[0]["recency"].item() == pytest.approx(0.51)  # 0.02 + 0.98 * 0.5


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


# ---- the run clock: ages come from as_of, never from another customer's timestamp ----

CLOCK_RECORDS = [
    {"system": "crm", "id": "C1", "at": "2023-03-01", "name": "Acme Ltd", "email": "li@acme.cn"},
    {"system": "erp", "id": "E1", "at": "2024-06-01", "name": "Acme Limited",
     "email": "sales@acme.cn"},
    {"system": "crm", "id": "C2", "at": "2024-05-01", "name": "Borealis", "email": "b@bo.de"},
    {"system": "shop", "id": "S2", "at": "2022-01-01", "name": "Borealis GmbH",
     "email": "info@bo.de"},
]  # fmt: skip
CLOCK_CLUSTERS = {"U1": [("crm", "C1"), ("erp", "E1")], "U2": [("crm", "C2"), ("shop", "S2")]}
FAR_FUTURE = {"system": "shop", "id": "S9", "at": "9999-12-31", "name": "Zed", "email": "z@z.io"}


def _golden_of_known(
    records: list[dict[str, Any]], clusters: dict[str, list[tuple[str, str]]],
    builders: tuple[Builder, Builder], *, as_of: datetime | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """Golden customers and candidates of U1 and U2 only."""
    from lineage import build_golden_record

    make_std, make_xref = builders
    golden = build_golden_record(
        make_std(records), make_xref(clusters), sources=SOURCES,
        settings=SurvivorshipSettings(), run_id="r", as_of=as_of,
    )  # fmt: skip
    known = pl.col("unified_id").is_in(["U1", "U2"])
    return (
        golden.golden_customer.filter(known).sort("unified_id"),
        golden.field_candidates.filter(known).sort("unified_id", "field", "source_record_id"),
    )


def test_a_far_future_record_changes_no_other_customer_under_the_run_clock(
    make_std: Builder, make_xref: Builder
) -> None:
    """Issue 28: one row dated 9999-12-31 made every other value old when ages were
    measured from the batch's newest timestamp. Against the run clock nothing else moves."""
    builders = (make_std, make_xref)
    before = _golden_of_known(CLOCK_RECORDS, CLOCK_CLUSTERS, builders, as_of=AS_OF)
    after = _golden_of_known(
        [*CLOCK_RECORDS, FAR_FUTURE], {**CLOCK_CLUSTERS, "U9": [("shop", "S9")]}, builders,
        as_of=AS_OF,
    )  # fmt: skip
    assert before[0].equals(after[0])
    assert before[1].equals(after[1])
    # The old reference point (the batch's latest update, still the default outside a run)
    # is what moved them: every known value became ~8,000 years old.
    moved = _golden_of_known(
        [*CLOCK_RECORDS, FAR_FUTURE], {**CLOCK_CLUSTERS, "U9": [("shop", "S9")]}, builders,
        as_of=None,
    )  # fmt: skip
    assert not before[1]["trust_score"].equals(moved[1]["trust_score"])
    assert moved[1]["age_days"].min() > 365 * 7_000


def test_a_value_dated_after_the_run_clock_has_age_zero(make_candidates: Builder) -> None:
    scored = score_candidates(
        make_candidates([{"system": "crm", "value": "a@b.cn", "at": "2024-01-01T12:00:00"}]),
        sources=SOURCES, settings=SurvivorshipSettings(), as_of=AS_OF,
    )  # fmt: skip
    assert scored["age_days"].item() == 0.0
