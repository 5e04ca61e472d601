"""matching.domain_owner: a cluster naming no customer joins the one owner of its company domain."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matching.domain_owner import attach_to_domain_owners
from matching.linkage import cluster_under_decisions
from matching.settings import ClusterSettings, MatchSettings

NO_CANNOT_LINK = pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})


def _std(records: list[tuple[str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "record_index": pl.Series(range(len(records)), dtype=pl.UInt32),
            "name_key": [name for name, _ in records],
            "company_domain": [domain for _, domain in records],
        },
        schema_overrides={"name_key": pl.String, "company_domain": pl.String},
    )


@pytest.mark.parametrize(
    ("records", "labels", "expected"),
    [
        # A blank-company ticket on the domain one company holds joins the company.
        ([("zhanjia", "zj.com"), ("zhanjia", None), (None, "zj.com")], [0, 0, 2], [0, 0, 0]),
        # Two tickets of one requester (one cluster) join together.
        ([("zhanjia", "zj.com"), (None, "zj.com"), (None, "zj.com")], [0, 1, 1], [0, 0, 0]),
        # The domain is held by two named customers (a group's companies): nothing moves.
        ([("zhanjia", "zj.com"), ("zhanjia tianjin", "zj.com"), (None, "zj.com")], [0, 1, 2],
         [0, 1, 2]),
        # A named record is never moved, whatever its domain.
        ([("zhanjia", "zj.com"), ("wang wei", "zj.com")], [0, 1], [0, 1]),
        # An unnamed cluster with two company domains says nothing about one owner.
        ([("zhanjia", "zj.com"), (None, "zj.com"), (None, "other.cn")], [0, 1, 1], [0, 1, 1]),
        # No company domain (free mail is none): nothing moves.
        ([("zhanjia", "zj.com"), (None, None)], [0, 1], [0, 1]),
        # The owner's label stays its smallest record.
        ([(None, "zj.com"), ("zhanjia", "zj.com")], [0, 1], [0, 0]),
    ],
)  # fmt: skip
def test_unnamed_clusters_join_the_one_owner_of_their_company_domain(
    records: list[tuple[str | None, str | None]], labels: list[int], expected: list[int]
) -> None:
    moved, _ = attach_to_domain_owners(_std(records), np.array(labels), NO_CANNOT_LINK)
    assert moved.tolist() == expected


def test_a_cannot_link_between_the_two_keeps_them_apart() -> None:
    std = _std([("zhanjia", "zj.com"), (None, "zj.com")])
    cannot = pl.DataFrame({"left": [0], "right": [1]}, schema=NO_CANNOT_LINK.schema)
    moved, attached = attach_to_domain_owners(std, np.array([0, 1]), cannot)
    assert moved.tolist() == [0, 1]
    assert attached == 0


def test_clustering_attaches_unless_switched_off_or_a_pair_vetoes() -> None:
    std = _std([("zhanjia", "zj.com"), ("zhanjia", "zj.com"), (None, "zj.com")])
    # 0-1 one company; 2 a ticket sharing only the domain (a review-band pair).
    scored = pl.DataFrame(
        {
            "left": [0, 0, 1],
            "right": [1, 2, 2],
            "name_weight": [6.0, 0.0, 0.0],
            "email_weight": [3.0, 2.7, 2.7],
            "match_weight": [9.0, 0.7, 0.7],
            "match_probability": [0.998, 0.62, 0.62],
        },
        schema_overrides={"left": pl.UInt32, "right": pl.UInt32},
    )
    on = cluster_under_decisions(std, scored, steward_decisions=None, settings=MatchSettings())
    assert on.clusters["cluster"].to_list() == [0, 0, 0]
    off = cluster_under_decisions(
        std,
        scored,
        steward_decisions=None,
        settings=MatchSettings(clustering=ClusterSettings(attach_to_domain_owners=False)),
    )
    assert off.clusters["cluster"].to_list() == [0, 0, 2]
    vetoed = scored.with_columns(
        pl.when(pl.col("right") == 2).then(0.001).otherwise(pl.col("match_probability"))
        .alias("match_probability")
    )  # fmt: skip
    apart = cluster_under_decisions(std, vetoed, steward_decisions=None, settings=MatchSettings())
    assert apart.clusters["cluster"].to_list() == [0, 0, 2]
