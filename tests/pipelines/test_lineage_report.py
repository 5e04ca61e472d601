"""The auditor's reports on the warehouse published from the samples: CLI, OpenLineage,
and the HTML report opened in headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

import contextlib
import shutil
from importlib.metadata import version
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from lineage.html import render_customer_html
from lineage.openlineage import emit_run_lineage
from lineage.openlineage_validate import read_events
from lineage.report import load_customer_report
from pipelines.cli import main
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG

SCRIPT_NAME = "<script>alert(1)</script>"


def _query(warehouse: Path, sql: str, *params: object) -> pl.DataFrame:
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        return con.sql(sql, params=list(params)).pl()


def contested_customer(warehouse: Path, field: str = "name") -> str:
    """The first customer whose records hold at least two different values of ``field``."""
    return str(
        _query(
            warehouse,
            "SELECT unified_id FROM field_candidates WHERE field = ? GROUP BY ALL "
            "HAVING count(DISTINCT value) >= 2 ORDER BY unified_id LIMIT 1",
            field,
        ).item()
    )


def test_new_lineage_tables_are_published(sample_warehouse: Path) -> None:
    points = _query(sample_warehouse, "SELECT * FROM customer_contact_points")
    golden = _query(sample_warehouse, "SELECT unified_id, email, phone FROM golden_customer")
    primaries = points.filter("is_primary").pivot(on="kind", index="unified_id", values="value")
    joined = golden.join(primaries, on="unified_id", how="left", suffix="_point")
    assert joined.filter(pl.col("email") != pl.col("email_point")).is_empty()
    assert joined.filter(pl.col("phone") != pl.col("phone_point")).is_empty()
    assert points.filter(~pl.col("is_primary")).height > 0  # losers kept
    provenance = _query(sample_warehouse, "SELECT * FROM run_provenance").row(0, named=True)
    runs = _query(sample_warehouse, "SELECT run_id, config_hash FROM run_settings").row(0)
    assert (provenance["run_id"], provenance["config_hash"]) == runs
    assert provenance["code_version"].startswith(version("fusion"))


def test_cli_lineage_and_report(sample_warehouse: Path, tmp_path: Path) -> None:
    unified_id = contested_customer(sample_warehouse)
    runner = CliRunner()
    page = tmp_path / "customer.html"
    result = runner.invoke(
        main, ["lineage", unified_id, "--warehouse", str(sample_warehouse), "--html", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert "Field survivorship: winners and losers" in result.output
    assert unified_id in page.read_text(encoding="utf-8")
    summary = tmp_path / "summary.html"
    result = runner.invoke(
        main, ["report", "--warehouse", str(sample_warehouse), "--html", str(summary), "--mask-pii"]
    )
    assert result.exit_code == 0, result.output
    assert "Most contested fields" in result.output
    text = summary.read_text(encoding="utf-8")
    for source in ("crm", "erp", "ecommerce", "tickets"):
        assert f"<td>{source}</td>" in text
    result = runner.invoke(main, ["lineage", "FU-99999999", "--warehouse", str(sample_warehouse)])
    assert result.exit_code == 1
    assert (
        "fusion lineage failed: unified id 'FU-99999999' is not in the warehouse" in result.output
    )


def test_masked_customer_report_hides_contact_data(sample_warehouse: Path) -> None:
    unified_id = contested_customer(sample_warehouse, "email")
    golden = _query(
        sample_warehouse,
        "SELECT email, phone FROM golden_customer WHERE unified_id = ?",
        unified_id,
    ).row(0)
    page = render_customer_html(load_customer_report(sample_warehouse, unified_id, mask_pii=True))
    for value in golden:
        if value is not None:
            assert value not in page


def customer_with_contacts(warehouse: Path) -> str:
    """The first company whose contacts hold a name, an e-mail and a phone between them."""
    return str(
        _query(
            warehouse,
            "SELECT unified_id FROM customer_contacts GROUP BY ALL HAVING count(*) >= 2 "
            "AND count(name) >= 1 AND count(email) >= 1 AND count(phone) >= 1 "
            "ORDER BY unified_id LIMIT 1",
        ).item()
    )


def test_cli_lineage_shows_each_contact_and_where_its_values_came_from(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    unified_id = customer_with_contacts(sample_warehouse)
    lineage = _query(
        sample_warehouse,
        "SELECT contact_id, field, value, source_system, source_record_id, source_column "
        "FROM customer_contact_lineage WHERE unified_id = ? ORDER BY contact_id, field",
        unified_id,
    )
    assert lineage["contact_id"].n_unique() >= 2
    page = tmp_path / "customer.html"
    result = CliRunner().invoke(
        main,
        ["lineage", unified_id, "--warehouse", str(sample_warehouse), "--html", str(page)],
        env={"COLUMNS": "250"},  # rich's width: one table row per line
    )
    assert result.exit_code == 0, result.output
    assert "Contacts: the people acting for the company" in result.output
    lines = result.output.splitlines()
    html = page.read_text(encoding="utf-8")
    contacts_table = html.split('id="contacts"')[1].split("</table>")[0]
    for row in lineage.iter_rows(named=True):
        source = f"{row['source_system']}:{row['source_record_id']} · {row['source_column']}"
        # Terminal: one line per value, naming its contact, record and column.
        assert any(
            row["contact_id"] in line and row["value"] in line and source in line for line in lines
        ), row
        # HTML: the value and its source in the contact's row.
        contact_row = next(r for r in contacts_table.split("<tr>") if row["contact_id"] in r)
        assert f"<td>{row['value']}</td>" in contact_row
        assert f"<td>{source}</td>" in contact_row
    assert "://" not in html  # still self-contained: no external URL

    masked = render_customer_html(load_customer_report(sample_warehouse, unified_id, mask_pii=True))
    contacts_table = masked.split('id="contacts"')[1].split("</table>")[0]
    for row in lineage.iter_rows(named=True):
        assert row["value"] not in contacts_table  # names, e-mails and phones masked
        assert row["source_record_id"] in contacts_table  # their sources stay


def test_a_person_customer_report_has_no_contacts_section(sample_warehouse: Path) -> None:
    person = str(
        _query(
            sample_warehouse,
            "SELECT unified_id FROM golden_customer WHERE customer_type = 'person' "
            "ORDER BY unified_id LIMIT 1",
        ).item()
    )
    report = load_customer_report(sample_warehouse, person)
    assert report.contacts.is_empty()
    assert 'id="contacts"' not in render_customer_html(report)


def test_openlineage_events_of_the_sample_run_validate(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    config = load_fusion_config(SAMPLE_CONFIG)
    run_id = str(_query(sample_warehouse, "SELECT run_id FROM run_settings").item())
    path = tmp_path / "openlineage.jsonl"
    emit_run_lineage(
        path,
        config=config,
        run_id=run_id,
        started_at=pl.Series([0]).cast(pl.Datetime("us", "UTC")).item(),
        database=sample_warehouse / "golden.duckdb",
    )
    start, complete = read_events(path)
    assert complete.run.runId == run_id
    # The four customer exports and the three fact exports the models roll up.
    inputs = {Path(d.name).name for d in complete.inputs or []}
    assert inputs == {
        *(Path(s.resolved_path).name for s in config.sources),
        *(Path(f.path).name for f in config.facts),
    }
    assert len(config.facts) == 3
    golden = next(d for d in complete.outputs or [] if d.name == "main.golden_customer")
    lineage = (golden.facets or {})["columnLineage"].fields
    tier = sorted((Path(i.name).name, i.field) for i in lineage["tier"].inputFields)
    assert tier == [("crm_customers.csv", "tier"), ("erp_customers.csv", "客户等级")]
    mapped = {f for s in config.sources for f, m in s.fields.items() if m.source_columns}
    assert set(lineage) == mapped
    outputs = {d.name.removeprefix("main."): d for d in complete.outputs or []}
    # Every SQL model's columns, from the columns sqlglot traced them to (model_column_lineage).
    traced = _query(
        sample_warehouse,
        "SELECT model, column_name, upstream_table, upstream_column FROM model_column_lineage",
    )
    assert traced.height > 0
    for model, rows in traced.group_by("model"):
        facet = (outputs[str(model[0])].facets or {})["columnLineage"].fields
        emitted = {
            (column, i.name.removeprefix("main."), i.field)
            for column, f in facet.items()
            for i in f.inputFields
        }
        assert emitted == set(rows.select(
            "column_name", "upstream_table", "upstream_column").iter_rows()
        )  # fmt: skip
    # Every published table says where it comes from: its columns, or at least its rows.
    for name, dataset in outputs.items():
        facet = (dataset.facets or {})["columnLineage"]
        assert facet.fields or facet.dataset, name
    # Fact tables: each fact column from the columns its fact source maps to it.
    for fact in config.facts:
        facet = (outputs[fact.table].facets or {})["columnLineage"].fields
        for fact_column, columns in fact.column_of.items():
            if columns:
                assert set(columns) <= {i.field for i in facet[fact_column].inputFields}
    contacts = (outputs["customer_contacts"].facets or {})["columnLineage"].fields
    assert {(Path(i.name).name, i.field) for i in contacts["email"].inputFields} == {
        (Path(s.resolved_path).name, c)
        for s in config.sources
        if "email" in s.fields
        for c in s.fields["email"].source_columns
    }
    # Standardised records and the xref: each record's ID from its source's record-ID column.
    for table in ("standardised_records", "customer_xref"):
        ids = (outputs[table].facets or {})["columnLineage"].fields["source_record_id"]
        assert {(Path(i.name).name, i.field) for i in ids.inputFields} == {
            (Path(s.resolved_path).name, s.record_id) for s in config.sources
        }


# ---- headless Chromium ----


def test_html_report_in_chromium_shows_winner_source_and_losers(
    sample_warehouse: Path, tmp_path: Path, artifacts: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    unified_id = contested_customer(sample_warehouse)
    winner = _query(
        sample_warehouse,
        "SELECT value, source_system, source_record_id FROM field_lineage "
        "WHERE unified_id = ? AND field = 'name'",
        unified_id,
    ).row(0, named=True)
    losers = _query(
        sample_warehouse,
        "SELECT DISTINCT value FROM field_candidates "
        "WHERE unified_id = ? AND field = 'name' AND NOT is_winner",
        unified_id,
    )["value"].to_list()
    page = tmp_path / f"{unified_id}.html"
    result = CliRunner().invoke(
        main, ["lineage", unified_id, "--warehouse", str(sample_warehouse), "--html", str(page)]
    )
    assert result.exit_code == 0, result.output

    browser.get(page.as_uri())
    section = browser.find_element(By.CSS_SELECTOR, 'article[data-field="name"]')
    browser.execute_script("arguments[0].scrollIntoView()", section)
    assert section.find_element(By.CSS_SELECTOR, ".chosen-value").text == winner["value"]
    source = f"{winner['source_system']}:{winner['source_record_id']}"
    assert section.find_element(By.CSS_SELECTOR, ".chosen-source").text == source
    (chosen,) = section.find_elements(By.CSS_SELECTOR, "tr.winner")
    assert chosen.is_displayed()
    cells = [c.text for c in chosen.find_elements(By.TAG_NAME, "td")]
    assert cells[:3] == ["chosen", winner["value"], source]
    lost = section.find_elements(By.CSS_SELECTOR, "tr.loser")
    assert all(row.is_displayed() for row in lost)
    lost_values = {row.find_elements(By.TAG_NAME, "td")[1].text for row in lost}
    assert set(losers) <= lost_values
    reasons = ("lower trust", "tie on", "ranks after role")  # a person's names have roles too
    assert any(any(reason in row.text for reason in reasons) for row in lost)
    section.screenshot(str(artifacts / f"lineage-{unified_id}-name.png"))
    browser.save_screenshot(str(artifacts / f"lineage-{unified_id}.png"))
    assert (artifacts / f"lineage-{unified_id}-name.png").stat().st_size > 0


def test_a_script_in_a_source_value_renders_as_text_in_chromium(
    sample_warehouse: Path, tmp_path: Path, artifacts: Path, browser: object
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    unified_id = contested_customer(sample_warehouse)
    # A copy of the release where the customer's name came from a hostile export.
    copy = tmp_path / "warehouse"
    copy.mkdir()
    shutil.copyfile(sample_warehouse / "golden.duckdb", copy / "golden.duckdb")
    with contextlib.closing(duckdb.connect(str(copy / "golden.duckdb"))) as con:
        # The catalog's tables are views over the release's files: edit copies of them.
        for table in ("golden_customer", "field_lineage", "field_candidates"):
            con.execute(f"CREATE TABLE {table}_edited AS FROM {table}")
            con.execute(f"DROP VIEW {table}")
            con.execute(f"ALTER TABLE {table}_edited RENAME TO {table}")
        for table in ("golden_customer",):
            con.execute(
                f"UPDATE {table} SET name = ? WHERE unified_id = ?", [SCRIPT_NAME, unified_id]
            )
        for table in ("field_lineage", "field_candidates"):
            con.execute(
                f"UPDATE {table} SET value = ? WHERE unified_id = ? AND field = 'name'",
                [SCRIPT_NAME, unified_id],
            )
    page = tmp_path / "hostile.html"
    page.write_text(render_customer_html(load_customer_report(copy, unified_id)), encoding="utf-8")

    browser.get(page.as_uri())
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
    section = browser.find_element(By.CSS_SELECTOR, 'article[data-field="name"]')
    assert section.find_element(By.CSS_SELECTOR, ".chosen-value").text == SCRIPT_NAME
    assert browser.find_elements(By.TAG_NAME, "script") == []
    browser.save_screenshot(str(artifacts / "lineage-script-name.png"))


def test_a_section_over_the_row_limit_is_cut_and_says_where_the_rest_is(
    sample_warehouse: Path,
) -> None:
    whole = load_customer_report(sample_warehouse, "FU-00000025")
    assert whole.truncated == {}
    cut = load_customer_report(sample_warehouse, "FU-00000025", section_rows=1)
    assert whole.members.height == 3
    assert cut.members.rows() == whole.members.head(1).rows()
    assert cut.truncated["members"] == (1, 3)
    assert cut.truncated["evidence"] == (1, whole.evidence.height)
    # Every field keeps its winner; the losers are counted.
    assert cut.winners().rows() == whole.winners().rows()
    assert cut.truncated["candidates"] == (cut.winners().height, whole.candidates.height)
    html = render_customer_html(cut)
    assert "showing 1 of 3 rows: all are in customer_xref" in html
    assert "rows: all are in" not in render_customer_html(whole)
