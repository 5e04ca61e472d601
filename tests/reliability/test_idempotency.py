"""Same inputs, same warehouse: identical runs agree on every table, shuffled rows on every
golden value and unified ID."""

from __future__ import annotations

import csv
import io
import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from rich.console import Console

from pipelines.orchestration.runner import run_pipeline
from tests.reliability.conftest import (
    RUN_BOOKKEEPING,
    SAMPLES,
    content_hash,
    read_tables,
    small_samples,
    table_hashes,
)

# What a reordering of the input rows must not change (row numbers aside).
ORDER_FREE_TABLES = (
    "golden_customer", "customer_xref", "field_lineage", "field_candidates", "match_evidence",
    "unified_id_history", "quarantine", "customer_contacts", "customer_contact_lineage",
)  # fmt: skip
ROW_POSITION = frozenset({"row_number"})


# Great Expectations' raw result document carries its own random ids and clock readings.
RUN_SPECIFIC = RUN_BOOKKEEPING | {"result_json"}
# Trust ages values against the run clock (pipelines.clock), which moves with the day a run
# starts: "same inputs and config" includes the clock, so each pair of runs is pinned to one
# (two runs either side of midnight UTC would otherwise differ in every age and trust score).
CLOCK = datetime(2026, 11, 1, tzinfo=UTC)


def run_pinned(config: Path, warehouse: Path) -> None:
    """One quiet in-process run with the clock pinned to ``CLOCK``."""
    run_pipeline(config, warehouse, console=Console(quiet=True), as_of=CLOCK)


@pytest.mark.slow
def test_identical_inputs_give_identical_tables(tmp_path: Path) -> None:
    """Two fresh runs of every sample source and fact (40 lines each): every table agrees."""
    config = small_samples(tmp_path / "data", lines=40)
    run_pinned(config, tmp_path / "first")
    run_pinned(config, tmp_path / "second")
    first = table_hashes(tmp_path / "first", ignore=RUN_SPECIFIC)
    second = table_hashes(tmp_path / "second", ignore=RUN_SPECIFIC)
    assert first.keys() == second.keys()
    differing = sorted(t for t in first if first[t] != second[t])
    assert differing == []
    ids = [read_tables(tmp_path / w)["customer_xref"] for w in ("first", "second")]
    keys = ["source_system", "source_record_id", "unified_id"]
    assert ids[0].select(keys).sort(keys).equals(ids[1].select(keys).sort(keys))


def record_spans(text: str) -> list[str]:
    """The text of each CSV record (a quoted line break stays inside its record)."""
    lines = io.StringIO(text, newline="").readlines()
    consumed: list[str] = []

    def feed() -> object:
        for line in lines:
            consumed.append(line)
            yield line

    spans, start = [], 0
    for _ in csv.reader(feed()):  # type: ignore[arg-type]
        spans.append("".join(consumed[start:]))
        start = len(consumed)
    return spans


def shuffle_export(path: Path, *, encoding: str, file_format: str, rng: random.Random) -> None:
    """Reorder the data rows of one export, keeping every byte of every row."""
    text = path.read_bytes().decode(encoding, errors="surrogateescape")
    if file_format == "csv":
        header, *rows = record_spans(text)
    else:
        header, rows = "", [line + "\n" for line in text.splitlines() if line.strip()]
    ending = "\r\n" if header.endswith("\r\n") else "\n"
    rows = [r if r.endswith(("\n", "\r")) else r + ending for r in rows]
    rng.shuffle(rows)
    path.write_bytes((header + "".join(rows)).encode(encoding, errors="surrogateescape"))


def shuffled_samples(target: Path, *, seed: int) -> Path:
    """A copy of the samples with the rows of every source and fact export shuffled."""
    shutil.copytree(SAMPLES, target, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    config = yaml.safe_load((target / "fusion.yaml").read_text(encoding="utf-8"))
    rng = random.Random(seed)
    for entry in [*config["sources"], *config.get("facts", [])]:
        shuffle_export(
            target / entry["path"],
            encoding=entry.get("encoding", "utf-8"),
            file_format=entry["format"],
            rng=rng,
        )
    return target / "fusion.yaml"


def comparable(tables: dict[str, pl.DataFrame]) -> dict[str, str]:
    """Order-free table hashes; a duplicate's reason names the kept row, which moves."""
    quarantine = tables["quarantine"].with_columns(
        pl.col("reason").str.replace_all(r"kept row \d+", "kept row N")
    )
    hashed = {**tables, "quarantine": quarantine}
    return {
        name: content_hash(hashed[name], ignore=RUN_BOOKKEEPING | ROW_POSITION)
        for name in ORDER_FREE_TABLES
    }


@pytest.mark.slow
def test_shuffled_rows_change_no_golden_value_and_no_id(tmp_path: Path) -> None:
    original = tmp_path / "original"
    shutil.copytree(SAMPLES, original, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    shuffled = shuffled_samples(tmp_path / "shuffled", seed=20261122)
    # The shuffle really moved rows (and kept every byte of them).
    for name in ("crm_customers.csv", "erp_customers.csv", "ecommerce_customers.jsonl"):
        before, after = (original / name).read_bytes(), (shuffled.parent / name).read_bytes()
        assert before != after
        assert sorted(before.splitlines()) == sorted(after.splitlines())
    run_pinned(original / "fusion.yaml", tmp_path / "wh_original")
    run_pinned(shuffled, tmp_path / "wh_shuffled")
    first = comparable(read_tables(tmp_path / "wh_original"))
    second = comparable(read_tables(tmp_path / "wh_shuffled"))
    assert {t: first[t] == second[t] for t in ORDER_FREE_TABLES} == dict.fromkeys(
        ORDER_FREE_TABLES, True
    )


def test_shuffle_keeps_multi_line_records_whole() -> None:
    text = 'id,name\r\nC1,"two\r\nlines"\r\nC2,B\r\nC3,"x"\r\n'
    assert record_spans(text) == ["id,name\r\n", 'C1,"two\r\nlines"\r\n', "C2,B\r\n", 'C3,"x"\r\n']
    rng = random.Random(1)
    rows = record_spans(text)[1:]
    rng.shuffle(rows)
    assert sorted(rows) == sorted(record_spans(text)[1:])
