"""A Spark standalone cluster on this machine, from the pip-installed PySpark.

The tests and the bench run the Spark engine against a real cluster (a
master and separate worker JVMs whose executors are other processes than the
driver) rather than local mode, where driver and executors share one JVM and
"what runs on the driver" cannot be told apart by memory. PySpark's wheel
ships ``bin/spark-class``, so no separate Spark download is needed.

The workers inherit this process's environment, so their executors' Python
workers import the same ``matching`` code (``PYTHONPATH``) the driver runs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path


class ClusterStartError(RuntimeError):
    """The master or a worker did not come up (the logs are in the error message)."""


@dataclass(frozen=True)
class StandaloneCluster:
    """A running cluster: its master URL, its web UI and the worker processes' ids."""

    master_url: str
    ui_url: str
    master_pid: int
    worker_pids: tuple[int, ...]


def spark_home() -> Path:
    """The Spark installation PySpark runs from (the wheel's own directory when pip-installed)."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home())


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alive_workers(ui_url: str) -> int:
    """How many workers the master's JSON status page lists as ALIVE."""
    try:
        with urllib.request.urlopen(f"{ui_url}/json", timeout=2) as response:  # noqa: S310
            status = json.load(response)
    except OSError:
        return 0
    return sum(1 for worker in status.get("workers", []) if worker.get("state") == "ALIVE")


def _spawn(arguments: list[str], log: Path, stack: ExitStack) -> subprocess.Popen[bytes]:
    """Start ``spark-class ARGS``, output to ``log``; stopped (by pid) when ``stack`` closes."""
    environment = os.environ | {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }
    handle = stack.enter_context(log.open("wb"))
    process = subprocess.Popen(  # noqa: S603 - our own argument list
        [str(spark_home() / "bin" / "spark-class"), *arguments],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=environment,
        start_new_session=True,
    )
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate one process we started (and wait), killing it if it does not stop."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


@contextmanager
def standalone_cluster(
    work_dir: Path,
    *,
    workers: int = 2,
    cores: int = 1,
    memory: str = "1g",
    timeout_s: float = 120.0,
) -> Iterator[StandaloneCluster]:
    """A master and ``workers`` workers on 127.0.0.1, stopped when the block ends.

    Waits until the master lists every worker as ALIVE. Each worker offers
    ``cores`` cores and ``memory`` to executors; ports are picked free, so two
    clusters (two test sessions) can run side by side.

    Example::

        with standalone_cluster(tmp) as cluster:
            settings = SparkSettings(master=cluster.master_url)
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    port, ui_port = free_port(), free_port()
    master_url, ui_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}"
    with ExitStack() as stack:
        master = _spawn(
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(port), "--webui-port", str(ui_port)],
            work_dir / "master.log",
            stack,
        )  # fmt: skip
        started = []
        for k in range(workers):
            started.append(
                _spawn(
                    ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                     "--cores", str(cores), "--memory", memory,
                     "--webui-port", str(free_port()),
                     "--work-dir", str(work_dir / f"worker-{k}"), master_url],
                    work_dir / f"worker-{k}.log",
                    stack,
                )
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while alive_workers(ui_url) < workers:
            dead = [p for p in (master, *started) if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                    for log in sorted(work_dir.glob("*.log"))
                )
                msg = f"Spark standalone cluster did not start ({workers} workers expected)\n{logs}"
                raise ClusterStartError(msg)
            time.sleep(0.5)
        yield StandaloneCluster(
            master_url=master_url,
            ui_url=ui_url,
            master_pid=master.pid,
            worker_pids=tuple(p.pid for p in started),
        )
