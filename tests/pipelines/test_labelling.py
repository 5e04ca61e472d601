"""`fusion label`: uncertainty sampling on a published release, answers, and a retrain."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.stewardship.labelling import LabelStore, diverse, next_pairs
from pipelines.warehouse import Warehouse
from tests.pipelines.conftest import SAMPLE_CONFIG, TRUTH


def test_diverse_never_shows_a_record_twice_and_spreads_level_patterns() -> None:
    candidates = pl.DataFrame(
        {
            "left_source_system": ["a"] * 5,
            "left_source_record_id": ["1", "2", "1", "5", "7"],
            "right_source_system": ["a"] * 5,
            "right_source_record_id": ["2", "3", "4", "6", "8"],
            "name_level": ["exact", "exact", "fuzzy", "exact", "fuzzy"],
        }
    )
    picked = diverse(candidates, count=3)
    # In order of uncertainty: 1-2; 2-3 and 1-4 reuse a record; 5-6 repeats 'exact' while
    # 7-8 is a new pattern, so 7-8 comes first and 5-6 fills the batch.
    assert picked["right_source_record_id"].to_list() == ["2", "6", "8"]


@pytest.fixture(scope="module")
def labelled_warehouse(tmp_path_factory: pytest.TempPathFactory, sample_warehouse: Path) -> Path:
    copy = tmp_path_factory.mktemp("labels") / "warehouse"
    shutil.copytree(sample_warehouse, copy, symlinks=True)
    return copy


def _truth() -> dict[str, str]:
    with (TRUTH / "records.csv").open(encoding="utf-8") as handle:
        return {f"{r['source_system']}:{r['source_record_id']}": r["entity_id"]
                for r in csv.DictReader(handle)}  # fmt: skip


def test_label_list_gives_the_pairs_nearest_one_half(labelled_warehouse: Path) -> None:
    result = CliRunner().invoke(
        main, ["label", "--warehouse", str(labelled_warehouse), "--list", "--count", "8"]
    )
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.output.splitlines()]
    assert len(listed) == 8
    evidence = Warehouse(labelled_warehouse).read_table(
        "match_evidence", columns=["match_weight", "match_probability"]
    )
    assert evidence is not None
    distance = evidence["match_weight"].abs().sort()
    # The first is the most uncertain pair of the release; all are among its most uncertain.
    assert abs(listed[0]["match_weight"]) == pytest.approx(distance[0], abs=1e-4)
    assert max(abs(p["match_weight"]) for p in listed) <= distance[8 * 50]
    # Far closer to 0.5 than the release's pairs in general.
    assert max(abs(p["match_probability"] - 0.5) for p in listed) < 0.45
    records = [p["left"] for p in listed] + [p["right"] for p in listed]
    assert len(records) == len(set(records))


def test_label_answers_round_trip_and_retrain_learns_from_them(
    labelled_warehouse: Path, tmp_path: Path
) -> None:
    from rich.console import Console

    from pipelines.orchestration.runner import run_pipeline

    truth = _truth()
    runner = CliRunner()
    listed = runner.invoke(
        main, ["label", "--warehouse", str(labelled_warehouse), "--list", "--count", "10"]
    )
    pairs = [json.loads(line) for line in listed.output.splitlines()]
    evidence = Warehouse(labelled_warehouse).read_table("match_evidence")
    assert evidence is not None
    scored = set(
        zip(
            evidence["left_source_system"] + ":" + evidence["left_source_record_id"],
            evidence["right_source_system"] + ":" + evidence["right_source_record_id"],
            strict=True,
        )
    )
    # Two records of one true customer that blocking never paired: labelled 'yes'.
    by_entity: dict[str, list[str]] = {}
    for key, entity in truth.items():
        by_entity.setdefault(entity, []).append(key)
    unscored = next(
        (a, b)
        for keys in by_entity.values()
        for a in keys
        for b in keys
        if a < b and (a, b) not in scored and (b, a) not in scored
    )
    answers = tmp_path / "answers.csv"
    with answers.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["left", "right", "answer"])
        for p in pairs:
            writer.writerow(
                [p["left"], p["right"], "y" if truth[p["left"]] == truth[p["right"]] else "n"]
            )
        writer.writerow([*unscored, "yes"])
    result = runner.invoke(
        main, ["label", "--warehouse", str(labelled_warehouse), "--answers", str(answers),
               "--labeller", "test"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stored = LabelStore(labelled_warehouse).read()
    assert stored.height == len(pairs) + 1
    assert set(stored["answer"]) <= {"yes", "no"}
    assert set(stored["labeller"]) == {"test"}
    # Answered pairs are not offered again.
    again = next_pairs(labelled_warehouse, count=10)
    offered = set(zip(again["left_source_record_id"], again["right_source_record_id"], strict=True))
    assert not offered & set(zip(stored["left_source_record_id"], stored["right_source_record_id"],
                                 strict=True))  # fmt: skip

    run_pipeline(SAMPLE_CONFIG, labelled_warehouse, console=Console(quiet=True), mode="retrain")
    warehouse = Warehouse(labelled_warehouse)
    settings = warehouse.read_table("run_settings")
    assert settings is not None
    training = json.loads(settings["match_model_json"][0])["training"]
    assert training["labels"] == len(pairs) + 1
    assert training["labels_match"] == 1 + sum(truth[p["left"]] == truth[p["right"]] for p in pairs)
    # The pair blocking missed is scored now, found by its label.
    evidence = warehouse.read_table("match_evidence")
    assert evidence is not None
    (ls, lr), (rs, rr) = (k.split(":", 1) for k in unscored)
    added = evidence.filter(
        (pl.col("left_source_record_id").is_in([lr, rr]))
        & (pl.col("right_source_record_id").is_in([lr, rr]))
        & pl.col("left_source_system").is_in([ls, rs])
    )
    assert added.height == 1
    assert added["blocking_rules"].cast(pl.String)[0] == "labelled"


def test_label_answers_naming_an_unknown_record_fail_in_one_line(
    labelled_warehouse: Path, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("left,right,answer\ncrm:NOPE,crm:CRM-000030,yes\n", encoding="utf-8")
    before = LabelStore(labelled_warehouse).read().height
    result = CliRunner().invoke(
        main, ["label", "--warehouse", str(labelled_warehouse), "--answers", str(answers)]
    )
    assert result.exit_code != 0
    assert "crm:NOPE" in result.output
    assert LabelStore(labelled_warehouse).read().height == before
