"""The auditor's reports on a tiny warehouse: content, escaping, masking, resolution."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from lineage.html import render_customer_html
from lineage.report import ReportError, load_customer_report, render_terminal
from lineage.summary import load_run_summary, reason_kind, render_summary_html
from tests.lineage.conftest import MARKUP_NAME, SCRIPT_NAME, TINY_RUN_ID

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _field_section(page: str, field: str) -> str:
    match = re.search(rf'<article class="field" id="field-{field}".*?</article>', page, re.S)
    assert match is not None, f"no section for {field}"
    return match.group(0)


def _rows(section: str, role: str) -> list[str]:
    return re.findall(rf'<tr class="{role}">(.*?)</tr>', section, re.S)


def test_customer_html_shows_winner_source_and_losers(tiny_warehouse: Path) -> None:
    page = render_customer_html(load_customer_report(tiny_warehouse, "FU-1"))
    name = _field_section(page, "name")
    (winner,) = _rows(name, "winner")
    (loser,) = _rows(name, "loser")
    assert ESCAPED_SCRIPT in winner  # erp's name, a year older but more trusted
    assert "erp:E1" in winner
    assert "highest_trust" in winner
    assert "Acme [bold red]Ltd[/]" in loser
    assert "crm:C1" in loser
    assert "lower trust" in loser
    phone = _field_section(page, "phone")
    (invalid,) = _rows(phone, "loser")
    assert "0.5 (invalid phone)" in invalid
    for section in ("golden", "members", "evidence", "contact-points", "history"):
        assert f'id="{section}"' in page
    assert "tokens&gt;=0.8" in page  # match evidence levels
    assert "cafe0123" in page
    assert TINY_RUN_ID in page


def test_html_escapes_every_source_value_and_loads_nothing(tiny_warehouse: Path) -> None:
    page = render_customer_html(load_customer_report(tiny_warehouse, "FU-1"))
    assert ESCAPED_SCRIPT in page
    assert "<script" not in page.lower()
    assert SCRIPT_NAME not in page
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "default-src 'none'" in page  # even an unescaped script could not run


def test_retired_id_is_followed(tiny_warehouse: Path) -> None:
    report = load_customer_report(tiny_warehouse, "FU-9")
    assert (report.requested_id, report.unified_id) == ("FU-9", "FU-1")
    assert "FU-9 was merged into FU-1" in render_customer_html(report)
    assert set(report.members["source_record_id"]) == {"C1", "E1"}


@pytest.mark.parametrize(
    ("warehouse", "unified_id", "message"),
    [
        ("missing", "FU-1", "no published warehouse"),
        ("tiny", "FU-404", "unified id 'FU-404' is not in the warehouse"),
    ],
)
def test_report_errors(
    warehouse: str, unified_id: str, message: str, tiny_warehouse: Path, tmp_path: Path
) -> None:
    folder = tiny_warehouse if warehouse == "tiny" else tmp_path / "nothing"
    with pytest.raises(ReportError, match=message):
        load_customer_report(folder, unified_id)


def test_terminal_prints_values_as_text_not_markup(tiny_warehouse: Path) -> None:
    console = Console(record=True, width=400)
    render_terminal(load_customer_report(tiny_warehouse, "FU-1"), console)
    out = console.export_text()
    assert SCRIPT_NAME in out
    assert MARKUP_NAME in out  # rich markup in a source value is shown, not applied
    for title in ("Golden record FU-1", "Member source records", "Match evidence",
                  "winners and losers", "Contact points", "Unified ID history"):  # fmt: skip
        assert title in out


def test_mask_pii(tiny_warehouse: Path) -> None:
    report = load_customer_report(tiny_warehouse, "FU-1", mask_pii=True)
    page = render_customer_html(report)
    console = Console(record=True, width=400)
    render_terminal(report, console)
    for shown in (page, console.export_text()):
        for secret in ("li@acme.cn", "wei@acme.cn", "+8613800138000", "1 Century Ave", "88 Old"):
            assert secret not in shown
        assert "l•••@acme.cn" in shown
        assert "+86•••00" in shown
    assert "PII masked" in page
    assert ESCAPED_SCRIPT in page  # a company name is not PII


def test_run_summary(tiny_warehouse: Path) -> None:
    summary = load_run_summary(tiny_warehouse)
    sources = {r["source_system"]: r for r in summary.sources.iter_rows(named=True)}
    assert sources["crm"]["rows_in"] == 3  # one record + two quarantined
    assert sources["crm"]["quarantine_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert sources["erp"]["match_rate"] == 1.0
    assert sources["shop"]["match_rate"] == 0.0
    assert sources["shop"]["format"] == "jsonl"
    assert summary.quarantine["reason"].to_list() == [
        "column 'mail': invalid value '…'",
        "missing record id (column 'id')",
    ]
    contested = {r["field"]: r for r in summary.contested.iter_rows(named=True)}
    assert contested["name"]["contested_customers"] == 1
    assert contested["customer_type"]["contested_customers"] == 0
    assert summary.contested_customers["unified_id"].to_list() == ["FU-1"]
    assert sum(summary.trust_histogram["customers"]) == 2
    assert dict(summary.decisions.select("decision", "pairs").rows()) == {
        "match": 1,
        "non_match": 1,
    }
    assert summary.run.config_hash == "cafe0123"
    assert summary.run.code_version


def test_run_summary_html_is_self_contained(tiny_warehouse: Path) -> None:
    page = render_summary_html(load_run_summary(tiny_warehouse, mask_pii=True))
    for section in ("sources", "quarantine", "decisions", "field_trust", "contested"):
        assert f'id="{section}"' in page
    assert "<svg" in page
    assert "<script" not in page.lower()
    assert "bad@acme.cn" not in page
    assert not re.search(r"\b(src|href)\s*=", page)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("column 'tier': unmapped value 'Z'", "column 'tier': unmapped value '…'"),
        ("column 'created_at': '2023-06-31' is not a valid timestamp (format 'iso')",
         "column 'created_at': '…' is not a valid timestamp (format '…')"),
        ("duplicate source_record_id 'CRM-1' (kept row 1508)",
         "duplicate source_record_id '…' (kept row …)"),
        ("invalid JSON: Unterminated string starting at: line 1 column 180 (char 179)",
         "invalid JSON: Unterminated string starting at: …"),
        ("none of name, email, phone, tax_id present",
         "none of name, email, phone, tax_id present"),
    ],
)  # fmt: skip
def test_reason_kind(reason: str, expected: str) -> None:
    assert reason_kind(reason, columns={"tier", "created_at"}) == expected
