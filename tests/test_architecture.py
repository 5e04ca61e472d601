"""The layout is what docs/ARCHITECTURE.md says, and the import contracts catch a wrong import."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOP_LEVEL = ("connectors", "matching", "lineage", "dbt_like_models", "pipelines")
DOC_PACKAGE = re.compile(r"^- `([a-z_][a-z_.]*)`: ", re.MULTILINE)


def _packages_in_tree() -> set[str]:
    """Every package (a folder with ``__init__.py``) under the top-level packages."""
    found = set()
    for top in TOP_LEVEL:
        for init in (REPO / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(REPO).parts))
    return found


def _packages_in_doc() -> set[str]:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Packages", 1)[1].split("\n## ", 1)[0]
    return set(DOC_PACKAGE.findall(section))


def test_architecture_doc_names_every_package_and_only_those() -> None:
    in_tree, in_doc = _packages_in_tree(), _packages_in_doc()
    assert {"pipelines.orchestration", "pipelines.warehouse", "matching"} <= in_tree
    assert sorted(in_tree - in_doc) == [], "packages missing from docs/ARCHITECTURE.md"
    assert sorted(in_doc - in_tree) == [], "docs/ARCHITECTURE.md names packages not in the tree"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``lint-imports`` of this interpreter on ``root`` with its pyproject contracts."""
    command = Path(sys.executable).with_name("lint-imports")
    if not command.exists():
        command = Path(shutil.which("lint-imports") or "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(command), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The top-level packages and pyproject.toml, copied so a test can break them."""
    root = tmp_path_factory.mktemp("layout")
    for top in TOP_LEVEL:
        shutil.copytree(
            REPO / top, root / top, ignore=shutil.ignore_patterns("__pycache__", "*.sql")
        )
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        (
            "connectors/reaches_up.py",
            "from pipelines.settings import FusionConfig\n",
            "Connectors import nothing of the other packages",
        ),
        (
            "matching/reaches_up.py",
            "from lineage.masking import mask_value\n",
            "Layers: pipelines over lineage over matching over connectors",
        ),
        (
            "pipelines/warehouse/wires_dagster.py",
            "import dagster\n",
            "Only pipelines.orchestration imports dagster",
        ),
        (
            "pipelines/quality/reaches_up.py",
            "from pipelines.orchestration.assets import Release\n",
            "No import cycles inside a package",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(
    tree_copy: Path, module: str, source: str, contract: str
) -> None:
    bad = tree_copy / module
    bad.write_text(f'"""A deliberately wrong import."""\n\n{source}', encoding="utf-8")
    try:
        result = _lint_imports(tree_copy)
    finally:
        bad.unlink()
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    broken = output.split("Broken contracts", 1)[-1]
    assert contract in broken, output


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
