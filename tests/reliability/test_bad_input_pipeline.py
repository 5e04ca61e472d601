"""The broken exports of test_bad_input_connectors.py through the whole pipeline.

Every readable case becomes one source of a single run config: the run must
publish, every row of every source must be in ``customer_xref`` or in
``quarantine`` (rows_in = xref rows + quarantine rows, per source and in
``pipeline_runs``), exactly the expected rows are quarantined, with the reason,
file and row number, and the valid ones are in the golden record. The cases
whose file is unusable as a whole must fail the run with one line naming the
source and the file, and leave the published warehouse exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.orchestration.runner import RunFailedError
from tests.reliability.conftest import read_tables, release_digest, run_quiet, write_config
from tests.reliability.test_bad_input_connectors import CASES, Case

READABLE = {case_id: case for case_id, case in CASES.items() if case.error is None}
# Whole-file failures run one by one against a published warehouse.
FAILING = ("renamed-column", "utf16-with-bom-declared-utf8", "binary-garbage-file",
           "jsonl-nesting-everywhere-is-drift")  # fmt: skip


def source_name(case_id: str) -> str:
    return case_id.replace("-", "_")


def place(folder: Path, case_id: str, case: Case) -> dict[str, Any]:
    """Write the case's file under ``folder/<case>/`` and return its source entry."""
    entry = {k: v for k, v in case.entry.items() if v is not None}
    path = f"{case_id}/{entry['path']}"
    (folder / case_id).mkdir(parents=True)
    (folder / path).write_bytes(case.content)
    return {**entry, "name": source_name(case_id), "path": path}


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    """One run over every readable broken export, published to a fresh warehouse."""
    folder = tmp_path_factory.mktemp("broken")
    config = write_config(folder, [place(folder, i, c) for i, c in READABLE.items()])
    warehouse = folder / "wh"
    run_quiet(config, warehouse)
    return warehouse, read_tables(warehouse)


def test_every_row_of_every_broken_export_is_accounted_for(
    broken_run: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    _, tables = broken_run
    xref, quarantine = tables["customer_xref"], tables["quarantine"]
    expected_total = 0
    for case_id, case in READABLE.items():
        name = source_name(case_id)
        rows_in = len(case.records) + len(case.quarantine)
        expected_total += rows_in
        kept = xref.filter(pl.col("source_system") == name)
        rejected = quarantine.filter(pl.col("source_system") == name).sort("row_number")
        assert kept.height + rejected.height == rows_in, case_id
        assert sorted(kept["source_record_id"]) == sorted(case.records), case_id
        got = rejected.select("row_number", "reason").rows()
        assert [r for r, _ in got] == [r for r, _ in case.quarantine], case_id
        for (_, reason), (_, expected) in zip(got, case.quarantine, strict=True):
            assert expected in reason, case_id
        assert set(rejected["source_file"]) <= {f"{case_id}/{case.entry['path']}"}
    run = tables["pipeline_runs"].filter(pl.col("status") == "succeeded").row(-1, named=True)
    assert run["rows_in"] == expected_total == xref.height + quarantine.height
    assert run["rows_quarantined"] == quarantine.height


def test_valid_rows_of_broken_exports_reach_the_golden_record(
    broken_run: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    _, tables = broken_run
    golden, xref = tables["golden_customer"], tables["customer_xref"]
    assert golden["unified_id"].is_unique().all()
    assert set(xref["unified_id"]) <= set(golden["unified_id"])
    # The record behind the 10 MB notes cell is in, and no golden value is oversized.
    assert (
        xref.filter(pl.col("source_system") == "ten_megabyte_quoted_cell_in_unmapped_column").height
        == 2
    )
    longest = golden.select(pl.col(pl.String).str.len_chars().max()).row(0)
    assert max(v or 0 for v in longest) < 4096


@pytest.mark.parametrize("case_id", FAILING)
def test_unusable_export_fails_the_run_and_keeps_the_warehouse(
    broken_run: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path, case_id: str
) -> None:
    warehouse, _ = broken_run
    before = release_digest(warehouse)
    config = write_config(tmp_path, [place(tmp_path, case_id, CASES[case_id])])
    with pytest.raises(RunFailedError) as info:
        run_quiet(config, warehouse)
    message = str(info.value)
    assert "\n" not in message
    assert f"source {source_name(case_id)!r}" in message
    assert f"{case_id}/{CASES[case_id].entry['path']}" in message
    assert release_digest(warehouse) == before
