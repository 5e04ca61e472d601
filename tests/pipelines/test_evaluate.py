"""Tests for pipelines.evaluation: clustering scores, field accuracy, warehouse evaluation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.evaluation import (
    PRF,
    Evaluation,
    FieldAccuracy,
    bcubed_scores,
    entity_golden_pairs,
    evaluate_warehouse,
    field_accuracy,
    format_evaluation,
    knowable_fields,
    normalise_phone,
    normalise_text,
    pairwise_scores,
    reachable_fields,
)


def clustering(assignment: Mapping[str, object]) -> pl.DataFrame:
    """A (record_key, cluster) frame from {record_key: cluster}."""
    return pl.DataFrame(
        {"record_key": list(assignment), "cluster": [str(c) for c in assignment.values()]}
    )


def assert_prf(actual: PRF, expected: tuple[float, float, float]) -> None:
    assert (actual.precision, actual.recall, actual.f1) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- literal cases

TRUTH_ABCDE = {"a": "T1", "b": "T1", "c": "T2", "d": "T2", "e": "T3"}

# Hand-computed example (six records):
#   predicted: P1 = {a, b, c}, P2 = {d, e}, P3 = {f}
#   truth:     T1 = {a, b},    T2 = {c, d, e, f}
#   cells: (P1,T1)=2, (P1,T2)=1, (P2,T2)=2, (P3,T2)=1
# Pairwise: TP = C(2,2) + C(2,2) = 2; predicted pairs = C(3,2) + C(2,2) = 4;
#   true pairs = C(2,2) + C(4,2) = 7  ->  P = 2/4, R = 2/7,
#   F1 = 2 * (1/2)(2/7) / (1/2 + 2/7) = (2/7) / (11/14) = 4/11.
# B-cubed precision per record: a 2/3, b 2/3, c 1/3, d 2/2, e 2/2, f 1/1
#   -> (14/3) / 6 = 7/9.
# B-cubed recall per record: a 2/2, b 2/2, c 1/4, d 2/4, e 2/4, f 1/4
#   -> (7/2) / 6 = 7/12.
# B-cubed F1 = 2 * (7/9)(7/12) / (7/9 + 7/12) = (49/54) / (49/36) = 2/3.
HAND_PRED = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P2", "f": "P3"}
HAND_TRUTH = {"a": "T1", "b": "T1", "c": "T2", "d": "T2", "e": "T2", "f": "T2"}

# One cluster over TRUTH_ABCDE: 10 predicted pairs, 2 true pairs, both found.
#   pairwise P = 2/10, R = 1, F1 = 2(0.2)/1.2 = 1/3;
#   B-cubed P = (4 * 2/5 + 1/5) / 5 = 9/25, R = 1, F1 = 2(9/25)/(34/25) = 9/17.
# All singletons over TRUTH_ABCDE: no predicted pair -> P = 1 by convention, R = 0, F1 = 0;
#   B-cubed P = 1, R = (4 * 1/2 + 1) / 5 = 3/5, F1 = 2(3/5)/(8/5) = 3/4.
LITERAL_CASES = [
    pytest.param(
        {"a": 7, "b": 7, "c": 8, "d": 8, "e": 9}, TRUTH_ABCDE, (1, 1, 1), (1, 1, 1), id="perfect"
    ),
    pytest.param(
        dict.fromkeys(TRUTH_ABCDE, "U"),
        TRUTH_ABCDE,
        (0.2, 1, 1 / 3),
        (9 / 25, 1, 9 / 17),
        id="one-cluster",
    ),
    pytest.param(
        {k: k for k in TRUTH_ABCDE},
        TRUTH_ABCDE,
        (1, 0, 0),
        (1, 3 / 5, 3 / 4),
        id="all-singletons",
    ),
    pytest.param(
        {k: k for k in "abc"},
        {k: k.upper() for k in "abc"},
        (1, 1, 1),
        (1, 1, 1),
        id="singletons-both-sides",
    ),
    pytest.param(HAND_PRED, HAND_TRUTH, (1 / 2, 2 / 7, 4 / 11), (7 / 9, 7 / 12, 2 / 3), id="hand"),
    pytest.param(
        {**HAND_PRED, "x": "P1", "y": "P9"},
        {**HAND_TRUTH, "z": "T1"},
        (1 / 2, 2 / 7, 4 / 11),
        (7 / 9, 7 / 12, 2 / 3),
        id="records-on-one-side-ignored",
    ),
    pytest.param({}, {}, (1, 1, 1), (1, 1, 1), id="empty"),
]


@pytest.mark.parametrize(("predicted", "truth", "pairwise", "bcubed"), LITERAL_CASES)
def test_literal_cases(
    predicted: dict[str, object],
    truth: dict[str, object],
    pairwise: tuple[float, float, float],
    bcubed: tuple[float, float, float],
) -> None:
    assert_prf(pairwise_scores(clustering(predicted), clustering(truth)), pairwise)
    assert_prf(bcubed_scores(clustering(predicted), clustering(truth)), bcubed)


def test_f1_is_zero_when_precision_and_recall_are_zero() -> None:
    assert PRF.from_precision_recall(0.0, 0.0) == PRF(0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(pl.DataFrame({"record_key": ["a", "a"], "cluster": ["1", "2"]}), id="dup"),
        pytest.param(pl.DataFrame({"record_key": ["a"], "cluster": [None]}), id="null"),
        pytest.param(pl.DataFrame({"key": ["a"], "cluster": ["1"]}), id="column"),
    ],
)
def test_invalid_clusterings_are_rejected(frame: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="predicted"):
        pairwise_scores(frame, clustering({"a": 1}))


# --------------------------------------------------------------------------- oracle


def brute_force_pairwise(predicted: dict[str, int], truth: dict[str, int]) -> PRF:
    keys = sorted(predicted.keys() & truth.keys())
    tp = fp = fn = 0
    for x, y in itertools.combinations(keys, 2):
        same_pred = predicted[x] == predicted[y]
        same_true = truth[x] == truth[y]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return PRF.from_precision_recall(precision, recall)


def brute_force_bcubed(predicted: dict[str, int], truth: dict[str, int]) -> PRF:
    keys = sorted(predicted.keys() & truth.keys())
    if not keys:
        return PRF.from_precision_recall(1.0, 1.0)
    precision = recall = 0.0
    for key in keys:
        pred_cluster = {k for k in keys if predicted[k] == predicted[key]}
        true_cluster = {k for k in keys if truth[k] == truth[key]}
        both = len(pred_cluster & true_cluster)
        precision += both / len(pred_cluster)
        recall += both / len(true_cluster)
    return PRF.from_precision_recall(precision / len(keys), recall / len(keys))


def random_clusterings(seed: int) -> tuple[dict[str, int], dict[str, int]]:
    """Two random clusterings over partly overlapping record keys."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    keys = [f"r{i}" for i in range(n)]
    pred_labels = rng.integers(0, max(1, int(rng.integers(1, n + 2))), size=n)
    true_labels = rng.integers(0, max(1, int(rng.integers(1, n + 2))), size=n)
    in_pred = rng.random(n) < 0.9
    in_truth = rng.random(n) < 0.9
    predicted = {k: int(c) for k, c, keep in zip(keys, pred_labels, in_pred, strict=True) if keep}
    truth = {k: int(c) for k, c, keep in zip(keys, true_labels, in_truth, strict=True) if keep}
    return predicted, truth


@pytest.mark.parametrize("seed", range(30))
def test_scores_match_brute_force(seed: int) -> None:
    predicted, truth = random_clusterings(seed)
    pred_frame, truth_frame = clustering(predicted), clustering(truth)
    expected_pairwise = brute_force_pairwise(predicted, truth)
    expected_bcubed = brute_force_bcubed(predicted, truth)
    assert_prf(
        pairwise_scores(pred_frame, truth_frame),
        (expected_pairwise.precision, expected_pairwise.recall, expected_pairwise.f1),
    )
    assert_prf(
        bcubed_scores(pred_frame, truth_frame),
        (expected_bcubed.precision, expected_bcubed.recall, expected_bcubed.f1),
    )


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        pytest.param("ACME Co., Ltd", "acme co ltd", True, id="punct-case-space"),
        pytest.param("上海星辰貿易有限公司", "上海星辰贸易有限公司", True, id="trad-simp"),
        pytest.param("ＡＣＭＥ　１２３", "acme123", True, id="fullwidth"),
        pytest.param("Straße", "STRASSE", True, id="casefold"),
        pytest.param("ACME Co., Ltd.", "ACME Inc.", False, id="legal-form"),
        pytest.param("上海星辰贸易", "北京星辰贸易", False, id="city"),
        pytest.param("Café", "Cafe", False, id="accent-is-content"),
    ],
)
def test_normalise_text(left: str, right: str, same: bool) -> None:
    values = normalise_text(pl.Series([left, right]))
    assert (values[0] == values[1]) is same


def test_normalise_text_keeps_alignment_and_nulls() -> None:
    values = pl.Series(["B b", None, "a\nA", "B b"])
    assert normalise_text(values).to_list() == ["bb", None, "aa", "bb"]


def test_normalise_phone_keeps_digits_only() -> None:
    values = pl.Series(["+86 138 0013 8000", "+8613800138000", "(138) 0013-8000", "＋８６"])
    assert normalise_phone(values).to_list() == [
        "8613800138000",
        "8613800138000",
        "13800138000",
        "86",
    ]


# --------------------------------------------------------------------------- field accuracy


def xref_frame(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["source_system", "source_record_id", "unified_id"], orient="row"
    )


def truth_records_frame(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["source_system", "source_record_id", "entity_id"], orient="row"
    )


def one_to_one(
    golden_values: dict[str, str | None], true_values: dict[str, str | None]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One record, one golden row, one entity: isolates value comparison."""
    golden = pl.DataFrame({"unified_id": ["U1"], **{k: [v] for k, v in golden_values.items()}})
    entities = pl.DataFrame({"entity_id": ["E1"], **{k: [v] for k, v in true_values.items()}})
    return (
        golden,
        xref_frame([("crm", "1", "U1")]),
        truth_records_frame([("crm", "1", "E1")]),
        entities,
    )


@pytest.mark.parametrize(
    ("field", "golden_value", "true_value", "expected"),
    [
        pytest.param("name", "acme co ltd", "ACME Co., Ltd", FieldAccuracy(1, 1, 1.0), id="fmt"),
        pytest.param(
            "name",
            "上海星辰贸易有限公司",
            "上海星辰貿易有限公司",
            FieldAccuracy(1, 1, 1.0),
            id="t2s",
        ),
        pytest.param(
            "phone", "+8613800138000", "+86 138 0013 8000", FieldAccuracy(1, 1, 1.0), id="phone"
        ),
        pytest.param("name", "ACME Inc.", "ACME Co., Ltd.", FieldAccuracy(0, 1, 0.0), id="content"),
        pytest.param(
            "phone", "+8613800138001", "+8613800138000", FieldAccuracy(0, 1, 0.0), id="digit"
        ),
        pytest.param("email", None, "a@b.cn", FieldAccuracy(0, 1, 0.0), id="golden-missing"),
        pytest.param("email", "  ", "a@b.cn", FieldAccuracy(0, 1, 0.0), id="golden-blank"),
        pytest.param("email", "a@b.cn", None, FieldAccuracy(0, 0, None), id="truth-empty"),
        pytest.param("email", None, "", FieldAccuracy(0, 0, None), id="truth-blank"),
        pytest.param("tier", "s", "S", FieldAccuracy(1, 1, 1.0), id="tier-case"),
    ],
)
def test_field_value_comparison(
    field: str, golden_value: str | None, true_value: str | None, expected: FieldAccuracy
) -> None:
    golden, xref, records, entities = one_to_one({field: golden_value}, {field: true_value})
    assert field_accuracy(golden, xref, records, entities, fields=[field]) == {field: expected}


def test_golden_without_the_field_counts_as_missing() -> None:
    golden, xref, records, entities = one_to_one({}, {"city": "上海"})
    result = field_accuracy(golden, xref, records, entities, fields=["city"])
    assert result == {"city": FieldAccuracy(0, 1, 0.0)}


# Majority mapping scenario (records per cluster):
#   U1 = {E1, E1}           -> stands for E1
#   U2 = {E1, E2, E2, E4}   -> stands for E2 (2 of 4); E4 stands behind no cluster
#   U3 = {E3}, U4 = {E3}    -> both stand for E3; E3's representative is U3 (tie -> smallest)
#   U5 = {E5, E6}           -> tie: stands for E5 (smallest entity_id); E6 not judged
#   E7 has a true record the warehouse lost -> not judged
MAJORITY_LINKS = [
    ("1", "U1", "E1"),
    ("2", "U1", "E1"),
    ("3", "U2", "E1"),
    ("4", "U2", "E2"),
    ("5", "U2", "E2"),
    ("6", "U2", "E4"),
    ("7", "U3", "E3"),
    ("8", "U4", "E3"),
    ("9", "U5", "E5"),
    ("10", "U5", "E6"),
]


def majority_inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    xref = xref_frame([("crm", rid, uid) for rid, uid, _ in MAJORITY_LINKS])
    records = truth_records_frame(
        [("crm", rid, eid) for rid, _, eid in MAJORITY_LINKS] + [("erp", "1", "E7")]
    )
    golden = pl.DataFrame(
        {
            "unified_id": ["U1", "U2", "U3", "U4", "U5"],
            "name": ["One", "Two", "Three", "wrong", "Five"],
        }
    )
    entities = pl.DataFrame(
        {
            "entity_id": [f"E{i}" for i in range(1, 8)],
            "name": ["One", "Two", "Three", "Four", "Five", "Six", "Seven"],
        }
    )
    return golden, xref, records, entities


def test_entity_golden_pairs_follow_majority_and_ties() -> None:
    _, xref, records, _ = majority_inputs()
    pairs = entity_golden_pairs(xref, records)
    assert pairs.rows() == [("E1", "U1"), ("E2", "U2"), ("E3", "U3"), ("E5", "U5")]


def test_field_accuracy_uses_majority_mapping() -> None:
    golden, xref, records, entities = majority_inputs()
    result = field_accuracy(golden, xref, records, entities, fields=["name"])
    assert result == {"name": FieldAccuracy(4, 4, 1.0)}


def test_field_accuracy_requires_truth_fields() -> None:
    golden, xref, records, entities = majority_inputs()
    with pytest.raises(ValueError, match="truth_entities"):
        field_accuracy(golden, xref, records, entities, fields=["tax_id"])


# --------------------------------------------------------------------------- end to end


def write_warehouse(directory: Path) -> None:
    directory.mkdir()
    with duckdb.connect(str(directory / "golden.duckdb")) as con:
        con.execute(
            "CREATE TABLE golden_customer (unified_id VARCHAR, name VARCHAR, email VARCHAR,"
            " phone VARCHAR, city VARCHAR, tier VARCHAR)"
        )
        con.execute(
            "INSERT INTO golden_customer VALUES"
            " ('U1', '上海星辰贸易有限公司', 'info@xc.cn', '+8613800138000', '上海', 'S'),"
            " ('U2', 'Zhang Wei', NULL, '+8613900000000', '北京', 'B'),"
            " ('U3', 'Stray', 'x@y.cn', NULL, NULL, NULL)"
        )
        con.execute(
            "CREATE TABLE customer_xref (source_system VARCHAR, source_record_id VARCHAR,"
            " unified_id VARCHAR, match_probability DOUBLE, run_id VARCHAR)"
        )
        con.execute(
            "INSERT INTO customer_xref VALUES"
            " ('crm', '001', 'U1', 1.0, 'r1'), ('erp', '9', 'U1', 0.97, 'r1'),"
            " ('crm', '002', 'U2', 1.0, 'r1'), ('shop', 'o-1', 'U2', 0.91, 'r1'),"
            " ('shop', 'o-2', 'U3', 1.0, 'r1')"
        )


def write_truth(directory: Path) -> None:
    directory.mkdir()
    # E1 = {crm/001, erp/9}; E2 = {crm/002}; E3 = {shop/o-1, tickets/t-1 (lost)};
    # shop/o-2 is absent from the truth (it should have been quarantined).
    pl.DataFrame(
        {
            "source_system": ["crm", "erp", "crm", "shop", "tickets"],
            "source_record_id": ["001", "9", "002", "o-1", "t-1"],
            "entity_id": ["E1", "E1", "E2", "E3", "E3"],
        }
    ).write_csv(directory / "records.csv")
    pl.DataFrame(
        {
            "entity_id": ["E1", "E2", "E3"],
            "name": ["上海星辰貿易有限公司", "Zhang Wei", "Li Na"],
            "email": ["INFO@xc.cn", "zw@example.com", ""],
            "phone": ["+86 138 0013 8000", "+86 139 0000 0000", "+86 137 0000 0000"],
            "city": ["上海", "北京", "深圳"],
            "tier": ["S", "", "A"],
        }
    ).write_csv(directory / "entities.csv")


def test_evaluate_warehouse_end_to_end(tmp_path: Path) -> None:
    write_warehouse(tmp_path / "wh")
    write_truth(tmp_path / "truth")

    evaluation = evaluate_warehouse(tmp_path / "wh", tmp_path / "truth")

    assert isinstance(evaluation, Evaluation)
    # Evaluated: crm/001, erp/9 (U1, E1), crm/002, shop/o-1 (U2, E2 / E3).
    assert evaluation.records_evaluated == 4
    assert evaluation.records_missing == 1
    assert evaluation.records_unexpected == 1
    assert (evaluation.predicted_clusters, evaluation.true_clusters) == (2, 3)
    # Predicted pairs: (001, 9) true, (002, o-1) false; true pairs: only (001, 9).
    assert_prf(evaluation.pairwise, (0.5, 1.0, 2 / 3))
    # B-cubed precision: 1, 1, 1/2, 1/2 -> 3/4; recall 1 everywhere.
    assert_prf(evaluation.bcubed, (0.75, 1.0, 6 / 7))
    # U2 holds one record each of E2 and E3 -> stands for E2; E3 is not judged.
    assert evaluation.entities_compared == 2
    assert evaluation.field_accuracy == {
        "name": FieldAccuracy(2, 2, 1.0),
        "email": FieldAccuracy(1, 2, 0.5),
        "phone": FieldAccuracy(2, 2, 1.0),
        "city": FieldAccuracy(2, 2, 1.0),
        "tier": FieldAccuracy(1, 1, 1.0),
    }

    as_dict = json.loads(json.dumps(evaluation.to_dict()))
    assert as_dict["pairwise"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667}
    assert as_dict["bcubed"]["f1"] == 0.8571
    assert as_dict["field_accuracy"]["email"] == {"correct": 1, "total": 2, "accuracy": 0.5}

    text = format_evaluation(evaluation)
    assert "pairwise" in text
    assert "b-cubed" in text
    assert "email" in text
    assert "0.6667" in text


def test_evaluate_warehouse_opens_read_only(tmp_path: Path) -> None:
    write_warehouse(tmp_path / "wh")
    write_truth(tmp_path / "truth")
    database = tmp_path / "wh" / "golden.duckdb"
    before = database.read_bytes()
    evaluate_warehouse(tmp_path / "wh", tmp_path / "truth")
    assert database.read_bytes() == before
    assert not (tmp_path / "wh" / "golden.duckdb.wal").exists()


def test_evaluate_warehouse_missing_database(tmp_path: Path) -> None:
    write_truth(tmp_path / "truth")
    with pytest.raises(FileNotFoundError, match="golden.duckdb"):
        evaluate_warehouse(tmp_path / "nowhere", tmp_path / "truth")


def test_format_evaluation_warns_when_nothing_matched() -> None:
    empty = Evaluation(
        pairwise=PRF(1.0, 1.0, 1.0),
        bcubed=PRF(1.0, 1.0, 1.0),
        predicted_clusters=0,
        true_clusters=0,
        records_evaluated=0,
        field_accuracy={"name": FieldAccuracy(0, 0, None)},
    )
    text = format_evaluation(empty)
    assert "WARNING" in text
    assert "n/a" in text


# --------------------------------------------------------------------------- knowable fields

# Two entities, three records. E1's records carry a tier (a stale one) and a name; E2 is
# seen only in a ticket without tier, under the nickname 老王.
KNOWABLE_VALUES = pl.DataFrame(
    {
        "source_system": ["crm", "tickets", "tickets"],
        "source_record_id": ["1", "2", "3"],
        "name": ["王伟", None, "老王"],
        "tier": ["B", "  ", None],
    }
)
KNOWABLE_RECORDS = truth_records_frame(
    [("crm", "1", "E1"), ("tickets", "2", "E1"), ("tickets", "3", "E2")]
)
KNOWABLE_TRUTH = pl.DataFrame(
    {"entity_id": ["E1", "E2"], "name": ["王伟", "王大明"], "tier": ["A", "C"]}
)


def test_knowable_fields_mark_what_some_record_carries() -> None:
    marks = knowable_fields(KNOWABLE_VALUES, KNOWABLE_RECORDS, fields=["name", "tier", "city"])
    assert marks.rows() == [("E1", True, True, False), ("E2", True, False, False)]


def test_reachable_fields_need_the_true_value() -> None:
    marks = reachable_fields(
        KNOWABLE_VALUES, KNOWABLE_RECORDS, KNOWABLE_TRUTH, fields=["name", "tier"]
    )
    assert marks.rows() == [("E1", True, False), ("E2", False, False)]


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        pytest.param(
            None, {"name": FieldAccuracy(1, 2, 0.5), "tier": FieldAccuracy(0, 2, 0.0)}, id="all"
        ),
        pytest.param(
            "knowable",
            {"name": FieldAccuracy(1, 2, 0.5), "tier": FieldAccuracy(0, 1, 0.0)},
            id="knowable-skips-a-tier-no-record-carries",
        ),
        pytest.param(
            "reachable",
            {"name": FieldAccuracy(1, 1, 1.0), "tier": FieldAccuracy(0, 0, None)},
            id="reachable-skips-the-nickname-and-the-stale-tier",
        ),
    ],
)
def test_field_accuracy_over_knowable_fields(
    marks: str | None, expected: dict[str, FieldAccuracy]
) -> None:
    golden = pl.DataFrame(
        {"unified_id": ["U1", "U2"], "name": ["王伟", "老王"], "tier": ["B", None]}
    )
    xref = xref_frame([("crm", "1", "U1"), ("tickets", "2", "U1"), ("tickets", "3", "U2")])
    fields = ["name", "tier"]
    subset = {
        None: None,
        "knowable": knowable_fields(KNOWABLE_VALUES, KNOWABLE_RECORDS, fields=fields),
        "reachable": reachable_fields(
            KNOWABLE_VALUES, KNOWABLE_RECORDS, KNOWABLE_TRUTH, fields=fields
        ),
    }[marks]
    result = field_accuracy(
        golden, xref, KNOWABLE_RECORDS, KNOWABLE_TRUTH, fields=fields, knowable=subset
    )
    assert result == expected
