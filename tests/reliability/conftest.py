"""Helpers of the reliability suite: small configs, runs, and content hashes of a warehouse."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml
from rich.console import Console

from pipelines.orchestration.runner import RunOutcome, run_pipeline

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
FUSION = Path(sys.executable).parent / "fusion"
# Columns that legitimately differ between two runs of the same inputs.
RUN_BOOKKEEPING = frozenset({"run_id", "at", "started_at", "finished_at"})


def run_quiet(config: Path, warehouse: Path) -> RunOutcome:
    """One in-process run of the whole Dagster graph, without progress output."""
    return run_pipeline(config, warehouse, console=Console(quiet=True))


def fusion_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``fusion ARGS`` in a subprocess (extra environment variables in ``env``)."""
    return subprocess.run(
        [str(FUSION), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def write_config(
    folder: Path, sources: Sequence[Mapping[str, Any]], *, run: Mapping[str, Any] | None = None
) -> Path:
    """A run config (YAML) in ``folder`` listing ``sources``."""
    folder.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"sources": [dict(s) for s in sources]}
    if run:
        document["run"] = dict(run)
    path = folder / "fusion.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def small_samples(target: Path, *, lines: int) -> Path:
    """The sample config with the first ``lines`` lines of each sample export."""
    target.mkdir(parents=True, exist_ok=True)
    for export in sample_exports():
        with export.open("rb") as handle:
            head = b"".join(handle.readline() for _ in range(lines))
        (target / export.name).write_bytes(head)
    config = target / "fusion.yaml"
    config.write_bytes((SAMPLES / "fusion.yaml").read_bytes())
    return config


def two_source_samples(target: Path, *, lines: int) -> Path:
    """A config with only the CRM (CSV) and e-commerce (JSON Lines) sample sources,
    cut to their first ``lines`` lines: the whole graph, at the smallest cost."""
    target.mkdir(parents=True, exist_ok=True)
    document = yaml.safe_load((SAMPLES / "fusion.yaml").read_text(encoding="utf-8"))
    sources = [s for s in document["sources"] if s["name"] in ("crm", "ecommerce")]
    for source in sources:
        with (SAMPLES / source["path"]).open("rb") as handle:
            head = b"".join(handle.readline() for _ in range(lines))
        (target / source["path"]).write_bytes(head)
    return write_config(target, sources)


def sample_exports() -> list[Path]:
    """Every export file beside the sample config (customer sources and facts)."""
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".csv", ".jsonl") and p.is_file())


def read_tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every table of the current release."""
    database = warehouse / "golden.duckdb"
    with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
        names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        return {name: con.sql(f'SELECT * FROM "{name}"').pl() for name in sorted(names)}


def content_hash(frame: pl.DataFrame, *, ignore: frozenset[str] = frozenset()) -> str:
    """Order-independent hash of a table's rows (columns in ``ignore`` left out)."""
    kept = frame.select(sorted(c for c in frame.columns if c not in ignore))
    rows = sorted(repr(row) for row in kept.rows())
    return hashlib.sha256(repr((kept.columns, rows)).encode()).hexdigest()


def table_hashes(warehouse: Path, *, ignore: frozenset[str] = frozenset()) -> dict[str, str]:
    """Table name -> :func:`content_hash` for the current release."""
    return {name: content_hash(f, ignore=ignore) for name, f in read_tables(warehouse).items()}


def release_digest(warehouse: Path) -> tuple[str, dict[str, str]]:
    """The current release's name and the SHA-256 of each of its files."""
    current = warehouse / "current"
    release = current.resolve()
    files = sorted(p for p in release.rglob("*") if p.is_file())
    digests = {
        p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }
    return os.readlink(current), digests
