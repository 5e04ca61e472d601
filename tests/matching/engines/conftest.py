"""A real Spark standalone cluster (a master and two one-core workers) for the engine tests.

Local mode runs the executors inside the driver's JVM; a standalone cluster
runs them in other processes, started by other JVMs, so a test on it shows
that what the Spark engine ships to executors really travels (closures,
Arrow batches, the ``matching`` code on the workers' ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from matching.engines.spark_standalone import StandaloneCluster, standalone_cluster
from matching.settings import SparkSettings

# Each worker offers one core and 1 GiB; executors take 768 MiB of it (the machine has 2 cores).
WORKER_MEMORY = "1g"
EXECUTOR_MEMORY = "768m"


@pytest.fixture(scope="session")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """A master and two workers on 127.0.0.1, every worker registered; stopped at the end."""
    with standalone_cluster(
        tmp_path_factory.mktemp("spark-standalone"), workers=2, cores=1, memory=WORKER_MEMORY
    ) as cluster:
        yield cluster


def standalone_settings(cluster: StandaloneCluster) -> SparkSettings:
    """Settings of a session on ``cluster``: executors import this checkout's code."""
    python_path = os.pathsep.join(p for p in sys.path if p)
    return SparkSettings(
        master=cluster.master_url,
        app_name="fusion-standalone-tests",
        shuffle_partitions=4,
        driver_memory="1g",
        conf=(
            ("spark.executor.memory", EXECUTOR_MEMORY),
            ("spark.executor.cores", "1"),
            ("spark.executorEnv.PYTHONPATH", python_path),
        ),
    )


@pytest.fixture
def standalone_spark(standalone: StandaloneCluster) -> Iterator[SparkSettings]:
    """Settings whose session runs on the standalone cluster, for one test.

    Only one SparkSession lives in a process and ``spark_session`` returns the
    running one, so a local-mode session other tests started is stopped first
    (they get a new one from ``getOrCreate`` afterwards), and this one is
    stopped at the end.
    """
    from pyspark.sql import SparkSession

    from matching.engines.spark_session import spark_session

    running = SparkSession.getActiveSession()
    if running is not None:
        running.stop()
    settings = standalone_settings(standalone)
    session = spark_session(settings)
    assert session.sparkContext.master == standalone.master_url
    yield settings
    session.stop()
