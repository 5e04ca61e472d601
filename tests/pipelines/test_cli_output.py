"""What the ``fusion`` command prints: its version, and whole lines off a terminal."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.report import comparison_columns, load_customer_report, text
from pipelines.cli import main
from tests.pipelines.conftest import SAMPLE_CONFIG

FUSION = Path(sys.executable).parent / "fusion"
CUSTOMER = "FU-00000025"  # the README's customer: CRM, ERP and a ticket


def _fusion(*args: str, stdout: Path) -> subprocess.CompletedProcess[str]:
    """``fusion ARGS > stdout``: a real process whose output is a file, not a terminal."""
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "FORCE_COLOR"}}
    with stdout.open("w", encoding="utf-8") as out:
        return subprocess.run(
            [str(FUSION), *args], stdout=out, stderr=subprocess.PIPE, text=True, env=env,
            timeout=300, check=False,
        )  # fmt: skip


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"fusion {version('fusion')}\n"


def test_lineage_redirected_to_a_file_keeps_lines_and_columns_whole(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lineage.txt"
    result = _fusion("lineage", CUSTOMER, "--warehouse", str(sample_warehouse), stdout=out)
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    report = load_customer_report(sample_warehouse, CUSTOMER)
    run = report.run
    # The run line (over 80 columns in a git checkout, where the code version names the
    # commit) stays one line.
    run_line = next(line for line in lines if line.startswith("run "))
    assert run_line.split() == [
        "run", run.run_id, "config", run.config_hash, "code", run.code_version
    ]  # fmt: skip
    # Every evidence row is one line holding every cell whole (levels such as tokens>=0.9).
    cells = {
        line.strip().strip("│").split("│")[0].strip() + " " + line.split("│")[2].strip(): [
            cell.strip() for cell in line.strip().strip("│").split("│")
        ]
        for line in lines
        if line.startswith("│") and line.count("│") > 10
    }
    assert report.evidence.height == 3
    for row in report.evidence.iter_rows(named=True):
        key = f"{row['left_source_record_id']} {row['right_source_record_id']}"
        assert cells[key] == [
            row["left_source_record_id"], row["right_source_record_id"],
            text(row["match_probability"]), row["decision"],
            *(text(row[c]) for c in comparison_columns(report.evidence)),
        ]  # fmt: skip


@pytest.mark.slow
def test_run_redirected_prints_whole_lines_and_names_failed_expectations(tmp_path: Path) -> None:
    out = tmp_path / "run.txt"
    result = _fusion(
        "run", "--config", str(SAMPLE_CONFIG), "--warehouse", str(tmp_path / "wh"), stdout=out
    )
    assert result.returncode == 0, result.stderr
    progress = result.stderr.splitlines()
    steps = [line for line in progress if line.startswith("  done ")]
    assert len(steps) > 10
    # "  done STEP  Finished execution of step "STEP" in 20ms. · records 6,562, ...": never
    # broken over two lines; the counts are the step's asset's.
    for line in steps:
        assert re.fullmatch(
            r'  done (\S+)  Finished execution of step "\1" in [\d.]+m?s\.( · .+)?', line
        )
    counts = {line.split()[1]: line.split(" · ")[1] for line in steps if " · " in line}
    assert counts["unified_ids"] == "unified ids 2,440"
    assert counts["source_crm"].startswith("rows in 1,803, records 1,778, quarantined 25")
    # Off a terminal no live display: no cursor movement or colour codes.
    assert "\x1b[" not in result.stderr
    # A quality suite's warning names each failed expectation, its column and its count.
    warnings = {
        line.split(":")[0].removeprefix("  check "): line
        for line in progress
        if line.startswith("  check quality_") and ": warning" in line
    }
    assert set(warnings) == {"quality_fact_invoices", "quality_fact_orders", "quality_fact_tickets"}
    for line in warnings.values():
        assert re.fullmatch(
            r"  check quality_fact_\w+: warning: "
            r"expect_column_values_to_not_be_null\(unified_id\): [\d,]+ unexpected",
            line,
        ), line


@pytest.mark.slow
def test_a_terminal_sees_each_running_step_with_its_elapsed_time(tmp_path: Path) -> None:
    from rich.console import Console

    from pipelines.orchestration.runner import run_pipeline

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system="standard")
    run_pipeline(SAMPLE_CONFIG, tmp_path / "wh", console=console)
    shown = screen.getvalue()
    # rich's live progress redraws "⠋ match_result 0:00:02" while the step runs ...
    assert re.search(r"match_result\S*\s+\S*\d:\d\d:\d\d", shown)
    # ... and every finished step still leaves its whole line.
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert re.search(r"done match_result  Finished execution .* · candidate pairs [\d,]+", plain)
