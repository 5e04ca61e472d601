"""The pictures of the HTML pages, on the warehouse published from the samples.

Each chart is checked against the warehouse it is drawn from (one bar per
model level with the learnt weight, a waterfall ending at the explained
weight, one node per record of the customer, histograms summing to the
table), every page is checked to open offline, and headless Chromium renders
each chart and saves a screenshot to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from tests.pipelines.conftest import external_references


def _query(warehouse: Path, sql: str, *params: object) -> pl.DataFrame:
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        return con.sql(sql, params=list(params)).pl()


def _write(args: list[str]) -> str:
    """Run ``fusion ARGS`` and return its standard output."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def _chart(page: str, kind: str) -> ET.Element:
    """The inline ``<svg class="chart KIND">`` of a page, parsed."""
    start = page.index(f'<svg class="chart {kind}"')
    return ET.fromstring(page[start : page.index("</svg>", start) + len("</svg>")])


def _marks(svg: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in svg.iter() if e.get("class") == css_class]


def _offline(page: str) -> None:
    assert external_references(page) == []
    assert "://" not in page
    assert "<script" not in page


def _model_levels(warehouse: Path) -> list[tuple[str, str, float, float, float]]:
    model = json.loads(str(_query(warehouse, "SELECT match_model_json FROM run_settings").item()))
    return [
        (
            c["comparison"],
            level["label"],
            level["m"],
            level["u"],
            math.log2(level["m"] / level["u"]),
        )
        for c in model["comparisons"]
        for level in c["levels"]
    ]


def customer_with_links(warehouse: Path) -> str:
    """The customer with the most scored pairs between its records (at least three records)."""
    return str(
        _query(
            warehouse,
            """
            SELECT x.unified_id FROM match_evidence e
            JOIN customer_xref x ON x.source_system = e.left_source_system
                                AND x.source_record_id = e.left_source_record_id
            JOIN customer_xref y ON y.source_system = e.right_source_system
                                AND y.source_record_id = e.right_source_record_id
                                AND y.unified_id = x.unified_id
            GROUP BY ALL HAVING count(DISTINCT e.left_source_record_id) >= 2
            ORDER BY count(*) DESC, x.unified_id LIMIT 1
            """,
        ).item()
    )


def review_pair(warehouse: Path) -> tuple[str, str]:
    """A scored pair in the review band: a waterfall that goes up and down."""
    row = _query(
        warehouse,
        "SELECT * FROM match_evidence WHERE decision = 'review' "
        "ORDER BY left_source_system, left_source_record_id, right_source_record_id LIMIT 1",
    ).row(0, named=True)
    return (
        f"{row['left_source_system']}:{row['left_source_record_id']}",
        f"{row['right_source_system']}:{row['right_source_record_id']}",
    )


@pytest.fixture(scope="module")
def pages(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every HTML page with a picture, written once by the CLI."""
    folder = tmp_path_factory.mktemp("pages")
    warehouse = str(sample_warehouse)
    left, right = review_pair(sample_warehouse)
    written = {
        "model": folder / "model.html",
        "explain": folder / "explain.html",
        "lineage": folder / "lineage.html",
        "report": folder / "report.html",
    }
    _write(["model", "--warehouse", warehouse, "--html", str(written["model"])])
    _write(["explain", left, right, "--warehouse", warehouse, "--html", str(written["explain"])])
    unified_id = customer_with_links(sample_warehouse)
    _write(["lineage", unified_id, "--warehouse", warehouse, "--html", str(written["lineage"])])
    _write(["report", "--warehouse", warehouse, "--html", str(written["report"])])
    return written


def test_model_page_charts_every_learnt_level(
    sample_warehouse: Path, pages: dict[str, Path]
) -> None:
    page = pages["model"].read_text(encoding="utf-8")
    _offline(page)
    levels = _model_levels(sample_warehouse)
    bars = _marks(_chart(page, "match-weights"), "level")
    assert bars[0].get("data-level") == "prior"
    drawn = [(b.get("data-comparison"), b.get("data-level"), float(b.get("data-value", "nan")))
             for b in bars[1:]]  # fmt: skip
    assert [(c, lv) for c, lv, _ in drawn] == [(c, lv) for c, lv, *_ in levels]
    for (_, _, value), (comparison, label, _, _, weight) in zip(drawn, levels, strict=True):
        assert value == pytest.approx(weight, abs=1e-5), (comparison, label)
    # Both signs are learnt (agreement for a match, disagreement against), and drawn so.
    assert any(w > 1 for *_, w in levels)
    assert any(w < -1 for *_, w in levels)
    mu = _chart(page, "m-u")
    assert [float(b.get("data-value", "nan")) for b in _marks(mu, "m")] == pytest.approx(
        [m for _, _, m, _, _ in levels], abs=1e-6
    )
    assert [float(b.get("data-value", "nan")) for b in _marks(mu, "u")] == pytest.approx(
        [u for _, _, _, u, _ in levels], abs=1e-6
    )


def test_cli_model_json_and_terminal_show_the_stored_model(sample_warehouse: Path) -> None:
    document = json.loads(_write(["model", "--warehouse", str(sample_warehouse), "--json"]))
    stored = json.loads(str(_query(sample_warehouse, "SELECT match_model_json FROM run_settings")
                            .item()))  # fmt: skip
    assert document["prior"] == pytest.approx(stored["prior"])
    assert [c["comparison"] for c in document["comparisons"]] == [
        c["comparison"] for c in stored["comparisons"]
    ]
    text = _write(["model", "--warehouse", str(sample_warehouse)])
    for comparison, label, *_ in _model_levels(sample_warehouse):
        assert any(comparison in line and label in line for line in text.splitlines())


def test_explain_page_waterfall_ends_at_the_explained_probability(
    sample_warehouse: Path, pages: dict[str, Path]
) -> None:
    left, right = review_pair(sample_warehouse)
    explained = json.loads(_write(["explain", left, right, "--warehouse", str(sample_warehouse),
                                   "--json"]))  # fmt: skip
    page = pages["explain"].read_text(encoding="utf-8")
    _offline(page)
    chart = _chart(page, "waterfall")
    (prior,) = _marks(chart, "prior")
    assert float(prior.get("data-value", "nan")) == pytest.approx(explained["prior_weight"])
    steps = _marks(chart, "step")
    assert [s.get("data-name") for s in steps] == [s["comparison"] for s in explained["steps"]]
    for drawn, step in zip(steps, explained["steps"], strict=True):
        assert float(drawn.get("data-value", "nan")) == pytest.approx(step["weight"], abs=1e-6)
        assert float(drawn.get("data-cumulative", "nan")) == pytest.approx(
            step["cumulative_weight"], abs=1e-6
        )
    (final,) = _marks(chart, "final")
    assert float(final.get("data-value", "nan")) == pytest.approx(
        explained["match_weight"], abs=1e-6
    )
    assert final.get("data-probability") == f"{explained['match_probability']:.6f}"
    assert explained["decision"] == "review"
    assert f"{explained['match_probability']:.6f}" in page.split("id='probability'")[1]


def test_lineage_page_graph_has_every_record_and_scored_link(
    sample_warehouse: Path, pages: dict[str, Path]
) -> None:
    unified_id = customer_with_links(sample_warehouse)
    page = pages["lineage"].read_text(encoding="utf-8")
    _offline(page)
    records = _query(
        sample_warehouse,
        "SELECT source_system || ':' || source_record_id AS key FROM customer_xref "
        "WHERE unified_id = ? ORDER BY ALL",
        unified_id,
    )["key"].to_list()
    graph = _chart(page, "record-graph")
    nodes = _marks(graph, "record")
    assert sorted(n.get("data-key") or "" for n in nodes) == records
    assert len(nodes) >= 3
    evidence = _query(
        sample_warehouse,
        """
        SELECT e.left_source_system || ':' || e.left_source_record_id AS l,
               e.right_source_system || ':' || e.right_source_record_id AS r,
               e.match_probability AS p, e.decision
        FROM match_evidence e
        JOIN customer_xref x ON x.source_system = e.left_source_system
                            AND x.source_record_id = e.left_source_record_id
        JOIN customer_xref y ON y.source_system = e.right_source_system
                            AND y.source_record_id = e.right_source_record_id
        WHERE x.unified_id = ? AND y.unified_id = ?
        """,
        unified_id,
        unified_id,
    )
    links = {
        (e.get("data-left"), e.get("data-right")): (
            float(e.get("data-probability", "nan")),
            e.get("data-decision"),
        )
        for e in _marks(graph, "link")
    }
    assert len(links) == evidence.height
    for left, right, probability, decision in evidence.iter_rows():
        drawn_probability, drawn_decision = links[(left, right)]
        assert drawn_probability == pytest.approx(probability, abs=1e-6)
        assert drawn_decision == decision


def test_report_page_charts_sum_to_the_warehouse(
    sample_warehouse: Path, pages: dict[str, Path]
) -> None:
    page = pages["report"].read_text(encoding="utf-8")
    _offline(page)

    def bars(figure: str) -> dict[str, int]:
        section = page.split(f'id="{figure}"')[1].split("</figure>")[0]
        start = section.index("<svg")
        svg = ET.fromstring(section[start : section.index("</svg>") + len("</svg>")])
        return {b.get("data-label") or "": int(b.get("data-value", "-1"))
                for b in _marks(svg, "bar")}  # fmt: skip

    sizes = _query(
        sample_warehouse,
        "SELECT least(n, 10) AS n, count(*) AS customers FROM "
        "(SELECT unified_id, count(*) AS n FROM customer_xref GROUP BY ALL) GROUP BY ALL",
    )
    expected = {("10+" if n == 10 else str(n)): c for n, c in sizes.iter_rows()}
    assert {k: v for k, v in bars("cluster-size-chart").items() if v} == expected
    probabilities = _query(sample_warehouse, "SELECT match_probability AS p FROM match_evidence")
    histogram = bars("match-probability-chart")
    assert sum(histogram.values()) == probabilities.height
    assert histogram["0.9–1.0"] == probabilities.filter(pl.col("p") >= 0.9).height
    assert histogram["0.0–0.1"] == probabilities.filter(pl.col("p") < 0.1).height

    trend = page.split('id="quality-trend-chart"')[1].split("</figure>")[0]
    start = trend.index("<svg")
    segments = _marks(ET.fromstring(trend[start : trend.index("</svg>") + 6]), "segment")
    results = _query(sample_warehouse, "SELECT run_id, severity, success FROM quality_results")
    warned = results.filter(~pl.col("success") & (pl.col("severity") == "warn")).height
    drawn = {s.get("data-series"): int(s.get("data-value", "-1")) for s in segments}
    assert drawn == {"failed (warning)": warned, "failed (error)": 0}
    assert warned > 0  # the samples' orphan facts


# ---- the same pages in headless Chromium ----


@pytest.mark.parametrize(
    ("name", "selectors"),
    [
        ("model", ["svg.match-weights", "svg.m-u"]),
        ("explain", ["svg.waterfall"]),
        ("lineage", ["svg.record-graph"]),
        ("report", ["#cluster-size-chart svg", "#match-probability-chart svg",
                    "#quality-trend-chart svg"]),
    ],
)  # fmt: skip
def test_pictures_render_in_chromium(
    name: str, selectors: list[str], pages: dict[str, Path], artifacts: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    browser.get(pages[name].as_uri())
    for selector in selectors:
        chart = browser.find_element(By.CSS_SELECTOR, selector)
        browser.execute_script("arguments[0].scrollIntoView()", chart)
        assert chart.is_displayed()
        assert chart.size["width"] > 100
        assert chart.size["height"] > 50
        marks = chart.find_elements(By.CSS_SELECTOR, "rect, circle, line")
        assert any(m.size["width"] > 0 and m.size["height"] > 0 for m in marks)
        shot = artifacts / f"picture-{name}-{selector.replace(' ', '_').strip('#.')}.png"
        chart.screenshot(str(shot))
        assert shot.stat().st_size > 1000
    browser.save_screenshot(str(artifacts / f"picture-{name}.png"))


def test_match_weight_bars_in_chromium_are_as_long_as_their_weights(
    pages: dict[str, Path], browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    browser.get(pages["model"].as_uri())
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.match-weights rect.level")
    rendered = [(abs(float(b.get_attribute("data-value") or "nan")), b.size["width"]) for b in bars]
    longest = max(weight for weight, _ in rendered)
    widest = max(width for _, width in rendered)
    for weight, width in rendered:
        assert width == pytest.approx(widest * weight / longest, abs=1.5)


def test_data_docs_render_offline_in_chromium(
    sample_warehouse: Path, artifacts: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    index = sample_warehouse / "data_docs" / "index.html"
    _offline(index.read_text(encoding="utf-8"))
    browser.get(index.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#suites tbody tr")
    validations = _query(
        sample_warehouse, "SELECT suite, failed_errors, failed_warnings FROM quality_validations"
    )
    assert len(rows) == validations.height
    status = {r.get_attribute("data-suite"): r.find_elements(By.TAG_NAME, "td")[1].text
              for r in rows}  # fmt: skip
    for suite, errors, warnings in validations.iter_rows():
        assert status[suite] == ("failed" if errors else "warning" if warnings else "passed")
    assert "warning" in status.values()
    browser.find_element(By.CSS_SELECTOR, "#trend-chart svg").screenshot(
        str(artifacts / "data-docs-trend.png")
    )
    browser.save_screenshot(str(artifacts / "data-docs.png"))
    # A suite's page, reached by its link, lists its expectations.
    rows[0].find_element(By.TAG_NAME, "a").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#expectations tbody tr")
    _offline(Path(browser.current_url.removeprefix("file://")).read_text(encoding="utf-8"))


def test_masked_explain_page_hides_the_compared_contact_values(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    pair = ["crm:CRM-000298", "tickets:T-0001175"]  # the README's pair: two e-mails compared
    explained = json.loads(_write(["explain", *pair, "--warehouse", str(sample_warehouse),
                                   "--json"]))  # fmt: skip
    emails = [explained["steps"][i][f"{side}_value"] for i, s in enumerate(explained["steps"])
              if s["comparison"] == "email" for side in ("left", "right")]  # fmt: skip
    assert all(emails)
    page = tmp_path / "masked.html"
    _write(["explain", *pair, "--warehouse", str(sample_warehouse), "--mask-pii", "--html",
            str(page)])  # fmt: skip
    text = page.read_text(encoding="utf-8")
    for email in emails:
        assert email not in text
    assert '<svg class="chart waterfall"' in text
