"""A failed run names its cause in one line and leaves the published warehouse intact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.pipelines.conftest import run_samples

FUSION = Path(sys.executable).parent / "fusion"


def _golden_state(warehouse: Path) -> tuple[int, str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    try:
        count = con.execute("SELECT count(*) FROM golden_customer").fetchall()[0][0]
        first = con.execute("SELECT * FROM golden_customer ORDER BY unified_id LIMIT 5").fetchall()
    finally:
        con.close()
    return count, (warehouse / "current").readlink().name, first


def _fusion_run(config: Path, warehouse: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FUSION), "run", "--config", str(config), "--warehouse", str(warehouse)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_schema_drift_fails_with_one_line_and_keeps_previous_warehouse(
    samples_copy: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    config = samples_copy / "fusion.yaml"
    run_samples(warehouse, config)
    before = _golden_state(warehouse)

    # The ERP export loses its tier column (客户等级): every row rewritten without it.
    erp = samples_copy / "erp_customers.csv"
    lines = (
        erp.read_bytes().split(b"\r\n")
        if b"\r\n" in erp.read_bytes()
        else erp.read_bytes().split(b"\n")
    )
    header = lines[0].decode("gb18030").split(",")
    drop = header.index("客户等级")
    rewritten = [
        b",".join(cell for i, cell in enumerate(line.split(b",")) if i != drop) for line in lines
    ]
    erp.write_bytes(b"\n".join(rewritten))

    result = _fusion_run(config, warehouse)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "erp" in last_line
    assert "客户等级" in last_line
    assert "erp_customers.csv" in last_line
    assert _golden_state(warehouse) == before
    log = (warehouse / "run_log.jsonl").read_text(encoding="utf-8")
    assert '"status": "failed"' in log


def test_missing_config_is_one_clear_line(tmp_path: Path) -> None:
    result = _fusion_run(tmp_path / "nope.yaml", tmp_path / "wh")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"fusion run failed: config file not found: {tmp_path / 'nope.yaml'}"
    ]
    assert not (tmp_path / "wh" / "golden.duckdb").exists()


def test_second_concurrent_run_is_refused(tmp_path: Path) -> None:
    from pipelines.warehouse import Warehouse, WarehouseError

    warehouse = Warehouse(tmp_path / "wh")
    with warehouse.lock(), pytest.raises(WarehouseError, match="locked by another fusion run"):
        run_samples(warehouse.root)
