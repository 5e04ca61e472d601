"""Where an incremental run's time goes: its stages timed one by one, in process.

Calls the functions the Dagster assets call (``pipelines.stages``), in the
same order, on a warehouse, and prints one JSON line of seconds per stage
(Dagster's own start-up and bookkeeping are what ``fusion run`` adds on top):

    .venv/bin/python -m bench.incremental_stages CONFIG WAREHOUSE
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import psutil

from pipelines import stages
from pipelines.incremental import Baseline
from pipelines.settings import load_fusion_config
from pipelines.warehouse import Warehouse, table_height


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    config_path, warehouse_path = (argv or sys.argv[1:])[:2]
    config = load_fusion_config(config_path)
    warehouse = Warehouse(Path(warehouse_path))
    seconds: dict[str, float] = {}
    rss: dict[str, int] = {}
    clock = [time.perf_counter()]
    process = psutil.Process()

    def lap(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = round(now - clock[0], 2)
        rss[name] = process.memory_info().rss >> 20
        clock[0] = now
        # Progress on stderr, so a run the OOM killer takes still shows how far it got.
        print(f"{name}: {seconds[name]} s, RSS {rss[name]} MiB", file=sys.stderr, flush=True)

    started = clock[0]
    batches = {s.name: stages.load_one_source(s) for s in config.sources}
    lap("read_sources")
    baseline = Baseline.read(warehouse, config=config, mode="incremental")
    lap("read_release")
    std = stages.standardise_batches(batches, config=config, baseline=baseline).records
    lap("hash_and_standardise")
    decisions = stages.StewardDecisions.read(warehouse)
    result = stages.match(std, config=config, decisions=decisions.links, baseline=baseline)
    lap("match")
    run_id = str(uuid.uuid4())
    identity = stages.identify_against_warehouse(std, result, warehouse=warehouse, run_id=run_id)
    lap("unified_ids")
    golden = stages.build_golden(
        std,
        identity.identity,
        config=config,
        run_id=run_id,
        spill=warehouse.scratch(run_id),
        overrides=decisions.overrides,
        baseline=baseline,
    )
    lap("golden_record")
    matched = stages.match_tables(std, result, run_id=run_id, spill=warehouse.scratch(run_id))
    lap("match_tables")
    tables = stages.warehouse_tables(
        batches=batches,
        std=std,
        matched=matched,
        identity=identity.identity,
        golden=golden,
        config=config,
        run_id=run_id,
        decisions=decisions,
        spill=warehouse.scratch(run_id),
    )
    lap("release_tables")
    plan = stages.release_plan(
        tables,
        std=std,
        statistics=matched.statistics,
        identity=identity.identity,
        golden=golden,
        baseline=baseline,
        run_id=run_id,
    )
    lap("release_plan")
    with warehouse.lock():
        stages.publish_release(
            warehouse,
            tables,
            rows_in={name: batch.rows_in for name, batch in batches.items()},
            run_id=run_id,
            started_at=stages.utc_now(),
            config_hash=config.config_hash,
            plan=plan,
            base=baseline.release,
        )
    lap("publish")
    rows = sum(table_height(table) for table in tables.values())
    print(
        json.dumps(
            {
                "stage_seconds": seconds,
                "rss_mib_after_stage": rss,
                "total_s": round(time.perf_counter() - started, 2),
                "match_work": getattr(result, "work", {}),
                "published_rows": rows,
                "published_as_changes": sorted(plan),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
