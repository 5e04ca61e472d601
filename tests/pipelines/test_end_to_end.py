"""The whole graph on the samples: invariants, quarantine, accuracy, determinism."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.evaluation import evaluate_warehouse
from pipelines.quality.invariants import TABLE_INVARIANTS, check_all
from tests.pipelines.conftest import TRUTH, run_samples

TABLES = (
    "golden_customer", "customer_xref", "field_lineage", "field_candidates", "match_evidence",
    "quarantine", "unified_id_history", "pipeline_runs", "blocking_report", "run_settings",
    "customer_contacts", "customer_contact_lineage",
)  # fmt: skip
# Columns that legitimately differ between two runs of the same inputs.
RUN_BOOKKEEPING = {"run_id", "at", "started_at", "finished_at"}


def read_tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    with contextlib.closing(
        duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True)
    ) as con:
        return {t: con.sql(f'SELECT * FROM "{t}"').pl() for t in TABLES}


def content_hash(frame: pl.DataFrame) -> str:
    """Order-independent hash of a table without run bookkeeping columns."""
    kept = frame.select(sorted(c for c in frame.columns if c not in RUN_BOOKKEEPING))
    as_text = (
        pl.col(c).list.join(", ") if isinstance(t, pl.List) else pl.col(c).cast(pl.String)
        for c, t in kept.schema.items()
    )  # a list (customer_contacts.source_records) as its items joined
    rows = sorted(kept.select(as_text).fill_null("<null>").rows())
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_every_table_of_the_contract_is_published_in_duckdb_and_parquet(
    sample_warehouse: Path,
) -> None:
    tables = read_tables(sample_warehouse)
    for name, frame in tables.items():
        mirror = pl.read_parquet(sample_warehouse / "parquet" / f"{name}.parquet")
        assert mirror.shape == frame.shape, name
    golden = tables["golden_customer"]
    contract = {
        "unified_id", "customer_type", "name", "contact_name", "email", "phone", "address",
        "postcode", "city", "region", "country", "industry", "size_band", "tax_id", "tier",
        "source_count", "record_count", "trust_score", "first_seen_at", "updated_at",
    }  # fmt: skip
    assert contract <= set(golden.columns)
    assert {"left_source_system", "match_weight", "decision", "name_level", "email_level"} <= set(
        tables["match_evidence"].columns
    )


def test_invariants_hold_on_the_published_samples(sample_warehouse: Path) -> None:
    tables = read_tables(sample_warehouse)
    run = tables["pipeline_runs"].filter(pl.col("status") == "succeeded").row(-1, named=True)
    results = [check(tables) for check in TABLE_INVARIANTS]
    assert all(r.passed for r in results), [r.description for r in results]
    assert run["rows_in"] == tables["customer_xref"].height + tables["quarantine"].height
    assert tables["customer_xref"]["source_system"].n_unique() == 4
    golden_ids = set(tables["golden_customer"]["unified_id"])
    assert golden_ids == set(tables["customer_xref"]["unified_id"])
    assert tables["golden_customer"]["unified_id"].is_unique().all()


def test_rows_in_equals_xref_plus_quarantine_for_each_source(sample_warehouse: Path) -> None:
    tables = read_tables(sample_warehouse)
    raw_counts = {
        "crm": _csv_records(TRUTH.parent / "crm_customers.csv", "utf-8"),
        "erp": _csv_records(TRUTH.parent / "erp_customers.csv", "gb18030"),
        "tickets": _csv_records(TRUTH.parent / "tickets.csv", "utf-8"),
        "ecommerce": sum(
            1
            for line in (TRUTH.parent / "ecommerce_customers.jsonl").read_bytes().splitlines()
            if line.strip()
        ),
    }
    [result] = [
        r for r in check_all(tables, rows_in=raw_counts) if r.name == "every_row_accounted_for"
    ]
    assert result.passed, result.description


def _csv_records(path: Path, encoding: str) -> int:
    import csv
    import io

    text = path.read_bytes().decode(encoding, errors="replace")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1


def test_every_deliberately_invalid_row_is_quarantined_with_a_reason(
    sample_warehouse: Path,
) -> None:
    quarantine = read_tables(sample_warehouse)["quarantine"]
    invalid = pl.read_csv(TRUTH / "invalid_rows.csv", infer_schema=False).select(
        "source_system", pl.col("row_number").cast(pl.Int64)
    )
    found = quarantine.select("source_system", "row_number")
    assert invalid.sort(pl.all()).equals(found.sort(pl.all()))
    assert quarantine["reason"].str.len_chars().min() > 10


def test_matching_and_golden_accuracy_on_the_samples(sample_warehouse: Path) -> None:
    evaluation = evaluate_warehouse(sample_warehouse, TRUTH)
    assert evaluation.pairwise.f1 >= 0.95
    assert evaluation.bcubed.f1 >= 0.95
    for field in ("name", "email", "phone", "tier"):
        accuracy = evaluation.field_accuracy[field].accuracy
        assert accuracy is not None
        assert accuracy >= 0.9, (field, accuracy)


def test_golden_values_trace_to_a_source_record_and_column(sample_warehouse: Path) -> None:
    tables = read_tables(sample_warehouse)
    lineage = tables["field_lineage"]
    xref = tables["customer_xref"]
    traced = lineage.join(
        xref.select("source_system", "source_record_id", pl.col("unified_id").alias("member_of")),
        on=["source_system", "source_record_id"],
    )
    # The record that gave a value belongs to the customer that shows it.
    assert traced.height == lineage.height
    assert (traced["member_of"] == traced["unified_id"]).all()
    assert lineage["source_column"].null_count() == 0


@pytest.mark.slow
def test_same_inputs_give_same_tables_and_ids(sample_warehouse: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    outcome = run_samples(fresh)
    first, second = read_tables(sample_warehouse), read_tables(fresh)
    # The run's summary: every published customer counted, the one with most sources named.
    golden = second["golden_customer"]
    richest = golden.sort(["source_count", "unified_id"], descending=[True, False])
    assert (outcome.golden_rows, outcome.example_id) == (golden.height, richest["unified_id"][0])
    for name in TABLES:
        if name in {"pipeline_runs", "run_settings"}:
            continue
        assert content_hash(first[name]) == content_hash(second[name]), name


@pytest.mark.slow
def test_rerun_into_the_same_warehouse_keeps_every_unified_id(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    run_samples(warehouse)
    before = read_tables(warehouse)
    run_samples(warehouse)
    after = read_tables(warehouse)
    keys = ["source_system", "source_record_id"]
    assert (
        before["customer_xref"]
        .select(*keys, "unified_id")
        .sort(keys)
        .equals(after["customer_xref"].select(*keys, "unified_id").sort(keys))
    )
    # The second run created no new ID events, and both runs are recorded.
    assert after["unified_id_history"].height == before["unified_id_history"].height
    assert after["pipeline_runs"]["status"].to_list() == ["succeeded", "succeeded"]
