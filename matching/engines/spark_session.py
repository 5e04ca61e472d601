"""The Spark session the Spark engine runs on, configured from ``SparkSettings``.

One session per process: ``getOrCreate`` returns the running one, so the
pipeline, the bench jobs and the tests (which share one session per test
session) never start a second JVM. Python workers run the driver's
interpreter, so they import the same ``matching`` code the driver runs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from matching.settings import SparkSettings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailableError(RuntimeError):
    """The ``spark`` engine was chosen but PySpark (the ``spark`` extra) is not installed."""


def spark_session(settings: SparkSettings) -> SparkSession:
    """The running Spark session, or a new one built from ``settings``.

    ``SPARK_LOCAL_IP`` defaults to the loopback address: local mode then needs
    no resolvable host name, which sandboxes and CI runners often lack.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        msg = "matching.engine is 'spark' but pyspark is not installed: pip install 'fusion[spark]'"
        raise SparkUnavailableError(msg) from error
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(settings.master)
        .appName(settings.app_name)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.default.parallelism", str(settings.shuffle_partitions))
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.arrow_batch_rows))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.skewJoin.enabled", "true")
    )
    for key, value in settings.conf:
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
