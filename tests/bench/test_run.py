"""The benchmark's children run this checkout's code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.run import ROOT, run_child


def test_a_child_imports_this_checkouts_packages_whatever_the_venv_points_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script outside the tree (as ``.venv/bin/fusion`` is) imports ``pipelines`` from ROOT.

    ``.venv`` may be a link to another checkout's environment whose editable
    install resolves ``pipelines`` there: a snapshot's benchmark then ran that
    checkout's working tree. Here another tree's packages stand first on the
    inherited PYTHONPATH, so the test fails wherever the child does not put
    this checkout first, whatever this machine's ``.venv`` points at.
    """
    other_checkout = tmp_path / "other_checkout"
    for package in ("pipelines", "matching"):
        (other_checkout / package).mkdir(parents=True)
        (other_checkout / package / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(other_checkout))
    script = tmp_path / "which.py"
    script.write_text("import matching, pipelines\nprint(pipelines.__file__, matching.__file__)\n")
    child = run_child([sys.executable, str(script)], log=tmp_path / "which.log")
    assert child.returncode == 0, child.stderr
    paths = [Path(p) for p in child.stdout.split()]
    assert paths == [ROOT / "pipelines" / "__init__.py", ROOT / "matching" / "__init__.py"]
