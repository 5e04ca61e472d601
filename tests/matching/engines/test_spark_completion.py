"""Thin-cluster completion with the pairs on Spark: the chain splits as on the default engine.

Blocking on street address, e-mail and phone proposes only a chain: Robert
Frost's two records, Robert Huw's two, and a record naming only 'Robert' that
shares Frost's e-mail and Huw's phone. Four of the ten record pairs were
compared, so the chain is a thin cluster; completion compares Frost with Huw,
their disagreement becomes a cannot-link, and clustering again splits them.
``match_on_spark`` (and ``fusion run``'s ``match_in_full_on_spark``) must give the
default engine's clusters and write the completion pairs with the others.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from matching import match_records
from matching.attributes import run_comparisons
from matching.cluster_completion import COMPLETION_RULE
from matching.incremental import match_in_full
from matching.settings import BlockingSettings, ClusterSettings, MatchSettings, SparkSettings
from matching.spark_indexed import match_in_full_on_spark
from matching.spark_match import match_on_spark
from matching.standardise import standardise
from tests.matching.conftest import canonical_frame
from tests.matching.engines.test_spark_indexed import in_cluster_probability
from tests.matching.engines.test_spark_standalone import partition
from tests.matching.test_cluster_completion import six_bit_model

FROST = {
    "name": "Robert Frost",
    "address": "12 Elm Road",
    "postcode": "NR20 5JQ",
    "birth_date": "1793-01-01",
}
HUW = {
    "name": "Robert Huw",
    "address": "9 Oak Lane",
    "postcode": "SA19 9UW",
    "birth_date": "1580-01-01",
}
EMAIL = "rfrost@example.org"
PHONE = "+44 20 7123 4567"
# Blocking proposes these four pairs only (address, e-mail, phone, address).
CHAIN = [(0, 1), (1, 2), (2, 3), (3, 4)]
SPLIT = {frozenset({0, 1, 2}), frozenset({3, 4})}


def chained_people() -> tuple[pl.DataFrame, MatchSettings]:
    """The five records (standardised) and settings whose blocking finds only ``CHAIN``."""
    partial = {
        "name": "Robert",
        "email": EMAIL,
        "postcode": FROST["postcode"],
        "tax_id": "QQ123456C",
        "phone": PHONE,
        "birth_date": HUW["birth_date"],
    }
    rows = [
        FROST,
        {**FROST, "email": EMAIL, "tax_id": "QQ123456C"},
        partial,
        {**HUW, "phone": PHONE},
        HUW,
    ]
    std = standardise(
        canonical_frame([{"customer_type": "person", "country": "GB", **row} for row in rows]),
        default_regions={},
    )
    settings = MatchSettings(blocking=BlockingSettings(rules=("address_key", "email", "phone")))
    return std, settings


def on_spark(settings: MatchSettings, spark: SparkSettings) -> MatchSettings:
    return settings.model_copy(update={"engine": "spark", "spark": spark})


def test_blocking_chains_the_two_people_when_completion_is_off() -> None:
    """The premise: without completion the default engine keeps the chain whole."""
    std, settings = chained_people()
    off = settings.model_copy(update={"clustering": ClusterSettings(complete_thin_clusters=False)})
    result = match_records(std, settings=off, model=six_bit_model(run_comparisons(off)))
    assert result.scored_pairs.select("left", "right").sort("left", "right").rows() == CHAIN
    assert partition(result.clusters) == {frozenset(range(5))}


def test_match_on_spark_completes_the_chain_as_the_default_engine(
    spark_settings: SparkSettings, tmp_path: Path
) -> None:
    std, settings = chained_people()
    model = six_bit_model(run_comparisons(settings))
    default = match_records(std, settings=settings, model=model)
    result = match_on_spark(
        std, settings=on_spark(settings, spark_settings), model=model, scored_pairs_out=tmp_path
    )
    assert partition(default.clusters) == SPLIT
    assert partition(result.clusters) == SPLIT
    assert result.completion_pairs == result.stage_rows["completion_pairs"] == 6

    written = pl.read_parquet(tmp_path / "*.parquet").sort("left", "right")
    expected = default.scored_pairs.sort("left", "right")
    added = written.filter(pl.col("blocking_rules") == COMPLETION_RULE)
    assert added.select("left", "right").rows() == [
        (0, 2), (0, 3), (0, 4), (1, 3), (1, 4), (2, 4)
    ]  # fmt: skip
    assert written.select("left", "right").rows() == expected.select("left", "right").rows()
    for column in ("match_weight", "match_probability", "name_weight", "birth_date_weight"):
        assert written[column].to_list() == expected[column].to_list(), column
    for column in ("decision", "blocking_rules", "name_level", "postcode_level"):
        assert written[column].to_list() == expected[column].cast(pl.String).to_list(), column
    assert not written["weak_link"].is_null().any()

    decisions = dict(default.scored_pairs.group_by("decision").len().iter_rows())
    assert result.decision_counts == {str(k): v for k, v in decisions.items()}
    best = in_cluster_probability(default.scored_pairs, default.clusters).sort("record_index")
    assert result.record_match_probability.sort("record_index").equals(best)


@pytest.mark.slow
def test_fusion_runs_spark_path_completes_the_chain_as_match_in_full(
    spark_settings: SparkSettings, tmp_path: Path
) -> None:
    """``match_in_full_on_spark`` (precomputed name vectors): clusters and pair counts."""
    std, settings = chained_people()
    model = six_bit_model(run_comparisons(settings))
    default = match_in_full(std, settings=settings, statistics=None, model=model)
    result = match_in_full_on_spark(
        std,
        settings=on_spark(settings, spark_settings),
        statistics=None,
        pairs_dir=tmp_path / "pairs",
        model=model,
    )
    assert partition(default.clusters) == partition(result.clusters) == SPLIT
    assert result.work == default.work
    assert result.candidate_pairs == default.scored_pairs.height == len(CHAIN) + 6
    read_back = pl.concat(list(result.scored_pair_parts(100))).sort("left", "right")
    assert read_back.equals(default.scored_pairs.sort("left", "right"))
