"""Which code and configuration produced a run: stored with every release.

``run_provenance`` answers the auditor's "could this golden record be
reproduced?": the configuration hash (the whole config is in ``run_settings``),
the code version (package version plus the git commit, marked ``dirty`` when the
working tree had uncommitted changes) and the versions of the libraries that
compute values.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import polars as pl

PACKAGE = "fusion"
REPO_ROOT = Path(__file__).resolve().parent.parent
LIBRARIES: tuple[str, ...] = ("polars", "duckdb", "rapidfuzz", "dagster", "openlineage-python")
GIT_TIMEOUT_SECONDS = 5
RUN_PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "config_hash": pl.String(),
    "code_version": pl.String(),
    "package_version": pl.String(),
    "git_commit": pl.String(),
    "git_dirty": pl.Boolean(),
    "python_version": pl.String(),
    "library_versions": pl.String(),
}


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout the code runs from; Nones outside a git checkout."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, bool(status)


def code_version() -> str:
    """``<package version>+g<commit12>[.dirty]``, or the package version alone.

    Example:
        >>> code_version().startswith(_version(PACKAGE) or "unknown")
        True
    """
    version = _version(PACKAGE) or "unknown"
    commit, dirty = git_state()
    if commit is None:
        return version
    return f"{version}+g{commit[:12]}" + (".dirty" if dirty else "")


def run_provenance_table(*, run_id: str, config_hash: str) -> pl.DataFrame:
    """The one-row ``run_provenance`` table of a release.

    Example::

        run_provenance_table(run_id=run_id, config_hash=config.config_hash)
    """
    commit, dirty = git_state()
    libraries = ", ".join(f"{name}={_version(name)}" for name in LIBRARIES if _version(name))
    row = {
        "run_id": run_id,
        "config_hash": config_hash,
        "code_version": code_version(),
        "package_version": _version(PACKAGE),
        "git_commit": commit,
        "git_dirty": dirty,
        "python_version": platform.python_version(),
        "library_versions": libraries,
    }
    return pl.DataFrame([row], schema=RUN_PROVENANCE_SCHEMA)
