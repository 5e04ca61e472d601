"""Killed runs, full disks, permission errors and concurrent runs.

``fusion run`` is started as a subprocess that SIGKILLs itself at an injected
point (pipelines/faults.py): after each stage's asset and at three moments of
publishing. Afterwards the previously published warehouse must be readable
and unchanged (same release, same file digests, same table contents), and the
next run must complete, clean up what the killed one left, log it, and give
the same unified IDs. Full disk and permission errors are injected where they
would be raised and must surface as one line with the warehouse unchanged.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipelines.faults import FAULT_ACTION, FAULT_AT
from pipelines.orchestration.runner import RunFailedError
from pipelines.warehouse import WarehouseError
from tests.reliability.conftest import (
    FUSION,
    RUN_BOOKKEEPING,
    read_tables,
    release_digest,
    run_quiet,
    table_hashes,
    two_source_samples,
)

# One point per stage of the graph, and publishing: some tables written; current swapped but
# the run not logged. bench/fault_injection.py kills at every point (RELIABILITY.md).
KILL_POINTS = (
    "after:source_crm",
    "after:match_result",
    "after:golden_record",
    "after:release_tables",
    "publish:mid_write",
    "publish:swapped",
)


@dataclass(frozen=True)
class Baseline:
    config: Path
    warehouse: Path
    digest: tuple[str, dict[str, str]]
    hashes: dict[str, str]
    xref: pl.DataFrame


@dataclass(frozen=True)
class Killed:
    warehouse: Path
    returncode: int
    stderr: str
    digest: tuple[str, dict[str, str]]
    hashes: dict[str, str]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """A warehouse published from 30 lines of two sample exports."""
    folder = tmp_path_factory.mktemp("faults")
    config = two_source_samples(folder / "data", lines=30)
    warehouse = folder / "baseline"
    run_quiet(config, warehouse)
    xref = read_tables(warehouse)["customer_xref"]
    return Baseline(
        config, warehouse, release_digest(warehouse), table_hashes(warehouse), _ids(xref)
    )


def _ids(xref: pl.DataFrame) -> pl.DataFrame:
    return xref.select("source_system", "source_record_id", "unified_id").sort(
        "source_system", "source_record_id"
    )


def _kill_at(point: str, baseline: Baseline, folder: Path) -> Killed:
    warehouse = folder / point.replace(":", "_")
    shutil.copytree(baseline.warehouse, warehouse, symlinks=True)
    env = {**os.environ, FAULT_AT: point, FAULT_ACTION: "kill"}
    command = [str(FUSION), "run", "--config", str(baseline.config), "--warehouse", str(warehouse)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    return Killed(
        warehouse, done.returncode, done.stderr, release_digest(warehouse), table_hashes(warehouse)
    )


@pytest.fixture(scope="module")
def killed(baseline: Baseline, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Killed]:
    """Each kill point on its own copy of the baseline warehouse, two at a time."""
    folder = tmp_path_factory.mktemp("killed")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {p: pool.submit(_kill_at, p, baseline, folder) for p in KILL_POINTS}
        return {point: future.result() for point, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_keeps_the_warehouse_and_the_next_run_completes(
    baseline: Baseline, killed: dict[str, Killed], point: str
) -> None:
    outcome = killed[point]
    assert outcome.returncode == -signal.SIGKILL, outcome.stderr[-2000:]
    if point == "publish:swapped":
        # Killed after the atomic swap: the new release is current, complete and readable,
        # with the same golden record as the baseline (same inputs).
        assert outcome.digest[0] != baseline.digest[0]
        assert outcome.hashes.keys() == baseline.hashes.keys()
        golden = "golden_customer"
        assert (
            table_hashes(outcome.warehouse, ignore=RUN_BOOKKEEPING)[golden]
            == (table_hashes(baseline.warehouse, ignore=RUN_BOOKKEEPING)[golden])
        )
    else:
        assert outcome.digest == baseline.digest
        assert outcome.hashes == baseline.hashes

    run_quiet(baseline.config, outcome.warehouse)
    tables = read_tables(outcome.warehouse)
    assert _ids(tables["customer_xref"]).equals(baseline.xref)
    releases = outcome.warehouse / "releases"
    assert not list(releases.glob(".staging-*"))
    assert len([p for p in releases.iterdir() if p.is_dir()]) <= 3
    statuses = tables["pipeline_runs"]["status"].to_list()
    assert statuses == ["succeeded", "abandoned", "succeeded"]


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("point", "action", "expected"),
    [
        ("publish:mid_write", "enospc", "publishing failed: No space left on device"),
        ("publish:renamed", "eacces", "publishing failed: Permission denied"),
        ("after:match_result", "enospc", "No space left on device"),
    ],
)
def test_full_disk_or_permission_error_is_one_line_and_keeps_the_warehouse(
    baseline: Baseline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    action: str,
    expected: str,
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(baseline.warehouse, warehouse, symlinks=True)
    monkeypatch.setenv(FAULT_AT, point)
    monkeypatch.setenv(FAULT_ACTION, action)
    with pytest.raises(RunFailedError) as info:
        run_quiet(baseline.config, warehouse)
    assert expected in _one_line(info.value)
    assert release_digest(warehouse) == baseline.digest
    assert table_hashes(warehouse) == baseline.hashes
    # Nothing half-written is left: no staging folder, no release that never became current.
    releases = warehouse / "releases"
    assert not list(releases.glob(".staging-*"))
    assert sorted(p.name for p in releases.iterdir()) == [baseline.digest[0].split("/")[-1]]
    last = (warehouse / "run_log.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    assert '"status": "failed"' in last
    assert expected.split(": ")[-1] in last


def test_warehouse_that_is_not_a_folder_is_one_line(baseline: Baseline, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WarehouseError) as info:
        run_quiet(baseline.config, blocker / "wh")
    assert _one_line(info.value) == (
        f"warehouse {blocker / 'wh'}: cannot create or open it: Not a directory"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_read_only_warehouse_is_one_line(baseline: Baseline, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(baseline.warehouse, warehouse, symlinks=True)
    (warehouse / ".lock").unlink()
    warehouse.chmod(0o555)
    try:
        with pytest.raises(WarehouseError) as info:
            run_quiet(baseline.config, warehouse)
        assert _one_line(info.value).endswith("cannot create or open it: Permission denied")
    finally:
        warehouse.chmod(0o755)
    assert release_digest(warehouse) == baseline.digest


def _wait_until_stopped(pid: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.05)
    msg = f"process {pid} did not stop within {timeout} s"
    raise AssertionError(msg)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_second_run_is_refused_while_the_first_holds_the_lock(
    baseline: Baseline, tmp_path: Path
) -> None:
    """The first run is frozen mid-run (SIGSTOP) holding the lock; the second is refused."""
    warehouse = tmp_path / "wh"
    shutil.copytree(baseline.warehouse, warehouse, symlinks=True)
    env = {**os.environ, FAULT_AT: "after:match_result", FAULT_ACTION: "stop"}
    command = [str(FUSION), "run", "--config", str(baseline.config), "--warehouse", str(warehouse)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_stopped(first.pid, timeout=120)
        with pytest.raises(WarehouseError) as info:
            run_quiet(baseline.config, warehouse)
        assert _one_line(info.value) == (
            f"warehouse {warehouse} is locked by another fusion run; try again later"
        )
        assert release_digest(warehouse) == baseline.digest
        assert table_hashes(warehouse) == baseline.hashes
    finally:
        first.send_signal(signal.SIGCONT)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr.decode()[-2000:]
    tables = read_tables(warehouse)
    assert _ids(tables["customer_xref"]).equals(baseline.xref)
    assert tables["pipeline_runs"]["status"].to_list() == ["succeeded", "succeeded"]
