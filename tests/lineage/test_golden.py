"""build_golden_record: one golden row per customer, complete lineage, determinism."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from connectors.canonical import GOLDEN_FIELDS
from lineage import (
    FIELD_CANDIDATES_COLUMNS,
    FIELD_LINEAGE_COLUMNS,
    GOLDEN_CUSTOMER_COLUMNS,
    GoldenRecord,
    LineageInputError,
    SourceTrustError,
    SurvivorshipSettings,
    build_golden_record,
)

Builder = Callable[..., pl.DataFrame]
SOURCES = {
    "crm": {"default": 0.8, "tier": 0.7},
    "erp": {"default": 0.85, "tier": 0.95, "tax_id": 0.95, "name": 0.9},
    "shop": {"default": 0.7, "email": 0.8, "phone": 0.8},
    "tickets": {"default": 0.5},
}
RECORDS: list[dict[str, Any]] = [
    {
        "system": "crm",
        "id": "CRM-000123",
        "at": "2024-05-02",
        "customer_type": "company",
        "name": "Acme Trading Ltd",
        "email": "info@acme.cn",
        "phone": "+8613800138000",
        "address": "1 Century Ave",
        "postcode": "200120",
        "city": "Shanghai",
        "tier": "A",
    },
    {
        "system": "erp",
        "id": "E-9",
        "at": "2023-05-03",
        "customer_type": "company",
        "name": "Acme Holdings Ltd",  # an older, different name
        "phone": "021-5555",
        "phone_valid": False,
        "address": "88 Old Street",
        "postcode": "100000",
        "city": "Beijing",
        "region": "Beijing",
        "tax_id": "91310000MA1FL8XX1X",
        "tier": "S",
    },
    {
        "system": "tickets",
        "id": "T-1",
        "at": None,
        "contact_name": "Li Lei",
        "email": "info@acme.cn",
    },
    {
        "system": "shop",
        "id": "S-1",
        "at": "2024-01-01",
        "name": "Wang Fang",
        "customer_type": "person",
    },
    {"system": "erp", "id": "E-10", "at": "2022-01-01"},
]
CLUSTERS = {
    "U1": [("crm", "CRM-000123"), ("erp", "E-9"), ("tickets", "T-1")],
    "U2": [("shop", "S-1")],
    "U3": [("erp", "E-10")],
}


@pytest.fixture(scope="module")
def golden(make_std: Builder, make_xref: Builder) -> GoldenRecord:
    return build_golden_record(
        make_std(RECORDS),
        make_xref(CLUSTERS),
        sources=SOURCES,
        settings=SurvivorshipSettings(decay_by_field={}),
        run_id="run-1",
    )


def test_output_columns(golden: GoldenRecord) -> None:
    assert golden.golden_customer.columns == list(GOLDEN_CUSTOMER_COLUMNS)
    assert golden.field_lineage.columns == list(FIELD_LINEAGE_COLUMNS)
    assert golden.field_candidates.columns == list(FIELD_CANDIDATES_COLUMNS)


def test_golden_values(golden: GoldenRecord) -> None:
    u1 = golden.golden_customer.filter(pl.col("unified_id") == "U1").to_dicts()[0]
    assert {f: u1[f] for f in GOLDEN_FIELDS} == {
        "customer_type": "company",
        "name": "Acme Trading Ltd",  # crm 0.8 fresh beats erp 0.9 a year old (0.459)
        "contact_name": "Li Lei",
        "email": "info@acme.cn",
        "phone": "+8613800138000",  # the erp phone failed validation
        "address": "1 Century Ave",
        "postcode": "200120",
        "city": "Shanghai",
        "region": "Beijing",  # the crm record has no region: own rule
        "country": None,
        "industry": None,
        "size_band": None,
        "tax_id": "91310000MA1FL8XX1X",
        "tier": "A",  # crm tier 0.7 fresh beats erp 0.95 * 0.5
    }


def test_record_level_statistics(golden: GoldenRecord) -> None:
    stats = golden.golden_customer.select(
        "unified_id", "source_count", "record_count", "trust_score", "first_seen_at", "updated_at"
    ).rows()
    assert stats == [
        # U1: erp customer_type 0.935 (0.85, confirmed fresh by crm, corroborated),
        # crm name 0.8, tickets contact 0.01 (no timestamp: the minimum, 0.02 of 0.5),
        # crm email 0.88 (corroborated), crm phone/address/postcode/city 0.8, erp region
        # 0.4335 and tax_id 0.4845 (a year old: 0.02 + 0.98 * 0.5 of the maximum),
        # crm tier 0.7: 7.443 / 11.
        ("U1", 3, 3, 0.6766, datetime(2023, 5, 3, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)),
        # U2: 0.7 * (0.02 + 0.98 * 0.5 ** (122 / 365)) for both of its fields.
        ("U2", 1, 1, 0.5581, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
        ("U3", 1, 1, None, datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)),
    ]


def test_u1_trust_score_is_the_mean_of_its_winners(golden: GoldenRecord) -> None:
    winners = golden.field_lineage.filter(pl.col("unified_id") == "U1")["trust_score"].to_list()
    golden_trust = golden.golden_customer.filter(pl.col("unified_id") == "U1")["trust_score"]
    assert len(winners) == 11
    assert golden_trust.item() == round(sum(winners) / len(winners), 4)


def test_one_golden_row_per_xref_unified_id(golden: GoldenRecord, make_xref: Builder) -> None:
    ids = golden.golden_customer["unified_id"]
    assert ids.is_unique().all()
    assert ids.to_list() == sorted(make_xref(CLUSTERS)["unified_id"].unique())


def test_every_non_null_golden_field_has_exactly_one_lineage_row(
    golden: GoldenRecord, make_std: Builder
) -> None:
    golden_values = (
        golden.golden_customer.unpivot(
            index="unified_id", on=list(GOLDEN_FIELDS), variable_name="field", value_name="value"
        )
        .filter(pl.col("value").is_not_null())
        .sort("unified_id", "field")
    )
    lineage = golden.field_lineage.sort("unified_id", "field")
    assert lineage.select("unified_id", "field", "value").equals(golden_values)
    # The named record holds the value in the named source column.
    std = make_std(RECORDS)
    for row in lineage.to_dicts():
        record = std.filter(
            (pl.col("source_system") == row["source_system"])
            & (pl.col("source_record_id") == row["source_record_id"])
        )
        assert record[row["field"]].item() == row["value"]
        assert row["source_column"] == f"{row['source_system']}.{row['field']}"
        assert row["source_updated_at"] == record["source_updated_at"].item()
        assert row["run_id"] == "run-1"


def test_lineage_rules_and_components(golden: GoldenRecord) -> None:
    u1 = golden.field_lineage.filter(pl.col("unified_id") == "U1")
    rows = {r["field"]: r for r in u1.to_dicts()}
    assert rows["city"]["rule"] == "dependent_on_address"
    assert rows["postcode"]["rule"] == "dependent_on_address"
    assert rows["region"]["rule"] == "highest_trust"
    # email: crm 0.8, fresh, valid, corroborated by tickets -> 0.8 * 1 * 1 * 1.1
    assert rows["email"]["trust_score"] == 0.88
    assert (
        rows["email"]["authority"],
        rows["email"]["recency"],
        rows["email"]["validity"],
        rows["email"]["corroboration"],
    ) == (0.8, 1.0, 1.0, pytest.approx(0.1))


def test_candidates_hold_every_value_with_one_winner(
    golden: GoldenRecord, make_std: Builder
) -> None:
    candidates = golden.field_candidates
    non_null_cells = make_std(RECORDS).select(
        pl.sum_horizontal(pl.col(f).is_not_null() for f in GOLDEN_FIELDS)
    )
    assert candidates.height == non_null_cells.to_series().sum()
    groups = candidates.group_by("unified_id", "field").agg(
        pl.col("is_winner").sum().alias("winners")
    )
    assert set(groups["winners"]) == {1}
    assert (
        candidates.filter("is_winner")["lost_because"].null_count() == golden.field_lineage.height
    )
    assert candidates.filter(~pl.col("is_winner"))["lost_because"].null_count() == 0
    assert set(candidates["run_id"]) == {"run-1"}
    reasons = dict(
        candidates.filter(~pl.col("is_winner"))
        .select(pl.format("{}/{}", "field", "source_record_id"), "lost_because")
        .rows()
    )
    assert reasons == {
        # Same value: the crm copy confirms the erp one is current; erp authority wins.
        "customer_type/CRM-000123": "lower trust 0.88 < 0.935",
        "name/E-9": "lower trust 0.459 < 0.8",
        # No timestamp of its own, but the same e-mail as the fresh crm record.
        "email/T-1": "lower trust 0.55 < 0.88",
        # Invalid: a role never lifts it (it would otherwise lose on trust 0.2168 < 0.8).
        "phone/E-9": "role invalid_value ranks after role mobile",
        "address/E-9": "lower trust 0.4335 < 0.8",
        "postcode/E-9": "dependent on address from crm:CRM-000123",
        "city/E-9": "dependent on address from crm:CRM-000123",
        "tier/E-9": "lower trust 0.4845 < 0.7",
    }


def test_recency_is_measured_against_the_latest_timestamp_of_the_run(
    make_std: Builder, make_xref: Builder
) -> None:
    std = make_std(
        [
            {"system": "crm", "id": "C1", "at": "2023-01-01", "name": "Acme"},
            {"system": "shop", "id": "S1", "at": "2024-01-01", "name": "Other"},
        ]
    )
    xref = make_xref({"U1": [("crm", "C1")], "U2": [("shop", "S1")]})
    result = build_golden_record(
        std,
        xref,
        sources=SOURCES,
        settings=SurvivorshipSettings(decay_by_field={}),
        run_id="r",
    )
    assert dict(result.field_lineage.select("unified_id", "recency").rows()) == {
        "U1": 0.51,  # half of the range above the minimum: 0.02 + 0.98 * 0.5
        "U2": 1.0,
    }


def test_sources_as_config_objects_give_the_same_result(
    golden: GoldenRecord, make_std: Builder, make_xref: Builder, fake_source: type[Any]
) -> None:
    objects = [
        fake_source(name, trust["default"], {k: v for k, v in trust.items() if k != "default"})
        for name, trust in SOURCES.items()
    ]
    again = build_golden_record(
        make_std(RECORDS),
        make_xref(CLUSTERS),
        sources=objects,
        settings=SurvivorshipSettings(decay_by_field={}),
        run_id="run-1",
    )
    assert_frame_equal(again.golden_customer, golden.golden_customer)
    assert_frame_equal(again.field_candidates, golden.field_candidates)


def test_most_recent_rule_from_settings(make_std: Builder, make_xref: Builder) -> None:
    result = build_golden_record(
        make_std(RECORDS),
        make_xref(CLUSTERS),
        sources=SOURCES,
        settings=SurvivorshipSettings(rules={"phone": "most_recent"}, decay_by_field={}),
        run_id="r",
    )
    phone = result.field_lineage.filter(pl.col("field") == "phone").to_dicts()[0]
    assert (phone["value"], phone["rule"]) == ("+8613800138000", "most_recent")


def test_empty_input_gives_empty_outputs(make_std: Builder, make_xref: Builder) -> None:
    result = build_golden_record(
        make_std([]),
        make_xref({}),
        sources=SOURCES,
        settings=SurvivorshipSettings(decay_by_field={}),
        run_id="r",
    )
    assert result.golden_customer.columns == list(GOLDEN_CUSTOMER_COLUMNS)
    assert result.field_lineage.columns == list(FIELD_LINEAGE_COLUMNS)
    assert result.field_candidates.columns == list(FIELD_CANDIDATES_COLUMNS)
    assert (
        result.golden_customer.height,
        result.field_lineage.height,
        result.field_candidates.height,
    ) == (0, 0, 0)


@pytest.mark.parametrize(
    ("std_change", "xref_change", "message"),
    [
        pytest.param(
            lambda df: df.drop("email_valid"),
            lambda df: df,
            r"std_records: missing columns \['email_valid'\]",
            id="missing validity flag",
        ),
        pytest.param(
            lambda df: df,
            lambda df: df.drop("unified_id"),
            r"xref: missing columns \['unified_id'\]",
            id="xref without unified_id",
        ),
        pytest.param(
            lambda df: pl.concat([df, df.head(1)]),
            lambda df: df,
            "std_records: duplicate record keys crm:CRM-000123",
            id="duplicate record",
        ),
        pytest.param(
            lambda df: df,
            lambda df: pl.concat([df, df.head(1)]),
            "xref: duplicate record keys crm:CRM-000123",
            id="record in two clusters",
        ),
        pytest.param(
            lambda df: df,
            lambda df: df.filter(pl.col("source_record_id") != "T-1"),
            "records without a unified_id in xref: tickets:T-1",
            id="record missing from xref",
        ),
        pytest.param(
            lambda df: df.filter(pl.col("source_record_id") != "T-1"),
            lambda df: df,
            "xref: records missing from std_records: tickets:T-1",
            id="xref names an unknown record",
        ),
        pytest.param(
            lambda df: df,
            lambda df: df.with_columns(
                unified_id=pl.when(pl.col("source_system") == "shop")
                .then(None)
                .otherwise("unified_id")
            ),
            "xref: null unified_id for shop:S-1",
            id="null unified_id",
        ),
    ],
)
def test_inputs_that_break_the_contract_raise(
    std_change: Callable[[pl.DataFrame], pl.DataFrame],
    xref_change: Callable[[pl.DataFrame], pl.DataFrame],
    message: str,
    make_std: Builder,
    make_xref: Builder,
) -> None:
    with pytest.raises(LineageInputError, match=message):
        build_golden_record(
            std_change(make_std(RECORDS)),
            xref_change(make_xref(CLUSTERS)),
            sources=SOURCES,
            settings=SurvivorshipSettings(decay_by_field={}),
            run_id="r",
        )


def test_source_without_trust_raises(make_std: Builder, make_xref: Builder) -> None:
    sources = {k: v for k, v in SOURCES.items() if k != "tickets"}
    with pytest.raises(SourceTrustError, match=r"\['tickets'\]"):
        build_golden_record(
            make_std(RECORDS),
            make_xref(CLUSTERS),
            sources=sources,
            settings=SurvivorshipSettings(decay_by_field={}),
            run_id="r",
        )


RANDOM_RECORD = st.fixed_dictionaries(
    {
        "system": st.sampled_from(["crm", "erp", "shop", "tickets"]),
        "cluster": st.sampled_from(["U1", "U2", "U3"]),
        "at": st.sampled_from([None, "2023-01-01", "2024-01-01", "2024-01-01 12:00"]),
        # Few distinct values, so ties and corroboration are common.
        "name": st.sampled_from([None, "Acme", "acme", "ACME Ltd"]),
        "address": st.sampled_from([None, "1 Road", "2 Street"]),
        "city": st.sampled_from([None, "Shanghai", "Beijing"]),
        "phone": st.sampled_from([None, "+8613800138000", "555"]),
        "phone_valid": st.booleans(),
        "tier": st.sampled_from([None, "S", "A"]),
    }
)


def _std_and_xref(
    records: list[dict[str, Any]], make_std: Builder, make_xref: Builder
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Random records keyed R0, R1, ... and the xref of the clusters they name."""
    keyed = [{**r, "id": f"R{i}"} for i, r in enumerate(records)]
    clusters: dict[str, list[tuple[str, str]]] = {}
    for r in keyed:
        clusters.setdefault(r["cluster"], []).append((r["system"], r["id"]))
    return make_std(keyed), make_xref(clusters)


@hypothesis_settings(derandomize=True, max_examples=60, deadline=None)
@given(records=st.lists(RANDOM_RECORD, min_size=1, max_size=12), data=st.data())
def test_shuffling_input_rows_changes_nothing(
    records: list[dict[str, Any]], data: st.DataObject, make_std: Builder, make_xref: Builder
) -> None:
    std, xref = _std_and_xref(records, make_std, make_xref)
    std_order = data.draw(st.permutations(range(std.height)))
    xref_order = data.draw(st.permutations(range(xref.height)))
    settings = SurvivorshipSettings(rules={"tier": "most_recent"}, decay_by_field={})

    def run(std: pl.DataFrame, xref: pl.DataFrame) -> GoldenRecord:
        return build_golden_record(std, xref, sources=SOURCES, settings=settings, run_id="r")

    original, shuffled = run(std, xref), run(std[list(std_order)], xref[list(xref_order)])
    assert_frame_equal(shuffled.golden_customer, original.golden_customer)
    assert_frame_equal(shuffled.field_lineage, original.field_lineage)
    assert_frame_equal(shuffled.field_candidates, original.field_candidates)
    named = sorted({r["cluster"] for r in records})
    assert original.golden_customer["unified_id"].to_list() == named


@hypothesis_settings(derandomize=True, max_examples=40, deadline=None)
@given(
    records=st.lists(RANDOM_RECORD, min_size=2, max_size=12),
    part_records=st.integers(min_value=1, max_value=4),
)
def test_building_customers_range_by_range_equals_building_them_at_once(
    records: list[dict[str, Any]], part_records: int, make_std: Builder, make_xref: Builder
) -> None:
    std, xref = _std_and_xref(records, make_std, make_xref)
    settings = SurvivorshipSettings(rules={"tier": "most_recent"}, decay_by_field={})

    def run(part: int) -> GoldenRecord:
        return build_golden_record(
            std, xref, sources=SOURCES, settings=settings, run_id="r", part_records=part
        )

    whole, in_ranges = run(len(records)), run(part_records)
    assert_frame_equal(in_ranges.golden_customer, whole.golden_customer)
    assert_frame_equal(in_ranges.field_lineage, whole.field_lineage)
    assert_frame_equal(in_ranges.field_candidates, whole.field_candidates)


def test_repeated_text_is_stored_once_per_value(make_std: Builder, make_xref: Builder) -> None:
    """The run ID (and the other few-valued columns) cost 16 bytes a row, not their length."""
    run_id = "0b8a7c3e-1111-2222-3333-444455556666"
    golden = build_golden_record(
        make_std(RECORDS),
        make_xref(CLUSTERS),
        sources=SOURCES,
        settings=SurvivorshipSettings(),
        run_id=run_id,
    )

    def payload(column: pl.Series) -> int:
        array = column.to_arrow(compat_level=pl.CompatLevel.newest())
        return sum(buffer.size for buffer in array.buffers()[2:] if buffer is not None)

    candidates = golden.field_candidates
    for frame in (candidates, golden.field_lineage):
        assert frame["run_id"].unique().to_list() == [run_id]
        assert payload(frame["run_id"]) == len(run_id)
        # The lineage rows are winners among the candidates and point into their buffers.
        for column in ("decay_curve", "rule", "lost_because", "source_column"):
            if column in frame.columns:
                distinct = candidates[column].drop_nulls().unique().to_list()
                assert payload(frame[column]) <= sum(len(v.encode()) for v in distinct)


def test_lineage_is_the_winning_candidates_in_polars_and_in_sql(golden: GoldenRecord) -> None:
    """The property, a column subset of it, and the query publishing uses give the same rows."""
    import duckdb

    from lineage.golden import FIELD_LINEAGE_QUERY, lineage_of

    lineage = golden.field_lineage
    winners = golden.field_candidates.filter(pl.col("is_winner"))
    assert lineage.equals(winners.select(FIELD_LINEAGE_COLUMNS))
    assert (
        lineage.height
        == golden.golden_customer.select(pl.sum_horizontal(pl.col(GOLDEN_FIELDS).is_not_null()))
        .to_series()
        .sum()
    )
    assert lineage_of(golden.field_candidates, ["field", "rule"]).equals(
        lineage.select("field", "rule")
    )
    with pytest.raises(KeyError, match="lost_because"):
        lineage_of(golden.field_candidates, ["lost_because"])
    with duckdb.connect() as con:
        con.register("field_candidates", golden.field_candidates.to_arrow())
        from_sql = con.sql(FIELD_LINEAGE_QUERY).pl()
    zoned = [c for c, t in from_sql.schema.items() if isinstance(t, pl.Datetime)]
    assert from_sql.with_columns(pl.col(zoned).dt.convert_time_zone("UTC")).equals(lineage)
