"""SIGKILL during the Delta commit of a publish: readers keep the previous release.

A release's tables are committed to their Delta tables one by one, and only
then named by a release (manifest, catalog, ``current``). ``fusion run`` is
killed right after its first Delta commit, on the warehouse itself (not a
copy, whose catalog would name the original's files): the new Delta version
exists, yet the current release, its files and what every query answers are
the previous ones; the next run completes on top of it, and the killed run's
version is never read.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pipelines.faults import FAULT_ACTION, FAULT_AT
from pipelines.warehouse import Warehouse
from pipelines.warehouse.sql import query_warehouse
from tests.reliability.conftest import (
    FUSION,
    RUN_BOOKKEEPING,
    read_tables,
    release_digest,
    run_quiet,
    table_hashes,
    two_source_samples,
)

COUNT_RUNS = "SELECT count(*) AS runs FROM pipeline_runs"


def _runs(warehouse: Path, *, as_of: str | None = None) -> int:
    runs: int = query_warehouse(warehouse, COUNT_RUNS, as_of=as_of).frame["runs"].item()
    return runs


@pytest.mark.slow
def test_sigkill_during_the_delta_commit_leaves_the_previous_release_current(
    tmp_path: Path,
) -> None:
    config = two_source_samples(tmp_path / "data", lines=30)
    root = tmp_path / "wh"
    run_quiet(config, root)
    warehouse = Warehouse(root)
    first = warehouse.current_release()
    assert first is not None
    digest, hashes = release_digest(root), table_hashes(root)
    golden = table_hashes(root, ignore=RUN_BOOKKEEPING)["golden_customer"]
    manifest = warehouse.manifest(first)
    assert manifest is not None

    env = {**os.environ, FAULT_AT: "publish:delta_commit", FAULT_ACTION: "kill"}
    command = [str(FUSION), "run", "--config", str(config), "--warehouse", str(root)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]

    # The kill came after a Delta commit: some table has a version no release names.
    latest = {n: DeltaTable(t.path).version() for n, t in manifest.tables.items()}
    ahead = [n for n, t in manifest.tables.items() if latest[n] > t.version]
    assert len(ahead) == 1, latest
    # Readers see the previous release, through the catalog and the SQL door alike.
    assert warehouse.current_release() == first
    assert release_digest(root) == digest
    assert table_hashes(root) == hashes
    assert _runs(root) == 1

    run_quiet(config, root)
    second = warehouse.current_release()
    assert second not in (None, first)
    tables = read_tables(root)
    assert tables["pipeline_runs"]["status"].to_list() == ["succeeded", "abandoned", "succeeded"]
    # Same inputs, same golden record and IDs; the killed run's version was not built on.
    assert table_hashes(root, ignore=RUN_BOOKKEEPING)["golden_customer"] == golden
    # Time travel: the first release still answers as it did.
    assert _runs(root, as_of=first) == 1
    assert _runs(root) == 3
