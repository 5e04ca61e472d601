"""Score a published warehouse against a truth folder, and print the result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.evaluation.clusters import bcubed_scores, pairwise_scores
from pipelines.evaluation.fields import entity_golden_pairs, field_accuracy
from pipelines.evaluation.results import (
    DEFAULT_FIELDS,
    RECORD_KEY_SEPARATOR,
    SOURCE_KEYS,
    Evaluation,
)

# --------------------------------------------------------------------------- warehouse


def _with_record_key(frame: pl.DataFrame, cluster: str) -> pl.DataFrame:
    """(record_key, cluster) with record_key = source_system + U+001F + source_record_id."""
    key = pl.concat_str(
        [pl.col(k).cast(pl.String) for k in SOURCE_KEYS], separator=RECORD_KEY_SEPARATOR
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
