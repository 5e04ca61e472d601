"""The synthetic benchmark generator: seeded, with the promised shape and truth."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bench.generate_synthetic import CANONICAL_COLUMNS, SOURCES, generate, parse_size, write


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, again, other = generate(2_000, seed=7), generate(2_000, seed=7), generate(2_000, seed=8)
    for source in SOURCES:
        assert first.records[source].equals(again.records[source])
    assert not first.records["crm"].equals(other.records["crm"])


def test_shape_duplicates_and_truth() -> None:
    data = generate(5_000, seed=3)
    records = pl.concat(data.records.values())
    assert records.height == 5_000
    assert data.truth.height == 5_000
    assert data.truth.select(pl.col("source_record_id").is_unique().all()).item()
    duplicates = 1 - data.truth["entity_id"].n_unique() / data.truth.height
    assert 0.20 <= duplicates <= 0.30
    types = records["customer_type"].value_counts()
    assert set(types["customer_type"].to_list()) == {"company", "person"}
    han = records.filter(pl.col("name").str.contains(r"\p{Han}")).height
    assert 0.3 < han / records.height < 0.8  # Chinese and English names
    assert records["name"].null_count() == 0
    assert set(data.entities.columns) == {"entity_id", *CANONICAL_COLUMNS}


def test_written_layout_is_what_fusion_run_and_evaluate_read(tmp_path: Path) -> None:
    write(generate(500, seed=1), tmp_path)
    assert {p.name for p in tmp_path.glob("*.csv")} == {f"{s}.csv" for s in SOURCES}
    assert (tmp_path / "truth" / "records.csv").is_file()
    assert (tmp_path / "truth" / "entities.csv").is_file()
    assert "record_id: record_id" in (tmp_path / "fusion.yaml").read_text()


def test_parse_size() -> None:
    assert [parse_size(s) for s in ("10k", "100K", "1m", "2500")] == [
        10_000, 100_000, 1_000_000, 2_500,
    ]  # fmt: skip
