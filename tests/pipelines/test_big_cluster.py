"""One 50,000-record cluster among 100,000 records: reported, and built within 1.5 GiB.

``bench.big_cluster`` runs the real ``fusion run`` with matching's scored pairs
chaining 50,000 records by strong links (``matching.max_cluster_size`` cannot split
them), so every stage after matching (survivorship, lineage, contacts, match
evidence, the quality suites, the SQL models, publishing) works on a cluster of
50,000 records. The run is a child process, and its peak RSS is the kernel's
(``os.wait4``), not a sample.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench.big_cluster import write_inputs

REPO = Path(__file__).resolve().parents[2]
RECORDS, GIANT, MAX_CLUSTER_SIZE = 100_000, 50_000, 1_000
PEAK_LIMIT = int(1.5 * 2**30)


@pytest.mark.slow
def test_a_50000_record_cluster_is_reported_and_stays_under_1_5_gib(tmp_path: Path) -> None:
    write_inputs(tmp_path, records=RECORDS, giant=GIANT, max_cluster_size=MAX_CLUSTER_SIZE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.big_cluster", "run", str(tmp_path)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert child.returncode == 0, output[-3000:]
    peak = usage.ru_maxrss * 1024  # KiB on Linux
    assert peak < PEAK_LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"
    assert (
        f"warning: cluster of {GIANT:,} records above matching.max_cluster_size "
        f"{MAX_CLUSTER_SIZE:,}: its strong links hold it together"
    ) in output

    with duckdb.connect(str(tmp_path / "warehouse" / "golden.duckdb"), read_only=True) as con:
        parts = con.execute(
            "SELECT unified_id, record_count, original_unified_id, original_record_count, "
            "original_parts, outcome, max_cluster_size FROM oversized_clusters"
        ).fetchall()
        (giant_id,) = con.execute(
            "SELECT unified_id FROM golden_customer WHERE record_count = ?", [GIANT]
        ).fetchone() or (None,)
        assert parts == [(giant_id, GIANT, giant_id, GIANT, 1, "kept_oversized", MAX_CLUSTER_SIZE)]
        warned = con.execute(
            "SELECT severity, success, unexpected_count FROM quality_results "
            "WHERE suite = 'oversized_clusters' ORDER BY expectation, column_name"
        ).fetchall()
        assert warned == [("warn", False, 1), ("warn", False, 1)]
        # Its evidence is kept: the 49,999 chaining pairs, inside the one customer.
        (chained,) = con.execute(
            "SELECT count(*) FROM match_evidence WHERE same_cluster "
            "AND left_source_record_id LIKE 'G%' AND right_source_record_id LIKE 'G%'"
        ).fetchone() or (0,)
        assert chained == GIANT - 1
        lineage_rows, contacts = (
            con.execute(f"SELECT count(*) FROM {table} WHERE unified_id = ?", [giant_id]).fetchone()
            for table in ("field_lineage", "customer_contacts")
        )
        assert lineage_rows is not None
        assert lineage_rows[0] == 7  # type, name, contact, e-mail, phone, address, city
        # Every giant record names its own contact person.
        assert contacts == (GIANT,)
        (customers,) = con.execute("SELECT count(*) FROM golden_customer").fetchone() or (0,)
        assert customers == 1 + (RECORDS - GIANT) // 2
