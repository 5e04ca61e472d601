"""Runs of the whole pipeline on the bundled samples, and headless Chromium, shared by the
pipeline tests."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from pipelines.orchestration.runner import RunOutcome, run_pipeline

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
SAMPLE_CONFIG = SAMPLES / "fusion.yaml"
TRUTH = SAMPLES / "truth"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# A reference the browser would fetch or follow off the page: an attribute or CSS url()
# with a scheme (http:, https:, file:, data: ...) or protocol-relative (//host), or @import.
EXTERNAL_REFERENCE = re.compile(
    r"""(?:\b(?:src|href|srcset|action|xlink:href)\s*=\s*["']?\s*|url\(\s*["']?\s*)"""
    r"(?:[a-z][a-z0-9+.-]*:|//)|@import",
    re.IGNORECASE,
)


def external_references(page: str) -> list[str]:
    """Every reference in an HTML page that would leave the file (empty: it opens offline)."""
    return [m.group(0) for m in EXTERNAL_REFERENCE.finditer(page)]


def run_samples(warehouse: Path, config: Path = SAMPLE_CONFIG) -> RunOutcome:
    """One in-process run of the Dagster graph, quiet."""
    return run_pipeline(config, warehouse, console=Console(quiet=True))


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse published once from the samples."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    run_samples(warehouse)
    return warehouse


@pytest.fixture
def samples_copy(tmp_path: Path) -> Iterator[Path]:
    """A private copy of data/samples (without the truth) that a test may break."""
    target = tmp_path / "samples"
    shutil.copytree(SAMPLES, target, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    return target


# ---- headless Chromium (Debian's chromium + chromedriver; `make browser`) ----


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots land in test-artifacts/ (ignored by git through its own .gitignore)."""
    folder = Path(os.environ.get("FUSION_TEST_ARTIFACTS", REPO / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Debian's Chromium through its chromedriver, headless; no browser is downloaded."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver must be installed (make test does it)")
        pytest.skip(
            "chromium/chromium-driver not installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for argument in ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                     "--window-size=1400,1800"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
