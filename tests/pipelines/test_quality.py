"""Data-quality suites: derived from the schemas, ERROR blocks publishing, WARN is reported."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors import load_source
from connectors.canonical import CANONICAL_SCHEMA, CUSTOMER_TYPES, SIZE_BANDS, TIERS
from connectors.config import parse_sources
from connectors.facts import FACT_STATUSES
from matching import standardise
from pipelines.orchestration.runner import RunFailedError
from pipelines.quality import (
    Suite,
    contact_suites,
    fact_suites,
    golden_suites,
    release_suites,
    staged_frames,
    standardised_suites,
    validate,
    write_data_docs,
)
from pipelines.settings import FusionConfig, load_fusion_config
from pipelines.warehouse.spill import SpillFolder
from tests.dbt_like_models.conftest import GOLDEN_ROWS, GOLDEN_SCHEMA
from tests.pipelines.conftest import SAMPLE_CONFIG, external_references, run_samples


@pytest.fixture(scope="module")
def config() -> FusionConfig:
    return load_fusion_config(SAMPLE_CONFIG)


def kwargs_of(suite: Suite, kind: str) -> list[dict[str, object]]:
    return [dict(e.kwargs) for e in suite.expectations if e.kind == kind]


def test_source_suites_follow_the_canonical_schema_and_the_config(config: FusionConfig) -> None:
    suites = {s.name: s for s in release_suites(config.sources, config.facts)}
    assert list(suites) == [
        "source_crm", "source_erp", "source_ecommerce", "source_tickets",
        "golden_customer", "customer_xref", "field_lineage",
        "customer_contacts", "customer_contact_lineage", "value_rejections", "oversized_clusters",
        "fact_invoices", "fact_orders", "fact_tickets",
    ]  # fmt: skip
    erp = suites["source_erp"]
    columns = kwargs_of(erp, "ExpectTableColumnsToMatchOrderedList")
    assert columns == [{"column_list": list(CANONICAL_SCHEMA)}]
    in_set = {k["column"]: k["value_set"] for k in kwargs_of(erp, "ExpectColumnValuesToBeInSet")}
    # Every closed vocabulary the ERP maps, straight from connectors.canonical.
    assert in_set == {
        "source_system": ["erp"], "customer_type": list(CUSTOMER_TYPES),
        "size_band": list(SIZE_BANDS), "tier": list(TIERS),
    }  # fmt: skip
    # The shop passes its country through unmapped: raw values are checked (WARN).
    shop = suites["source_ecommerce"]
    assert [(e.kwargs["column"], e.severity) for e in shop.expectations if "Regex" in e.kind] == [
        ("email", "warn"),
        ("country", "warn"),
    ]


def test_golden_and_fact_suites_use_the_declared_vocabularies(config: FusionConfig) -> None:
    golden = golden_suites(config.sources)[0]
    in_set = {k["column"]: k["value_set"] for k in kwargs_of(golden, "ExpectColumnValuesToBeInSet")}
    assert in_set == {
        "customer_type": list(CUSTOMER_TYPES), "tier": list(TIERS), "size_band": list(SIZE_BANDS),
    }  # fmt: skip
    errors = {e.name for e in golden.expectations if e.severity == "error"}
    assert "expect_column_values_to_be_unique" in errors
    for suite in fact_suites(config.facts):
        kind = suite.name.removeprefix("fact_").removesuffix("s")
        status = next(k for k in kwargs_of(suite, "ExpectColumnValuesToBeInSet"))
        assert status == {"column": "status", "value_set": list(FACT_STATUSES[kind])}
    assert fact_suites([]) == []


def golden_frame() -> pl.DataFrame:
    return pl.DataFrame(GOLDEN_ROWS, schema=GOLDEN_SCHEMA, orient="row")


def golden_with_failures() -> pl.DataFrame:
    """Golden rows with a repeated unified_id (an error) and a phone not in E.164 (a warning)."""
    return golden_frame().with_columns(
        pl.when(pl.col("unified_id") == "FU-00000002")
        .then(pl.lit("FU-00000001"))
        .otherwise("unified_id")
        .alias("unified_id"),
        pl.when(pl.col("unified_id") == "FU-00000003")
        .then(pl.lit("138 0013 8000"))
        .otherwise("phone")
        .alias("phone"),
    )


def test_validation_records_error_and_warn_failures_with_the_failing_rows(
    config: FusionConfig,
) -> None:
    golden = golden_with_failures()
    suite = golden_suites(config.sources)[0]
    report = validate({"golden_customer": golden}, [suite], run_id="r1")
    failed = report.results.filter(~pl.col("success"))
    assert failed.select("expectation", "column_name", "severity", "unexpected_count").rows() == [
        ("expect_column_values_to_be_unique", "unified_id", "error", 2),
        ("expect_column_values_to_match_regex", "phone", "warn", 1),
    ]
    phone = failed.row(1, named=True)
    assert json.loads(phone["partial_unexpected"]) == ["138 0013 8000"]
    assert json.loads(phone["unexpected_rows"]) == [
        {"unified_id": "FU-00000003", "phone": "138 0013 8000"}
    ]
    assert report.results.height == len(suite.expectations)
    assert report.results["run_id"].unique().to_list() == ["r1"]
    validation = report.validations.row(0, named=True)
    assert (validation["success"], validation["failed_errors"], validation["failed_warnings"]) == (
        False,
        1,
        1,
    )


def golden_with_a_warning() -> pl.DataFrame:
    """Golden rows with one phone not in E.164: a WARN failure only."""
    return golden_frame().with_columns(
        pl.when(pl.col("unified_id") == "FU-00000003")
        .then(pl.lit("138 0013 8000"))
        .otherwise("phone")
        .alias("phone"),
    )


def test_data_docs_open_offline_show_warnings_as_warnings_and_keep_a_trend(
    config: FusionConfig, tmp_path: Path
) -> None:
    suite = golden_suites(config.sources)[0]
    docs = tmp_path / "docs"
    (docs / "static").mkdir(parents=True)  # GX's own site of an older version: replaced
    runs = {"r1": golden_frame(), "r2": golden_with_a_warning(), "r3": golden_with_failures()}
    for run_id, frame in runs.items():
        report = validate({"golden_customer": frame}, [suite], run_id=run_id)
        index = write_data_docs(report.validations, docs)
    assert index == docs / "index.html"
    assert not (docs / "static").exists()

    history = [json.loads(line) for line in (docs / "history.jsonl").read_text().splitlines()]
    counts = [(h["run_id"], h["status"], h["failed_errors"], h["failed_warnings"]) for h in history]
    assert counts == [("r1", "passed", 0, 0), ("r2", "warning", 0, 1), ("r3", "failed", 1, 1)]
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (docs / "validations" /
             "golden_customer").glob("*.html")}  # fmt: skip
    assert set(pages) == set(runs)
    # The warning run's page: the phone expectation is a warning, with its failing row.
    row = next(r for r in pages["r2"].split("<tr") if "expect_column_values_to_match_regex" in r
               and "<td>phone</td>" in r)  # fmt: skip
    assert 'class="expectation-warning"' in row
    assert "138 0013 8000" in row
    assert "FU-00000003" in row
    assert 'class="status-warning">warning</span> ' in pages["r2"]
    assert pages["r3"].count('class="expectation-failed"') == 1  # the uniqueness error
    text = index.read_text(encoding="utf-8")
    latest = text.split('id="suites"')[1].split("</table>")[0]
    assert 'data-suite="golden_customer"' in latest
    assert "status-failed" in latest
    trend = text.split('id="trend"')[1].split("</table>")[0]
    assert [r.split("<td>")[1].split("<")[0] for r in trend.split("<tr>")[2:]] == list(runs)
    for page_text in (text, *pages.values()):
        assert external_references(page_text) == []
        assert "<script" not in page_text

    # Re-rendering a run replaces its entry; older runs than the kept ones lose their pages.
    write_data_docs(validate({"golden_customer": golden_frame()}, [suite], run_id="r3")
                    .validations, docs)  # fmt: skip
    history = [json.loads(line) for line in (docs / "history.jsonl").read_text().splitlines()]
    assert [(h["run_id"], h["status"]) for h in history] == [
        ("r1", "passed"), ("r2", "warning"), ("r3", "passed"),
    ]  # fmt: skip


def _state(warehouse: Path) -> tuple[str, int, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        count = con.sql("SELECT count(*) AS n FROM golden_customer").pl()["n"].item()
        rows = con.sql("SELECT * FROM customer_tier ORDER BY unified_id LIMIT 5").pl().rows()
    return (warehouse / "current").readlink().name, count, rows


@pytest.mark.slow
def test_an_error_expectation_stops_publishing_and_the_previous_release_stays(
    sample_warehouse: Path, samples_copy: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(sample_warehouse, warehouse, symlinks=True)
    before = _state(warehouse)
    # The shop starts exporting country names instead of ISO codes, and its config has the
    # country reference data turned off (which would read "China" as CN): the connectors
    # pass the field through (no value map), so it reaches the golden record.
    shop = samples_copy / "ecommerce_customers.jsonl"
    text = shop.read_text(encoding="utf-8")
    shop.write_text(text.replace('"country": "CN"', '"country": "China"'), encoding="utf-8")
    config = samples_copy / "fusion.yaml"
    mapped = "      country: address.country\n"
    assert config.read_text(encoding="utf-8").count(mapped) == 1
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            mapped, "      country: {column: address.country, normalise: false}\n"
        ),
        encoding="utf-8",
    )

    with pytest.raises(RunFailedError) as failure:
        run_samples(warehouse, samples_copy / "fusion.yaml")

    message = str(failure.value)
    assert "data quality: 1 ERROR expectation(s) failed" in message
    assert "golden_customer: ERROR expect_column_values_to_match_regex(country)" in message
    assert '"CHINA"' in message
    assert _state(warehouse) == before  # the previous release is current and readable
    log = [json.loads(line) for line in (warehouse / "run_log.jsonl").read_text().splitlines()]
    assert log[-1]["status"] == "failed"
    # The Data Docs show the failed validation: the raw values WARN, the golden ones fail.
    docs = warehouse / "data_docs"
    page = docs / "validations" / "golden_customer" / f"{log[-1]['run_id']}.html"
    assert "CHINA" in page.read_text(encoding="utf-8")
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "status-failed" in index.split('data-suite="golden_customer"')[1].split("</tr>")[0]
    assert "status-warning" in index.split('data-suite="source_ecommerce"')[1].split("</tr>")[0]


def test_the_published_release_keeps_quality_results(sample_warehouse: Path) -> None:
    with duckdb.connect(str(sample_warehouse / "golden.duckdb"), read_only=True) as con:
        results = con.sql("SELECT * FROM quality_results").pl()
        validations = con.sql("SELECT suite, success FROM quality_validations").pl()
    assert set(validations["suite"]) >= {"golden_customer", "source_erp", "fact_invoices"}
    errors = results.filter((pl.col("severity") == "error") & ~pl.col("success"))
    assert errors.is_empty()
    # Orphan invoices (their ERP customer record was quarantined) are reported, not blocking.
    orphans = results.filter(
        (pl.col("suite") == "fact_invoices") & (pl.col("column_name") == "unified_id")
    ).row(0, named=True)
    assert (orphans["severity"], orphans["success"]) == ("warn", False)
    assert orphans["unexpected_count"] > 0
    assert (sample_warehouse / "parquet" / "quality_results.parquet").exists()
    assert (sample_warehouse / "data_docs" / "index.html").exists()
    # The contact tables are checked like the golden ones, and pass.
    contacts = results.filter(
        pl.col("suite").is_in(["customer_contacts", "customer_contact_lineage"])
    )
    assert contacts.height == sum(len(s.expectations) for s in contact_suites())
    assert contacts.filter(pl.col("severity") == "error")["success"].all()
    assert {
        (r["expectation"], r["column_name"])
        for r in contacts.filter(pl.col("suite") == "customer_contacts").iter_rows(named=True)
    } >= {
        ("expect_column_values_to_not_be_null", "unified_id"),
        ("expect_column_values_to_not_be_null", "golden_customer_type"),
        ("expect_column_values_to_be_unique", "contact_id"),
    }


def _contact(unified_id: str, contact_id: str) -> dict[str, object]:
    return {
        "unified_id": unified_id, "contact_id": contact_id, "name": "郭明",
        "email": "guo.ming@ruikai.cn", "phone": "+8613800138000", "first_seen_at": None,
        "last_seen_at": None, "source_count": 1, "record_count": 1,
        "source_records": ["crm:C1"], "run_id": "r1",
    }  # fmt: skip


def test_contact_suite_errors_on_a_contact_outside_golden_customer_and_a_repeated_id() -> None:
    """Each contact's customer must be a published company; each contact_id one row."""
    golden = pl.DataFrame({"unified_id": ["FU-1", "FU-2"], "customer_type": ["company", "person"]})
    contacts = pl.DataFrame(
        [
            _contact("FU-1", "CT-00000000000000a1"),
            _contact("FU-1", "CT-00000000000000a1"),  # the same contact twice
            _contact("FU-2", "CT-00000000000000b2"),  # under a person
            _contact("FU-9", "CT-00000000000000c3"),  # under no published customer
        ]
    )
    xref = pl.DataFrame(
        schema=dict.fromkeys(["source_system", "source_record_id", "unified_id"], pl.String)
    )
    frames = staged_frames(
        batches={},
        tables={"golden_customer": golden, "customer_xref": xref, "customer_contacts": contacts},
    )
    suite = contact_suites()[0]
    report = validate(frames, [suite], run_id="r1")
    failed = report.results.filter(~pl.col("success"))
    assert failed.select("expectation", "column_name", "severity", "unexpected_count").rows() == [
        ("expect_column_values_to_not_be_null", "golden_customer_type", "error", 1),
        ("expect_column_values_to_be_in_set", "golden_customer_type", "error", 1),
        ("expect_column_values_to_be_unique", "contact_id", "error", 2),
    ]
    orphan = json.loads(failed.row(0, named=True)["unexpected_rows"])
    assert orphan == [
        {"unified_id": "FU-9", "contact_id": "CT-00000000000000c3", "golden_customer_type": None}
    ]


def test_an_unreadable_birth_date_is_a_warning_naming_its_record(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text(
        "id,full_name,dob\nh1,Wang Fang,1980-02-29\nh2,Li Lei,31/02/1980\nh3,Zhao Min,\n",
        encoding="utf-8",
    )
    raw = [
        {"name": "hr", "system": "other", "path": "hr.csv", "format": "csv", "record_id": "id",
         "fields": {"name": "full_name", "birth_date": "dob"}, "trust": {"default": 0.7}},
    ]  # fmt: skip
    sources = parse_sources(raw, base_dir=tmp_path)
    std = standardise(load_source(sources[0]).records, default_regions={})
    suites = standardised_suites(sources)
    assert [s.name for s in suites] == ["standardised_records"]
    report = validate({"standardised_records": std}, suites, run_id="r1")
    failed = report.results.filter(~pl.col("success")).row(0, named=True)
    assert (failed["column_name"], failed["severity"], failed["unexpected_count"]) == (
        "birth_date_valid", "warn", 1,
    )  # fmt: skip
    assert json.loads(failed["unexpected_rows"]) == [
        {"birth_date_valid": False, "source_system": "hr", "source_record_id": "h2"}
    ]
    # Publishing goes on: a warning, not an error.
    assert report.validations.row(0, named=True)["failed_errors"] == 0


def test_no_birth_date_suite_when_no_source_maps_one(config: FusionConfig) -> None:
    assert standardised_suites(config.sources) == []


def _one_validation_of_the_whole_frame(frame: pl.DataFrame, suite: Suite) -> dict[str, Any]:
    """The oracle: GX run once over every column of the frame, as the suite reads it."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("fusion_release")  # the same batch_id
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe(suite.name)
    )
    severity = {"error": "critical", "warn": "warning"}
    expectations = [
        getattr(gxe, e.kind)(**e.kwargs, severity=severity[e.severity]) for e in suite.expectations
    ]
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=expectations))
    result = gx.ValidationDefinition(name="whole", data=batch, suite=gx_suite).run(
        batch_parameters={"dataframe": frame.to_pandas()},
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": 10,
            "unexpected_index_column_names": list(suite.keys),
        },
    )
    return dict(result.to_json_dict())


def _without_ids(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _by_expectation(results: list[dict[str, Any]]) -> list[object]:
    plain = [_without_ids(r) for r in results]
    return sorted(plain, key=lambda r: json.dumps(r["expectation_config"], sort_keys=True))  # type: ignore[index]


def test_validating_expectations_by_the_columns_they_read_gives_one_validations_results(
    config: FusionConfig,
) -> None:
    """Each group of expectations sees only its columns; GX's own results, in suite order."""
    golden = golden_with_failures().with_columns(  # and a missing name (a warning)
        pl.when(pl.col("unified_id") == "FU-00000004").then(None).otherwise("name").alias("name"),
    )
    suite = golden_suites(config.sources)[0]
    assert len({e.kind for e in suite.expectations}) > 5  # table, column and column-pair ones
    report = validate({"golden_customer": golden}, [suite], run_id="r1")
    oracle = _one_validation_of_the_whole_frame(golden, suite)
    document = json.loads(report.validations["result_json"].item())
    assert document["suite_name"] == suite.name
    assert (document["success"], document["statistics"]) == (
        oracle["success"],
        oracle["statistics"],
    )
    # GX orders one validation's results its own way; ours follow the suite.
    assert _by_expectation(document["results"]) == _by_expectation(oracle["results"])
    assert report.results["expectation"].to_list() == [e.name for e in suite.expectations]
    assert report.results.filter(~pl.col("success")).height == 3


def test_arrow_backed_columns_give_gx_the_results_and_failing_rows_of_plain_text(
    config: FusionConfig,
) -> None:
    """Lineage suite: null-free text Arrow-backed; nulls, numbers, failures as plain pandas."""
    suite = next(s for s in golden_suites(config.sources) if s.name == "field_lineage")
    lineage = pl.DataFrame(
        {
            "unified_id": ["FU-1", "FU-1", "FU-1", "FU-2", "FU-3"],
            "field": ["name", "name", "colour", "email", "phone"],
            "source_system": ["crm", "erp", "crm", None, "web"],
            "source_record_id": ["C1", "E1", "C1", "W2", "W3"],
            "source_column": ["name", None, "colour", "mail", "tel"],
            "trust_score": [0.8, 0.9, 0.5, 1.5, 0.7],
        }
    )

    report = validate({"field_lineage": lineage}, [suite], run_id="r1")

    oracle = _one_validation_of_the_whole_frame(lineage, suite)
    document = json.loads(report.validations["result_json"].item())
    assert _by_expectation(document["results"]) == _by_expectation(oracle["results"])
    failed = report.results.filter(~pl.col("success"))
    assert failed["expectation"].to_list() == [
        "expect_column_values_to_be_in_set",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
    ]
    missing_system = json.loads(failed.row(2, named=True)["unexpected_rows"])
    assert missing_system == [{"unified_id": "FU-2", "field": "email", "source_system": None}]


def test_a_spilled_table_validates_as_its_frame(config: FusionConfig, tmp_path: Path) -> None:
    """Read from its Parquet file straight into Arrow-backed pandas: the same results and rows."""
    suites = golden_suites(config.sources)
    golden = golden_with_failures().with_columns(
        pl.when(pl.col("unified_id") == "FU-00000004").then(None).otherwise("name").alias("name"),
    )
    spilled = SpillFolder(tmp_path).write("golden_customer", golden)

    in_memory = validate({"golden_customer": golden}, suites[:1], run_id="r1")
    from_file = validate({"golden_customer": spilled}, suites[:1], run_id="r1")

    assert from_file.results.filter(~pl.col("success")).height == 3
    assert_frame_equal(from_file.results, in_memory.results)
    assert _by_expectation(
        json.loads(from_file.validations["result_json"].item())["results"]
    ) == _by_expectation(json.loads(in_memory.validations["result_json"].item())["results"])


def test_a_dropped_value_is_a_warning_naming_its_record(samples_copy: Path, tmp_path: Path) -> None:
    """A head count the bands cannot read is dropped from a kept record, and reported."""
    crm = samples_copy / "crm_customers.csv"
    lines = crm.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    employees = header.index("employees")

    def usable(line: str) -> bool:
        cells = next(csv.reader([line]))
        return len(cells) == len(header) and bool(cells[employees]) and cells[0].startswith("CRM-")

    k = next(i for i in range(1, len(lines)) if usable(lines[i]))
    line, cells = lines[k], next(csv.reader([lines[k]]))
    record, cells[employees] = cells[0], "lots of people"
    out = io.StringIO()
    csv.writer(out, lineterminator=line[len(line.rstrip("\r\n")) :]).writerow(cells)
    lines[k] = out.getvalue()
    crm.write_text("".join(lines), encoding="utf-8")
    warehouse = tmp_path / "warehouse"
    run_samples(warehouse, samples_copy / "fusion.yaml")
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        dropped = con.sql("SELECT * FROM value_rejections").pl()
        kept = con.sql(f"SELECT * FROM customer_xref WHERE source_record_id = '{record}'").pl()
        result = con.sql("SELECT * FROM quality_results WHERE suite = 'value_rejections'").pl()
    assert kept.height == 1  # the customer stays
    assert (record, "size_band", "lots of people") in set(
        dropped.select("source_record_id", "field", "value").iter_rows()
    )
    row = result.row(0, named=True)
    assert (row["severity"], row["success"]) == ("warn", False)
    assert row["unexpected_count"] == dropped.height
    assert record in row["unexpected_rows"]
