"""Did matching group the right records: pairwise and B-cubed scores from a contingency table."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipelines.evaluation.results import PRF

# --------------------------------------------------------------------------- clustering


def require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    """Fail early with the frame's name: a polars ColumnNotFoundError would not say which."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; has {frame.columns}")


def _clustering(frame: pl.DataFrame, what: str, alias: str) -> pl.DataFrame:
    """Validate a (record_key, cluster) frame and rename its cluster column to ``alias``.

    Duplicate keys or null clusters would silently distort every count, so they raise.
    """
    require_columns(frame, ("record_key", "cluster"), what)
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
