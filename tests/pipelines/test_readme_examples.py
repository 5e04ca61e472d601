"""README examples match what the code prints on the samples (issue 29: docs drift)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from pipelines.cli import main
from tests.pipelines.conftest import REPO

RUN_ID = re.compile(r"run [0-9a-f]{8}-[0-9a-f.-]+\)")


def _second_block_under(readme: str, heading: str) -> list[str]:
    """The lines of the second code block under ``heading`` (the first is the command)."""
    at = readme.index(f"\n{heading}\n")
    opening = readme.index("\n```\n", readme.index("\n```sh\n", at) + 1) + 1
    start = readme.index("```\n", opening + 4) + 4
    return readme[start : readme.index("```", start)].splitlines()


def test_readme_explain_example_is_what_explain_prints(sample_warehouse: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = _second_block_under(readme, "### Why merged, or why not")
    result = CliRunner().invoke(
        main, ["explain", "crm:CRM-000298", "tickets:T-0001175", "--warehouse",
               str(sample_warehouse)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    # The run ID differs per run (the README shortens it to "33bb26ff-...").
    assert RUN_ID.sub("run)", shown[0]) == RUN_ID.sub("run)", printed[0])
    # Every other line shown (levels, Bayes factors, weights, probability, decision, verdict)
    # is printed as is and in order; "..." stands for lines left out.
    position = 1
    for line in shown[1:]:
        if line == "...":
            continue
        assert line in printed[position:], (line, printed)
        position = printed.index(line, position) + 1
    assert any(line.startswith("match weight") for line in shown)
    assert any(line.startswith("verdict:") for line in shown)
