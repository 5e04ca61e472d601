"""Score a published warehouse against the sample generator's ground truth.

Two questions are answered separately, because they fail for different reasons:

* **Did matching group the right records?** Pairwise and B-cubed precision/recall/F1
  compare the warehouse clustering (``customer_xref.unified_id``) with the true
  clustering (``records.csv`` ``entity_id``). Both are computed from the contingency
  table of (predicted cluster, true cluster) cell counts, so cost grows with the number
  of records, never with the number of record pairs.
* **Did survivorship pick the right values?** Field accuracy compares each judged
  golden row with the true current values of the customer it stands for.

Conventions (chosen so that degenerate inputs give defined, explainable numbers):

* Only records present in both the prediction and the truth count for clustering
  scores; the records missing on either side are reported next to them instead, so a
  pipeline that drops or invents records is visible rather than silently rewarded.
* Pairwise precision is 1.0 when no pair was predicted (no claim made, none wrong),
  and recall is 1.0 when the truth has no pairs (nothing to find). B-cubed precision
  and recall are 1.0 over zero records for the same reason. F1 is 0.0 when
  precision + recall is 0.
* Value comparison forgives formatting, not content: see :func:`normalise_text`.

This module deliberately has no Dagster import: the CLI, the asset checks and the
benchmarks all call the same plain functions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import opencc
import polars as pl

from connectors.canonical import GOLDEN_FIELDS

RECORD_KEY_SEPARATOR = "\x1f"
"""Joins source_system and source_record_id into one record key; it never occurs in either."""

DEFAULT_FIELDS: tuple[str, ...] = GOLDEN_FIELDS
"""Golden fields the truth knows; ``evaluate_warehouse`` scores those present in entities.csv."""

PHONE_FIELDS: frozenset[str] = frozenset({"phone"})
"""Fields compared on their digits only (E.164 formatting is presentation, not content)."""

_DECIMALS = 4
_KEEP_TEXT = r"[^\p{L}\p{M}\p{N}]"
_SEGMENT = "\n"
_SOURCE_KEYS = ("source_system", "source_record_id")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and their harmonic mean.

    Attributes:
        precision: share of predicted links that are true (1.0 when nothing was predicted).
        recall: share of true links that were predicted (1.0 when there is nothing to find).
        f1: harmonic mean of the two; 0.0 when both are 0.
    """

    precision: float
    recall: float
    f1: float

    @classmethod
    def from_precision_recall(cls, precision: float, recall: float) -> PRF:
        """Build a PRF, deriving F1 so that every caller uses the same zero convention."""
        total = precision + recall
        f1 = 2.0 * precision * recall / total if total > 0 else 0.0
        return cls(precision=float(precision), recall=float(recall), f1=float(f1))

    def to_dict(self) -> dict[str, float]:
        """Rounded, JSON-ready form; 4 decimals is far below run-to-run noise."""
        return {
            "precision": round(self.precision, _DECIMALS),
            "recall": round(self.recall, _DECIMALS),
            "f1": round(self.f1, _DECIMALS),
        }


@dataclass(frozen=True)
class FieldAccuracy:
    """How often one golden field holds the true value.

    Attributes:
        correct: judged entities whose golden value equals the truth after normalisation.
        total: judged entities whose true value is known (non-empty).
        accuracy: ``correct / total``, or None when nothing could be judged (a 0.0 would
            read as "always wrong", a 1.0 as "always right"; neither is known).
    """

    correct: int
    total: int
    accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        """Rounded, JSON-ready form."""
        accuracy = None if self.accuracy is None else round(self.accuracy, _DECIMALS)
        return {"correct": self.correct, "total": self.total, "accuracy": accuracy}


@dataclass(frozen=True)
class Evaluation:
    """Everything one warehouse-versus-truth comparison found.

    Attributes:
        pairwise: pairwise clustering scores.
        bcubed: B-cubed clustering scores.
        predicted_clusters: distinct unified IDs among the evaluated records.
        true_clusters: distinct true entities among the evaluated records.
        records_evaluated: records present in both customer_xref and records.csv.
        field_accuracy: per-field survivorship accuracy, in field order.
        records_missing: true records absent from customer_xref (lost by the pipeline).
        records_unexpected: xref records absent from the truth (should have been quarantined,
            or keys were rewritten).
        entities_compared: true entities judged by field accuracy.
    """

    pairwise: PRF
    bcubed: PRF
    predicted_clusters: int
    true_clusters: int
    records_evaluated: int
    field_accuracy: Mapping[str, FieldAccuracy]
    records_missing: int = 0
    records_unexpected: int = 0
    entities_compared: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form with scores rounded to 4 decimals."""
        return {
            "records_evaluated": self.records_evaluated,
            "records_missing": self.records_missing,
            "records_unexpected": self.records_unexpected,
            "predicted_clusters": self.predicted_clusters,
            "true_clusters": self.true_clusters,
            "pairwise": self.pairwise.to_dict(),
            "bcubed": self.bcubed.to_dict(),
            "entities_compared": self.entities_compared,
            "field_accuracy": {name: acc.to_dict() for name, acc in self.field_accuracy.items()},
        }


# --------------------------------------------------------------------------- clustering


def _require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    """Fail early with the frame's name: a polars ColumnNotFoundError would not say which."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; has {frame.columns}")


def _clustering(frame: pl.DataFrame, what: str, alias: str) -> pl.DataFrame:
    """Validate a (record_key, cluster) frame and rename its cluster column to ``alias``.

    Duplicate keys or null clusters would silently distort every count, so they raise.
    """
    _require_columns(frame, ("record_key", "cluster"), what)
    clusters = frame.select("record_key", pl.col("cluster").alias(alias))
    if clusters["record_key"].is_duplicated().any():
        raise ValueError(f"{what}: record_key values must be unique")
    if clusters["record_key"].null_count() or clusters[alias].null_count():
        raise ValueError(f"{what}: record_key and cluster must not be null")
    return clusters


def contingency(predicted: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Count records per (predicted cluster, true cluster) cell.

    Every clustering score here is a function of these counts, which is what lets them
    run in time linear in the number of records.

    Args:
        predicted: columns ``record_key``, ``cluster``.
        truth: columns ``record_key``, ``cluster``.

    Returns:
        Columns ``pred``, ``true``, ``n`` (Int64), one row per non-empty cell, over the
        records present in both frames.
    """
    pred = _clustering(predicted, "predicted", "pred")
    true = _clustering(truth, "truth", "true")
    return (
        pred.join(true, on="record_key", how="inner")
        .group_by("pred", "true")
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )


def _pair_count(sizes: pl.Series) -> int:
    """Sum of C(n, 2) over group sizes: the record pairs that share a group."""
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(predicted: pl.DataFrame, truth: pl.DataFrame) -> PRF:
    """Pairwise precision/recall/F1 over record pairs placed in the same cluster.

    A pair is predicted when both records share a predicted cluster and true when they
    share a true cluster; true positives are the pairs sharing both, i.e. the C(n, 2)
    of each contingency cell. No pair is ever enumerated.

    Args:
        predicted: columns ``record_key``, ``cluster`` (the warehouse's grouping).
        truth: columns ``record_key``, ``cluster`` (the true grouping).

    Returns:
        Scores over the records present in both frames. Precision is 1.0 when no pair is
        predicted; recall is 1.0 when the truth has no pair.
    """
    cells = contingency(predicted, truth)
    true_positives = _pair_count(cells["n"])
    predicted_pairs = _pair_count(cells.group_by("pred").agg(pl.col("n").sum())["n"])
    true_pairs = _pair_count(cells.group_by("true").agg(pl.col("n").sum())["n"])
    precision = true_positives / predicted_pairs if predicted_pairs else 1.0
    recall = true_positives / true_pairs if true_pairs else 1.0
    return PRF.from_precision_recall(precision, recall)


def bcubed_scores(predicted: pl.DataFrame, truth: pl.DataFrame) -> PRF:
    """B-cubed precision/recall/F1, averaged over records.

    Per record, precision is |pred cluster ∩ true cluster| / |pred cluster| and recall
    is the same intersection over |true cluster|. All records of one contingency cell
    share those values, so the average is ``sum(n * n / size) / N`` over cells. Unlike
    pairwise scores, B-cubed does not let one giant cluster dominate.

    Args:
        predicted: columns ``record_key``, ``cluster``.
        truth: columns ``record_key``, ``cluster``.

    Returns:
        Scores over the records present in both frames; 1.0 precision and recall when
        there are none.
    """
    cells = contingency(predicted, truth)
    records = int(cells["n"].sum())
    if records == 0:
        return PRF.from_precision_recall(1.0, 1.0)
    n = pl.col("n").cast(pl.Float64)
    sums = cells.select(
        (n * n / n.sum().over("pred")).sum().alias("precision"),
        (n * n / n.sum().over("true")).sum().alias("recall"),
    ).row(0, named=True)
    return PRF.from_precision_recall(sums["precision"] / records, sums["recall"] / records)


# --------------------------------------------------------------------------- normalisation


@cache
def _t2s() -> opencc.OpenCC:
    """One converter per process: loading the dictionaries costs far more than converting."""
    return opencc.OpenCC("t2s")


def _fold_one(text: str) -> str:
    """NFKC -> simplified Chinese -> casefold -> NFKC (casefolding can denormalise)."""
    folded = _t2s().convert(unicodedata.normalize("NFKC", text)).casefold()
    return unicodedata.normalize("NFKC", folded)


def _fold_many(texts: list[str]) -> list[str]:
    """Fold many whitespace-free strings with one call per step instead of one per value.

    The values are joined on a newline (absent from them, since whitespace was removed
    first) and split back; if a step ever changed the separator count, fall back to
    folding one by one rather than misalign values.
    """
    if not texts:
        return []
    parts = _fold_one(_SEGMENT.join(texts)).split(_SEGMENT)
    return parts if len(parts) == len(texts) else [_fold_one(t) for t in texts]


def normalise_text(values: pl.Series) -> pl.Series:
    """Normalise values so that only content differences remain.

    Steps: drop whitespace; Unicode NFKC (full-width -> ASCII, compatibility forms);
    traditional -> simplified Chinese (OpenCC ``t2s``); casefold; then drop everything
    but letters, combining marks and digits (punctuation and symbols go). Thus
    'ACME Co., Ltd' == 'acme co ltd' and '上海星辰貿易有限公司' == '上海星辰贸易有限公司',
    but 'ACME Co., Ltd.' != 'ACME Inc.': the rule forgives formatting, not content
    (abbreviations, legal forms and typos still count as different).

    Python-level work runs once per distinct value, not per row.

    Args:
        values: any dtype; cast to string.

    Returns:
        String series aligned with ``values``; nulls stay null.
    """
    raw = values.cast(pl.String).str.replace_all(r"\s+", "")
    distinct = raw.drop_nulls().unique()
    mapping = pl.DataFrame(
        {"raw": distinct, "folded": pl.Series(_fold_many(distinct.to_list()), dtype=pl.String)}
    ).with_columns(pl.col("folded").str.replace_all(_KEEP_TEXT, ""))
    return (
        raw.to_frame("raw")
        .join(mapping, on="raw", how="left", maintain_order="left")["folded"]
        .alias(values.name)
    )


def normalise_phone(values: pl.Series) -> pl.Series:
    """Keep only the ASCII digits (after NFKC), so '+86 138 0013 8000' == '+8613800138000'.

    A missing country code still differs: that is content, not formatting.
    """
    return normalise_text(values).str.replace_all(r"[^0-9]", "")


# --------------------------------------------------------------------------- field accuracy


def _record_links(xref: pl.DataFrame, truth_records: pl.DataFrame) -> pl.DataFrame:
    """(unified_id, entity_id) per record known to both sides; keys compared as strings."""
    _require_columns(xref, (*_SOURCE_KEYS, "unified_id"), "xref")
    _require_columns(truth_records, (*_SOURCE_KEYS, "entity_id"), "truth_records")
    keys = [pl.col(k).cast(pl.String) for k in _SOURCE_KEYS]
    left = xref.select(*keys, "unified_id").drop_nulls()
    right = truth_records.select(*keys, "entity_id").drop_nulls()
    return left.join(right, on=list(_SOURCE_KEYS), how="inner").select("unified_id", "entity_id")


def _most_records(counts: pl.DataFrame, group: str, pick: str) -> pl.DataFrame:
    """Per ``group``, the ``pick`` sharing most records with it; ties go to the smallest."""
    return (
        counts.sort([group, "n", pick], descending=[False, True, False])
        .unique(subset=group, keep="first", maintain_order=True)
        .select(group, pick)
    )


def entity_golden_pairs(xref: pl.DataFrame, truth_records: pl.DataFrame) -> pl.DataFrame:
    """Decide which golden row is judged against which true entity.

    1. Each unified ID stands for the entity holding the majority of its records
       (ties: smallest entity_id). Entities that stand behind no unified ID were
       absorbed into other customers' clusters (or lost); that is a matching error
       the clustering scores already charge, so field accuracy does not judge them.
    2. Each entity kept is judged against the golden row of the cluster holding most
       of its records (ties: smallest unified_id): the row a user looking the customer
       up would most likely land on. If its records are split, the smaller fragments
       are likewise left to the clustering scores.

    Args:
        xref: ``source_system``, ``source_record_id``, ``unified_id``.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.

    Returns:
        Columns ``entity_id``, ``unified_id``; one row per judged entity, sorted.
    """
    counts = (
        _record_links(xref, truth_records)
        .group_by("unified_id", "entity_id")
        .agg(pl.len().alias("n"))
    )
    represented = _most_records(counts, "unified_id", "entity_id").select("entity_id")
    representative = _most_records(counts, "entity_id", "unified_id")
    return representative.join(represented.unique(), on="entity_id", how="semi").sort("entity_id")


def _is_present(values: pl.Series) -> pl.Series:
    """True where a value is non-null and not blank."""
    return values.cast(pl.String).str.strip_chars().fill_null("") != ""


def _score_field(truth: pl.Series, golden: pl.Series, *, phone: bool) -> FieldAccuracy:
    """Compare one field over judged entities; unknown truth is skipped, missing golden is wrong."""
    normalise = normalise_phone if phone else normalise_text
    judged = _is_present(truth)
    equal = (normalise(truth) == normalise(golden)).fill_null(False)
    correct = int((judged & _is_present(golden) & equal).sum())
    total = int(judged.sum())
    return FieldAccuracy(correct=correct, total=total, accuracy=correct / total if total else None)


def field_accuracy(
    golden: pl.DataFrame,
    xref: pl.DataFrame,
    truth_records: pl.DataFrame,
    truth_entities: pl.DataFrame,
    *,
    fields: Sequence[str] = DEFAULT_FIELDS,
) -> dict[str, FieldAccuracy]:
    """Per-field share of judged entities whose golden value is the true current value.

    Which golden row is judged against which entity is decided by
    :func:`entity_golden_pairs`. Values are compared after :func:`normalise_text`
    (digits only for :data:`PHONE_FIELDS`). An empty true value is unknowable and not
    counted; a missing golden value where the truth is known counts as wrong, so a
    pipeline cannot score well by leaving fields blank.

    Args:
        golden: ``unified_id`` plus the fields; a field column it lacks counts as missing.
        xref: ``source_system``, ``source_record_id``, ``unified_id``.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.
        truth_entities: ``entity_id`` plus every field in ``fields``.
        fields: the fields to score.

    Returns:
        ``{field: FieldAccuracy}`` in ``fields`` order.
    """
    _require_columns(golden, ("unified_id",), "golden")
    _require_columns(truth_entities, ("entity_id", *fields), "truth_entities")
    golden_values = golden.select(
        "unified_id",
        *[
            (pl.col(f) if f in golden.columns else pl.lit(None)).cast(pl.String).alias(f"g:{f}")
            for f in fields
        ],
    )
    judged = (
        entity_golden_pairs(xref, truth_records)
        .join(truth_entities.select("entity_id", *fields), on="entity_id", how="inner")
        .join(golden_values, on="unified_id", how="left")
    )
    return {f: _score_field(judged[f], judged[f"g:{f}"], phone=f in PHONE_FIELDS) for f in fields}


# --------------------------------------------------------------------------- warehouse


def _with_record_key(frame: pl.DataFrame, cluster: str) -> pl.DataFrame:
    """(record_key, cluster) with record_key = source_system + U+001F + source_record_id."""
    key = pl.concat_str(
        [pl.col(k).cast(pl.String) for k in _SOURCE_KEYS], separator=RECORD_KEY_SEPARATOR
    )
    return frame.select(key.alias("record_key"), pl.col(cluster).alias("cluster"))


def _read_warehouse(database: Path, fields: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read (golden, xref) read-only, so evaluating never blocks or alters a published run."""
    if not database.is_file():
        raise FileNotFoundError(f"no warehouse database at {database}")
    with duckdb.connect(str(database), read_only=True) as con:
        available = set(con.table("golden_customer").columns)
        columns = ["unified_id", *[f for f in fields if f in available]]
        select = ", ".join(f'"{c}"' for c in columns)
        golden = con.sql(f"SELECT {select} FROM golden_customer").pl()
        xref = con.sql(
            "SELECT CAST(source_system AS VARCHAR) AS source_system,"
            " CAST(source_record_id AS VARCHAR) AS source_record_id, unified_id"
            " FROM customer_xref"
        ).pl()
    return golden, xref


def _read_truth(path: Path) -> pl.DataFrame:
    """Read a truth CSV as strings: IDs and postcodes keep their leading zeros."""
    if not path.is_file():
        raise FileNotFoundError(f"no truth file at {path}")
    return pl.read_csv(path, infer_schema=False)


def evaluate_warehouse(
    warehouse_dir: Path, truth_dir: Path, *, fields: Sequence[str] | None = None
) -> Evaluation:
    """Score ``warehouse_dir/golden.duckdb`` against ``truth_dir`` (records.csv, entities.csv).

    Args:
        warehouse_dir: a published warehouse folder.
        truth_dir: the generator's truth folder.
        fields: fields to score; by default every :data:`DEFAULT_FIELDS` entry that
            entities.csv has.

    Returns:
        The full :class:`Evaluation`.

    Raises:
        FileNotFoundError: the database or a truth file is missing.
    """
    truth_dir = Path(truth_dir)
    truth_records = _read_truth(truth_dir / "records.csv")
    truth_entities = _read_truth(truth_dir / "entities.csv")
    if fields is None:
        fields = [f for f in DEFAULT_FIELDS if f in truth_entities.columns]
    golden, xref = _read_warehouse(Path(warehouse_dir) / "golden.duckdb", fields)

    predicted = _with_record_key(xref, "unified_id")
    truth = _with_record_key(truth_records, "entity_id")
    evaluated = predicted.join(truth, on="record_key", how="semi")
    pairs = entity_golden_pairs(xref, truth_records)
    return Evaluation(
        pairwise=pairwise_scores(predicted, truth),
        bcubed=bcubed_scores(predicted, truth),
        predicted_clusters=evaluated["cluster"].n_unique(),
        true_clusters=truth.join(predicted, on="record_key", how="semi")["cluster"].n_unique(),
        records_evaluated=evaluated.height,
        field_accuracy=field_accuracy(golden, xref, truth_records, truth_entities, fields=fields),
        records_missing=truth.height - evaluated.height,
        records_unexpected=predicted.height - evaluated.height,
        entities_compared=pairs.height,
    )


# --------------------------------------------------------------------------- report


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def format_evaluation(e: Evaluation) -> str:
    """Render an evaluation as a compact plain-text table (for terminals and CI logs)."""
    lines = [
        f"records evaluated  {e.records_evaluated:,}"
        f"  (missing from warehouse {e.records_missing:,}, not in truth {e.records_unexpected:,})",
        f"clusters           predicted {e.predicted_clusters:,}, true {e.true_clusters:,}",
    ]
    if e.records_evaluated == 0:
        lines.append("WARNING: no warehouse record matched the truth; scores are vacuous")
    lines += ["", f"{'clustering':<14}{'precision':>10}{'recall':>10}{'f1':>10}"]
    for label, prf in (("pairwise", e.pairwise), ("b-cubed", e.bcubed)):
        lines.append(
            f"{label:<14}{_score(prf.precision):>10}{_score(prf.recall):>10}{_score(prf.f1):>10}"
        )
    lines += [
        "",
        f"field accuracy ({e.entities_compared:,} entities compared)",
        f"{'field':<14}{'correct':>10}{'total':>10}{'accuracy':>10}",
    ]
    for name, acc in e.field_accuracy.items():
        lines.append(f"{name:<14}{acc.correct:>10,}{acc.total:>10,}{_score(acc.accuracy):>10}")
    return "\n".join(lines)
