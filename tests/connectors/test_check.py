"""check-config: a config against its exports, without Dagster, matching or the pipeline."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.check import check_config
from connectors.errors import ConfigError

SAMPLES = Path(__file__).parents[2] / "data" / "samples" / "fusion.yaml"


def test_samples_report_first_rows_and_the_quarantine() -> None:
    started = time.perf_counter()
    report = check_config(SAMPLES, rows=3)
    elapsed = time.perf_counter() - started
    print(f"check_config on the samples: {elapsed:.2f} s")  # measured, not asserted
    assert report.ok
    crm = {s.name: s for s in report.sources}["crm"]
    assert crm.records is not None
    assert crm.quarantine is not None
    assert crm.records.height == crm.quarantine.height == 3
    assert crm.records.columns[:3] == ["source_record_id", "customer_type", "name"]
    assert crm.rows_in > crm.quarantined > 0
    assert crm.quarantine["reason"].str.len_chars().min() > 10


def test_rejections_and_an_unreadable_source(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,name,land\nC1,Acme,Atlantis\nC2,,CN\n", encoding="utf-8")
    (tmp_path / "fusion.yaml").write_text(
        "sources:\n"
        "  - {name: a, system: crm, path: a.csv, format: csv, record_id: id,\n"
        "     fields: {name: name, country: land}}\n"
        "  - {name: b, system: crm, path: b.csv, format: csv, record_id: id, fields: {name: n}}\n",
        encoding="utf-8",
    )
    report = check_config(tmp_path / "fusion.yaml", rows=5)
    a, b = report.sources
    assert (a.rows_in, a.quarantined, a.rejected) == (2, 1, 1)
    assert a.rejections is not None
    assert a.rejections.select("source_record_id", "source_column", "value").rows() == [
        ("C1", "land", "Atlantis")
    ]
    assert b.error is not None
    assert "b.csv" in b.error
    assert not report.ok


def test_an_invalid_config_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "fusion.yaml").write_text(
        "sources:\n  - {name: a, system: crm, path: a.csv, format: csv, fields: {name: n}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"source 'a': key 'record_id': required key is missing"):
        check_config(tmp_path / "fusion.yaml")


def test_cli_prints_each_source_and_imports_no_dagster() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from pipelines.cli import main; "
        f"r = CliRunner().invoke(main, ['check-config', {str(SAMPLES)!r}, '--rows', '2']); "
        "print(r.output); print('dagster' in sys.modules, 'matching' in sys.modules); "
        "sys.exit(r.exit_code)"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    print(f"fusion check-config in a fresh process: {time.perf_counter() - started:.2f} s")
    assert done.returncode == 0, done.stderr
    assert "source 'erp': 1124 rows in erp_customers.csv; 15 quarantined" in done.stdout
    assert "OK (4 sources)" in done.stdout
    assert done.stdout.strip().endswith("False False")
