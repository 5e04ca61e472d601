"""Fact sources: config validation, loading with the format readers, quarantine, tables."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.errors import ConfigError, SchemaDriftError, SourceReadError
from connectors.facts import (
    FACT_SCHEMA,
    FactConfig,
    fact_tables,
    load_fact_source,
    parse_facts,
)
from pipelines.settings import load_fusion_config

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
SOURCES = ("crm", "erp", "shop")


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "invoices",
        "kind": "invoice",
        "customer_source": "erp",
        "path": "invoices.csv",
        "format": "csv",
        "fact_id": "no",
        "customer_id": "customer",
        "occurred_at": {"column": "date", "format": "%Y-%m-%d"},
        "amount": "total",
        "currency": {"constant": "CNY"},
        "status": {"column": "state", "map": {"P": "paid", "O": "open", "X": "void"}},
    }
    return {**base, **overrides}


def parse(tmp_path: Path, *entries: dict[str, Any]) -> tuple[FactConfig, ...]:
    return parse_facts(list(entries), base_dir=tmp_path, source_names=SOURCES)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"customer_source": "erpp"}, "key 'customer_source': unknown source 'erpp'"),
        ({"kind": "refund"}, "key 'kind'"),
        ({"status": {"column": "s", "map": {"P": "settled"}}},
         "key 'status.map.P': value 'settled' is not a invoice status"),
        ({"amount": {"column": "t", "map": {"x": "1"}}}, "key 'amount.map'"),
        ({"currency": {"column": "c", "present": "CNY"}}, "key 'currency'"),
        ({"status": {"columns": ["a", "b"], "join": "-"}}, "key 'status.join': joining columns"),
        ({"colour": "red"}, "key 'colour': unknown key"),
        ({"fact_id": None}, "key 'fact_id'"),
        ({"path": "../../etc/passwd"}, "key 'path'"),
        ({"sheet": "Invoices"}, "key 'sheet': only valid with format 'excel'"),
    ],
)  # fmt: skip
def test_invalid_fact_entries_name_the_fact_and_key(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match="fact 'invoices': ") as error:
        parse(tmp_path, entry(**overrides))
    assert message in str(error.value)


def test_duplicate_fact_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fact 'invoices': key 'name': duplicate"):
        parse(tmp_path, entry(), entry())


def write_invoices(folder: Path, rows: list[list[str]], name: str = "invoices.csv") -> None:
    with (folder / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["no", "customer", "date", "total", "state"])
        writer.writerows(rows)


def test_rows_load_or_are_quarantined_with_a_reason_naming_the_column(tmp_path: Path) -> None:
    write_invoices(
        tmp_path,
        [
            ["F1", "KH1", "2026-01-02", "100.50", "P"],
            ["F2", "KH1", "2026-02-30", "10", "P"],
            ["F3", "", "2026-01-02", "10", "O"],
            ["F4", "KH2", "2026-01-03", "ten", "O"],
            ["F5", "KH2", "2026-01-04", "10", "Q"],
            ["F1", "KH3", "2026-01-05", "1", "P"],
            ["F6", "KH2", "2026-01-06", "", "X"],
            ["F7", "KH2"],
        ],
    )
    (fact,) = parse(tmp_path, entry())
    batch = load_fact_source(fact)
    assert batch.rows_in == 8 == batch.records.height + batch.quarantine.height
    assert batch.records.schema == pl.Schema(FACT_SCHEMA)
    loaded = batch.records.select(
        "fact_id", "source_system", "source_record_id", "amount", "status"
    )
    assert loaded.rows() == [
        ("F1", "erp", "KH1", 100.5, "paid"),
        ("F6", "erp", "KH2", None, "void"),
    ]
    reasons = dict(batch.quarantine.select("row_number", "reason").iter_rows())
    assert reasons == {
        2: "column 'date': '2026-02-30' is not a valid timestamp (format '%Y-%m-%d')",
        3: "missing customer id ('customer')",
        4: "column 'total': 'ten' is not a number",
        5: "column 'state': unmapped status 'Q'",
        6: "duplicate fact id 'F1' (kept row 1)",
        8: "expected 5 fields, found 2 (no value for 'date', 'total', 'state')",
    }
    assert set(batch.quarantine["source_system"]) == {"invoices"}


def test_a_missing_mapped_column_is_schema_drift(tmp_path: Path) -> None:
    write_invoices(tmp_path, [["F1", "KH1", "2026-01-02", "1", "P"]])
    (fact,) = parse(tmp_path, entry(amount="gross"))
    with pytest.raises(SchemaDriftError, match=r"fact 'invoices': column\(s\) 'gross' not found"):
        load_fact_source(fact)


def test_glob_reads_every_file_and_deduplicates_across_them(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    write_invoices(tmp_path / "exports", [["F1", "KH1", "2026-01-02", "1", "P"]], "a.csv")
    write_invoices(tmp_path / "exports", [["F1", "KH1", "2026-01-02", "1", "P"]], "b.csv")
    (fact,) = parse(tmp_path, entry(path="exports/*.csv"))
    batch = load_fact_source(fact)
    assert batch.files == ("exports/a.csv", "exports/b.csv")
    assert batch.quarantine["reason"].to_list() == [
        "duplicate fact id 'F1' (kept row 1 of exports/a.csv)"
    ]


def test_no_file_is_a_read_error(tmp_path: Path) -> None:
    (fact,) = parse(tmp_path, entry())
    with pytest.raises(SourceReadError, match="fact 'invoices': file not found"):
        load_fact_source(fact)
    (fact,) = parse(tmp_path, entry(path="exports/*.csv"))
    with pytest.raises(SourceReadError, match="fact 'invoices': no file matches '.*/exports/"):
        load_fact_source(fact)


def test_an_unreadable_file_fails_in_one_line_naming_fact_and_file(tmp_path: Path) -> None:
    (tmp_path / "invoices.parquet").write_bytes(b"PAR1 this is not parquet")
    (fact,) = parse(tmp_path, entry(path="invoices.parquet", format="parquet"))
    with pytest.raises(
        SourceReadError, match=r"^fact 'invoices': cannot read .*/invoices\.parquet: "
    ) as info:
        load_fact_source(fact)
    assert "\n" not in str(info.value)


def test_fact_tables_have_every_kind_even_when_not_configured(tmp_path: Path) -> None:
    write_invoices(tmp_path, [["F1", "KH1", "2026-01-02", "1", "P"], ["F2", "", "", "", ""]])
    (fact,) = parse(tmp_path, entry())
    tables = fact_tables({"invoices": load_fact_source(fact)}, run_id="r1")
    assert set(tables) == {"fact_invoices", "fact_orders", "fact_tickets", "fact_quarantine"}
    assert tables["fact_invoices"]["fact_id"].to_list() == ["F1"]
    assert tables["fact_orders"].is_empty()
    assert tables["fact_orders"].schema == pl.Schema(FACT_SCHEMA)
    assert tables["fact_quarantine"]["run_id"].to_list() == ["r1"]


def test_the_sample_facts_quarantine_exactly_the_rows_truth_lists() -> None:
    config = load_fusion_config(SAMPLES / "fusion.yaml")
    with (SAMPLES / "truth" / "invalid_facts.csv").open(encoding="utf-8") as handle:
        truth = {(r["fact_source"], int(r["row_number"])) for r in csv.DictReader(handle)}
    found: set[tuple[str, int]] = set()
    for fact in config.facts:
        batch = load_fact_source(fact)
        assert batch.rows_in == batch.records.height + batch.quarantine.height
        if fact.kind != "ticket":  # tickets.csv's broken rows are the customer export's
            found |= {(fact.name, n) for n in batch.quarantine["row_number"]}
        assert batch.records["occurred_at"].is_not_null().all()
    assert found == truth
    invoices = next(f for f in config.facts if f.kind == "invoice")
    assert invoices.column_of["amount"] == ("价税合计",)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("rot13", "key 'encoding': 'rot13' is not a text encoding"),
        ("klingon", "key 'encoding': unknown encoding 'klingon'"),
    ],
)
def test_a_codec_that_cannot_read_text_is_a_config_error(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    """Checked when the config loads, as for sources, not when the file is read."""
    with pytest.raises(ConfigError, match=rf"fact 'invoices': {expected}"):
        parse(tmp_path, entry(encoding=encoding))


def test_a_gzip_file_declared_csv_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "invoices.csv").write_bytes(gzip.compress(b"id,customer\nF1,KH1\n"))
    (fact,) = parse(tmp_path, entry())
    with pytest.raises(
        SourceReadError, match=r"^fact 'invoices': .*/invoices\.csv is gzip-compressed, not csv"
    ):
        load_fact_source(fact)


def test_status_codes_match_whatever_their_case(tmp_path: Path) -> None:
    """Value maps forgive case and surrounding space, as for customer fields."""
    write_invoices(
        tmp_path,
        [["F1", "KH1", "2026-01-02", "1", "p"], ["F2", "KH1", "2026-01-02", "1", " x "],
         ["F3", "KH1", "2026-01-02", "1", "q"]],
    )  # fmt: skip
    batch = load_fact_source(parse(tmp_path, entry())[0])
    assert batch.records.select("fact_id", "status").rows() == [("F1", "paid"), ("F2", "void")]
    assert batch.quarantine["reason"].to_list() == ["column 'state': unmapped status 'q'"]
