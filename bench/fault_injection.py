"""Kill or fail ``fusion run`` at every injection point (RELIABILITY.md, "Faults").

For each point of pipelines/faults.py and each action, a copy of a published
warehouse gets a ``fusion run`` subprocess with ``FUSION_FAULT_AT`` set. Then:
is the published release the same (file digests and table contents), did a
failure say one line, does the next run complete with the same unified IDs,
and is nothing left over (staging folders, releases that never became
current)? The default test run covers six kill points; this covers them all.

    .venv/bin/python -m bench.fault_injection [--lines 30] [--actions kill,enospc] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from bench.run import child_environment
from pipelines.faults import ACTIONS, FAULT_ACTION, FAULT_AT
from tests.reliability.conftest import (
    FUSION,
    RUN_BOOKKEEPING,
    read_tables,
    release_digest,
    table_hashes,
    two_source_samples,
)

STAGE_ASSETS = (
    "standardised_records", "match_result", "unified_ids", "golden_record", "match_tables",
    "release_tables", "published_warehouse",
)  # fmt: skip
PUBLISH_POINTS = (
    "publish:start", "publish:mid_write", "publish:written", "publish:renamed", "publish:swapped",
    "run_log:append",
)  # fmt: skip
# After these the new release is current by design (the swap is the commit point).
COMMITTED = ("publish:swapped", "run_log:append", "after:published_warehouse")


def points(config: Path) -> list[str]:
    sources = yaml.safe_load(config.read_text(encoding="utf-8"))["sources"]
    return [
        *(f"after:source_{s['name']}" for s in sources),
        *(f"after:{a}" for a in STAGE_ASSETS),
        *PUBLISH_POINTS,
    ]


def fusion_run(
    config: Path, warehouse: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    command = [str(FUSION), "run", "--config", str(config), "--warehouse", str(warehouse)]
    return subprocess.run(
        command,
        env={**child_environment(), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def ids(warehouse: Path) -> list[tuple[Any, ...]]:
    xref = read_tables(warehouse)["customer_xref"]
    return sorted(xref.select("source_system", "source_record_id", "unified_id").rows())


def trial(point: str, action: str, *, config: Path, baseline: Path, folder: Path) -> dict[str, Any]:
    """One fault: run, inspect the warehouse, recover, inspect again."""
    warehouse = folder / f"{point.replace(':', '_')}-{action}"
    shutil.copytree(baseline, warehouse, symlinks=True)
    before_digest, before_hashes = release_digest(baseline), table_hashes(baseline)
    started = time.perf_counter()
    faulty = fusion_run(config, warehouse, {FAULT_AT: point, FAULT_ACTION: action})
    after_digest = release_digest(warehouse)
    readable = True
    try:
        after_hashes = table_hashes(warehouse)
    except Exception:  # noqa: BLE001 - an unreadable warehouse is the finding
        readable, after_hashes = False, {}
    if point in COMMITTED and faulty.returncode != 0 and after_digest != before_digest:
        # The new release is current: same golden content as the baseline (same inputs).
        golden = "golden_customer"
        unchanged = readable and (
            table_hashes(warehouse, ignore=RUN_BOOKKEEPING)[golden]
            == table_hashes(baseline, ignore=RUN_BOOKKEEPING)[golden]
        )
        state = "new release, complete" if unchanged else "new release, DIFFERENT"
    else:
        unchanged = readable and after_digest == before_digest and after_hashes == before_hashes
        state = "unchanged" if unchanged else "CHANGED"
    stderr_lines = [line for line in faulty.stderr.splitlines() if line.startswith("fusion run")]
    recovery = fusion_run(config, warehouse, {})
    releases = warehouse / "releases"
    leftovers = sorted(p.name for p in releases.glob(".staging-*"))
    same_ids = recovery.returncode == 0 and ids(warehouse) == ids(baseline)
    return {
        "point": point,
        "action": action,
        "returncode": faulty.returncode,
        "message": stderr_lines[-1] if stderr_lines else "",
        "warehouse_after_fault": state,
        "ok_after_fault": unchanged,
        "next_run_returncode": recovery.returncode,
        "next_run_same_ids": same_ids,
        "leftovers": leftovers,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=30, help="lines of each sample export")
    parser.add_argument("--actions", default="kill,enospc,eacces", help=f"from {','.join(ACTIONS)}")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    actions = [a for a in args.actions.split(",") if a]
    with tempfile.TemporaryDirectory(prefix="fusion-faults-") as tmp:
        folder = Path(tmp)
        config = two_source_samples(folder / "data", lines=args.lines)
        baseline = folder / "baseline"
        first = fusion_run(config, baseline, {})
        if first.returncode != 0:
            print(first.stderr)
            return 2
        jobs = [(p, a) for p in points(config) for a in actions]
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = [
                pool.submit(trial, p, a, config=config, baseline=baseline, folder=folder)
                for p, a in jobs
            ]
            results = [f.result() for f in futures]
    good = 0
    for r in results:
        fine = r["ok_after_fault"] and r["next_run_same_ids"] and not r["leftovers"]
        good += fine
        print(
            f"{'ok ' if fine else 'BAD'} {r['point']:32} {r['action']:7} rc={r['returncode']:4} "
            f"{r['warehouse_after_fault']:22} next run rc={r['next_run_returncode']} "
            f"same IDs={r['next_run_same_ids']}  {r['message'][:90]}"
        )
    print(f"{good}/{len(results)} faults left the warehouse intact and the next run complete")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0 if good == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
