"""Domain owners on the Spark path: the same attachments as ``cluster_under_decisions`` makes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matching.domain_owner import attach_to_domain_owners
from matching.engines.spark_frames import to_spark
from matching.engines.spark_session import spark_session
from matching.settings import MatchSettings, SparkSettings
from matching.spark_match import _attached_to_domain_owners

STD = pl.DataFrame(
    {
        "record_index": pl.Series(range(4), dtype=pl.UInt32),
        "name_key": ["zhanjia", "zhanjia", None, None],
        "company_domain": ["zj.com", "zj.com", "zj.com", "other.cn"],
    }
)


@pytest.mark.parametrize(
    ("ticket_probability", "expected"),
    [(0.62, [0, 0, 0, 3]), (0.001, [0, 0, 2, 3])],  # the second a confident non-match
)
def test_spark_attaches_like_the_driver(
    spark_settings: SparkSettings, ticket_probability: float, expected: list[int]
) -> None:
    edges = pl.DataFrame(
        {
            "left": [0, 1],
            "right": [1, 2],
            "match_weight": [9.0, 0.7],
            "match_probability": [0.998, ticket_probability],
            "weak_link": [False, True],
        },
        schema_overrides={"left": pl.Int64, "right": pl.Int64},
    )
    labels = np.array([0, 0, 2, 3], dtype=np.int64)
    cannot = edges.filter(pl.col("match_probability") < 0.01).select("left", "right")
    on_driver, _ = attach_to_domain_owners(STD, labels, cannot)
    spark = spark_session(spark_settings)
    on_spark = _attached_to_domain_owners(
        spark, STD, to_spark(spark, edges), labels, settings=MatchSettings()
    )
    assert on_spark.tolist() == on_driver.tolist() == expected
