"""bench.shared_sets: scoring an xref against a hand-made truth; the bench configs.

Needs neither Splink nor the shared data sets.

Truth (7 records, entities E1 = {a1, a2, a3}, E2 = {b1, b2}, E3 = {c1}, E4 = {d1}):
true pairs a1-a2, a1-a3, a2-a3, b1-b2 (4).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from bench.shared_sets import (
    CONFIGS,
    GENERATED_CONFIG,
    SharedSet,
    _generator,
    best_threshold,
    prepare,
    score_clustering,
    table,
    truth_clusters,
    warehouse_xref,
)
from connectors.config import parse_sources

SEP = "\x1f"
TRUTH_CSV = """source_system,source_record_id,entity_id,source_file,source_line,is_bad
s,a1,E1,x.csv,2,0
s,a2,E1,x.csv,3,0
s,a3,E1,x.csv,4,0
s,b1,E2,x.csv,5,0
s,b2,E2,x.csv,6,0
s,c1,E3,x.csv,7,0
s,d1,E4,x.csv,8,0
"""


@pytest.fixture
def truth(tmp_path: Path) -> pl.DataFrame:
    path = tmp_path / "truth_records.csv"
    path.write_text(TRUTH_CSV, encoding="utf-8")
    return truth_clusters(path)


def _xref(clusters: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"record_key": [f"s{SEP}{k}" for k in clusters], "cluster": list(clusters.values())}
    )


def test_truth_keys_are_source_and_record_id(truth: pl.DataFrame) -> None:
    assert truth.height == 7
    assert truth.row(0) == (f"s{SEP}a1", "E1")


def test_perfect_xref_scores_one(truth: pl.DataFrame) -> None:
    xref = _xref(
        {"a1": "U1", "a2": "U1", "a3": "U1", "b1": "U2", "b2": "U2", "c1": "U3", "d1": "U4"}
    )
    scores = score_clustering(xref, truth)
    assert scores["pairwise"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert scores["bcubed"]["f1"] == 1.0
    assert (scores["largest_cluster"], scores["largest_true_cluster"]) == (3, 3)
    assert (scores["missing"], scores["unexpected"], scores["records"]) == (0, 0, 7)


def test_quarantined_record_is_a_singleton_not_dropped(truth: pl.DataFrame) -> None:
    # a3 was quarantined: it is absent from the xref. Dropping it would leave a perfect
    # score over 6 records; as a singleton it loses the true pairs a1-a3 and a2-a3.
    xref = _xref({"a1": "U1", "a2": "U1", "b1": "U2", "b2": "U2", "c1": "U3", "d1": "U4"})
    scores = score_clustering(xref, truth)
    assert scores["missing"] == 1
    assert scores["records"] == 7
    assert scores["pairwise"]["precision"] == 1.0
    assert scores["pairwise"]["recall"] == 0.5  # 2 of 4 true pairs
    # B-cubed recall: a1, a2 see 2 of 3; a3 sees 1 of 3; the other 4 records 1.
    assert scores["bcubed"]["recall"] == round((2 / 3 + 2 / 3 + 1 / 3 + 4) / 7, 4)
    assert scores["predicted_clusters"] == 5


def test_two_missing_records_do_not_form_a_cluster_together(truth: pl.DataFrame) -> None:
    xref = _xref({"a1": "U1", "a2": "U1", "a3": "U1", "c1": "U3", "d1": "U4"})
    scores = score_clustering(xref, truth)
    assert scores["missing"] == 2
    assert scores["pairwise"]["recall"] == 0.75  # b1-b2 lost
    assert scores["pairwise"]["precision"] == 1.0


def test_largest_cluster_counts_an_over_merge(truth: pl.DataFrame) -> None:
    # Everything but d1 chained into one customer; an unknown record is left out.
    xref = _xref({k: "U1" for k in ("a1", "a2", "a3", "b1", "b2", "c1")} | {"d1": "U4", "zz": "U9"})
    scores = score_clustering(xref, truth)
    assert (scores["largest_cluster"], scores["largest_true_cluster"]) == (6, 3)
    assert scores["unexpected"] == 1
    assert scores["pairwise"]["recall"] == 1.0
    assert scores["pairwise"]["precision"] == round(4 / 15, 4)  # 4 true of C(6, 2) = 15


def test_xref_is_read_from_the_warehouse_with_the_quarantine_count(
    tmp_path: Path, truth: pl.DataFrame
) -> None:
    with duckdb.connect(str(tmp_path / "golden.duckdb")) as con:
        con.execute("CREATE TABLE customer_xref (source_system VARCHAR, source_record_id VARCHAR,"
                    " unified_id VARCHAR)")  # fmt: skip
        con.execute(
            "INSERT INTO customer_xref VALUES ('s', 'a1', 'U1'), ('s', 'a2', 'U1'),"
            " ('s', 'b1', 'U2'), ('s', 'b2', 'U2'), ('s', 'c1', 'U3'), ('s', 'd1', 'U4')"
        )
        con.execute("CREATE TABLE quarantine (source_system VARCHAR, source_record_id VARCHAR)")
        con.execute("INSERT INTO quarantine VALUES ('s', 'a3')")
    xref, quarantined = warehouse_xref(tmp_path)
    assert quarantined == 1
    scores = score_clustering(xref, truth)
    assert scores["missing"] == 1
    assert scores["pairwise"]["recall"] == 0.5


def test_best_threshold_is_the_highest_pairwise_f1_and_the_higher_on_a_tie() -> None:
    def f1(value: float) -> dict[str, dict[str, float]]:
        return {"pairwise": {"f1": value}}

    assert best_threshold({0.5: f1(0.8), 0.9: f1(0.85), 0.95: f1(0.82)}) == 0.9
    assert best_threshold({0.5: f1(0.85), 0.9: f1(0.85)}) == 0.9


def test_table_row_shows_largest_and_true_largest(truth: pl.DataFrame) -> None:
    xref = _xref({"a1": "U1", "a2": "U1", "b1": "U2", "b2": "U2", "c1": "U3", "d1": "U4"})
    line = {
        "set": "tiny",
        "system": "fusion",
        "threshold": None,
        "wall_s": 1.25,
        "peak_rss_mib": 300.4,
        "peak_tree_rss_mib": 280.6,
        "quarantined": 1,
        **score_clustering(xref, truth),
    }
    rows = table([line, {**line, "system": "splink", "threshold": 0.95,
                         "threshold_kind": "best (oracle)"}]).splitlines()  # fmt: skip
    assert rows[0].count("|") == rows[2].count("|") == 12
    assert rows[2].startswith("| tiny | fusion | default | 1.2 | 300 / 281 | 1.0000 | 0.5000 |")
    assert rows[2].endswith("| 2 / 3 | 1 |")
    assert rows[3].startswith("| tiny | splink | 0.95 (best, oracle) |")


@pytest.mark.parametrize("config", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_bench_configs_validate_and_never_map_the_truth(config: Path) -> None:
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    sources = parse_sources(document["sources"], base_dir=config.parent)
    read = {c for s in sources for c in s.referenced_columns}
    assert "cluster" not in read  # historical_50k's truth column
    assert all(s.record_id for s in sources)


def test_prepare_puts_config_export_and_truth_side_by_side(tmp_path: Path) -> None:
    def write(folder: Path, _datasets: Path) -> None:
        (folder / "people.csv").write_text(
            "record_id,first_name,surname,dob,city,postcode,email,phone\n"
            "1,ann,lee,1990-01-02,york,10001,ann@x.com,212-555-0100\n",
            encoding="utf-8",
        )
        (folder / "truth_records.csv").write_text(TRUTH_CSV, encoding="utf-8")

    shared = SharedSet("tiny", "people_100k.yaml", "people", write=write)
    folder = prepare(shared, tmp_path, datasets=tmp_path / "unused")
    assert sorted(p.name for p in folder.iterdir()) == [
        "fusion.yaml",
        "people.csv",
        "truth_records.csv",
    ]
    document = yaml.safe_load((folder / "fusion.yaml").read_text(encoding="utf-8"))
    (source,) = parse_sources(document["sources"], base_dir=folder)
    assert source.resolved_path == folder / "people.csv"


def test_a_generator_set_brings_its_own_config_and_a_truth_for_every_record(
    tmp_path: Path,
) -> None:
    shared = SharedSet("gen", GENERATED_CONFIG, "customers", write=_generator("400"))
    folder = prepare(shared, tmp_path, datasets=tmp_path / "unused")
    document = yaml.safe_load((folder / "fusion.yaml").read_text(encoding="utf-8"))
    sources = parse_sources(document["sources"], base_dir=folder)
    assert {s.name for s in sources} >= {"crm", "erp", "web"}
    truth = truth_clusters(folder / "truth_records.csv")
    exported = pl.concat(
        [
            pl.read_csv(s.resolved_path, infer_schema=False).select(
                pl.concat_str(pl.lit(s.name), pl.col("record_id"), separator=SEP).alias(
                    "record_key"
                )
            )
            for s in sources
        ]
    )
    assert exported.height == truth.height
    assert exported.join(truth, on="record_key", how="anti").is_empty()
