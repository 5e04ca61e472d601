"""Fixtures shared across test folders: one local Spark session per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from matching.settings import SparkSettings

# Two local cores and four shuffle partitions: the test data are small, and
# Spark's default of 200 partitions would spend the test time on task overhead.
SPARK_TEST_SETTINGS = SparkSettings(
    master="local[2]", app_name="fusion-tests", shuffle_partitions=4, driver_memory="2g"
)


@pytest.fixture(scope="session")
def spark_settings() -> Iterator[SparkSettings]:
    """Settings of the one Spark session the tests share; the session stops at the end.

    Code under test calls ``spark_session(settings)`` with these settings and
    gets the running session back (``getOrCreate``), never a second JVM.
    """
    from matching.engines.spark_session import spark_session

    session = spark_session(SPARK_TEST_SETTINGS)
    yield SPARK_TEST_SETTINGS
    session.stop()
