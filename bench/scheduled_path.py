"""``fusion run`` and ``dagster job execute -j fusion_incremental`` side by side, in wall seconds.

The daily schedule, the new-export sensor and ``dagster job execute`` run the
code location's jobs; ``fusion run`` runs the same graph by hand. This times
both, alternated (``--runs`` rounds, each command as its own child process,
start-up and code-location loading included), and prints each time, the
medians and their ratio. Each timed run publishes into a fresh warehouse, or,
with ``--seeded``, into a copy of one a ``fusion run`` published first (the
daily case: incremental on the current release). ``DAGSTER_HOME`` is a fresh
folder with telemetry off for both, so ``fusion run`` records its run there too.
After each round the two warehouses' ``golden_customer`` and ``customer_xref``
are compared, and each must hold START and COMPLETE OpenLineage events.

    .venv/bin/python -m bench.scheduled_path [--config data/samples/fusion.yaml] [--runs 3]
        [--seeded] [--timing-only] [--work DIR]

One JSON line per timed run, then a summary line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

BIN = Path(sys.executable).parent
COMPARED = {
    "golden_customer": "unified_id",
    "customer_xref": "source_system, source_record_id",
}


def _fusion_run(config: Path, warehouse: Path, env: dict[str, str]) -> list[str]:
    return [str(BIN / "fusion"), "run", "--config", str(config), "--warehouse", str(warehouse)]


def _dagster_execute(config: Path, warehouse: Path, env: dict[str, str]) -> list[str]:
    env["FUSION_CONFIG"] = str(config)
    env["FUSION_WAREHOUSE"] = str(warehouse)
    return [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions",
            "-j", "fusion_incremental"]  # fmt: skip


COMMANDS = {"fusion run": _fusion_run, "dagster job execute": _dagster_execute}


def _timed(name: str, config: Path, warehouse: Path, home: Path, log: Path) -> float:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = COMMANDS[name](config, warehouse, env)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        msg = f"{name} failed ({done.returncode}); see {log}"
        raise SystemExit(msg)
    return seconds


def _rows(warehouse: Path, table: str, order: str) -> list[tuple[object, ...]]:
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        frame = con.sql(f"SELECT * FROM {table} ORDER BY {order}").pl()
    return frame.drop([c for c in frame.columns if c.endswith("run_id")]).rows()


def _lineage_states(warehouse: Path) -> list[str]:
    path = warehouse / "openlineage.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["eventType"] for line in lines]


def _drop(warehouses: dict[str, Path]) -> None:
    for warehouse in warehouses.values():
        shutil.rmtree(warehouse, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("data/samples/fusion.yaml"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seeded", action="store_true", help="time incremental runs on a copy")
    parser.add_argument("--work", type=Path, default=None, help="keep the warehouses here")
    parser.add_argument(
        "--timing-only",
        action="store_true",
        help="skip the comparison (to time code whose scheduled runs wrote no OpenLineage)",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="fusion-scheduled-path-"))
    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    seed = work / "seed"
    if args.seeded:
        _timed("fusion run", args.config.resolve(), seed, home, work / "seed.log")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(args.runs):
        warehouses = {}
        for name in COMMANDS:
            warehouse = work / f"{round_}-{name.split()[0]}"
            shutil.rmtree(warehouse, ignore_errors=True)
            if args.seeded:
                shutil.copytree(seed, warehouse, symlinks=True)
            log = work / f"{round_}-{name.split()[0]}.log"
            seconds = _timed(name, args.config.resolve(), warehouse, home, log)
            times[name].append(seconds)
            warehouses[name] = warehouse
            print(json.dumps({"round": round_, "command": name, "seconds": round(seconds, 1)}))
        if args.timing_only:
            _drop(warehouses)
            continue
        same = all(
            _rows(warehouses["fusion run"], t, o) == _rows(warehouses["dagster job execute"], t, o)
            for t, o in COMPARED.items()
        )
        lineage = {name: _lineage_states(w)[-2:] for name, w in warehouses.items()}
        if not same or any(states != ["START", "COMPLETE"] for states in lineage.values()):
            msg = f"round {round_}: tables equal {same}, OpenLineage {lineage}"
            raise SystemExit(msg)
        _drop(warehouses)
    medians = {name: statistics.median(seconds) for name, seconds in times.items()}
    print(
        json.dumps(
            {
                "config": str(args.config),
                "seeded": args.seeded,
                "runs": args.runs,
                "median_seconds": {k: round(v, 1) for k, v in medians.items()},
                "ratio_dagster_over_fusion_run": round(
                    medians["dagster job execute"] / medians["fusion run"], 2
                ),
                "same_tables_and_openlineage": None if args.timing_only else True,
            }
        )
    )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
