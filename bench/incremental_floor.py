"""What every incremental run must do under the warehouse contract, timed at a given size.

Whatever an incremental run recomputes, it starts the CLI and imports its
stack, reads and hashes every full export (a record missing from one must be
retired), copies the base release's DuckDB file (the atomic swap publishes a
new file) and writes the Parquet mirrors of the contract tables a batch
changes. This prints those costs, one JSON line, so they can be set against
5% of a full rebuild (``bench.incremental``):

    .venv/bin/python -m bench.incremental_floor CONFIG WAREHOUSE

``WAREHOUSE``: a published warehouse of the same set (its tables are read
back and written out again, as a batch touching every customer range would).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.run import FUSION, child_environment
from pipelines import stages
from pipelines.incremental import with_content_hash
from pipelines.settings import load_fusion_config
from pipelines.warehouse import DATABASE_NAME, Warehouse
from pipelines.warehouse.spill import write_parquet_mirror

CONTRACT_TABLES = ("golden_customer", "customer_xref", "field_lineage", "match_evidence",
                   "unified_id_history", "pipeline_runs", "quarantine")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    config_path, warehouse_path = (argv or sys.argv[1:])[:2]
    seconds: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        seconds[name] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    subprocess.run(
        [str(FUSION), "--help"], env=child_environment(), capture_output=True, check=True
    )
    timed("cli_start", started)
    started = time.perf_counter()
    imports = "import dagster, duckdb, great_expectations, polars, pipelines.orchestration.graph"
    subprocess.run(
        [sys.executable, "-c", imports], env=child_environment(), capture_output=True, check=True
    )
    timed("imports_of_a_run", started)
    config = load_fusion_config(config_path)
    started = time.perf_counter()
    batches = [stages.load_one_source(s) for s in config.sources]
    timed("read_exports", started)
    started = time.perf_counter()
    for batch in batches:
        with_content_hash(batch.records)
    timed("hash_records", started)
    release = Warehouse(Path(warehouse_path)).root / "current"
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        shutil.copyfile(release / DATABASE_NAME, Path(scratch) / DATABASE_NAME)
        timed("copy_release_database", started)
        frames = {t: pl.read_parquet(release / "parquet" / f"{t}.parquet") for t in CONTRACT_TABLES}
        started = time.perf_counter()
        for name, frame in frames.items():
            write_parquet_mirror(frame.lazy(), Path(scratch) / f"{name}.parquet")
        timed("parquet_of_contract_tables", started)
    print(json.dumps({**seconds, "total_s": round(sum(seconds.values()), 2)}))


if __name__ == "__main__":
    main()
