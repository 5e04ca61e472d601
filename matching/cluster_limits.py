"""A ceiling on cluster size: a cluster above ``matching.max_cluster_size`` is re-split.

No real customer of a customer master has thousands of records; a cluster
that large is the matcher's mistake (common-name links chaining people into
one: an earlier version made an 18,840-record cluster on a 1M person file).
Such a cluster is re-clustered on the clustering's stricter criterion: only
its *strong* links count (at or above the match threshold and corroborated by
at least two comparisons, ``matching.clustering``: not ``weak_link``; a
steward's must-link is always strong). Its parts are the connected components
of those links inside it, so a part never joins records the constrained
clustering had kept apart, and a cluster at or below the limit never changes.

A part still above the limit (its records are chained by strong links) is
published as it is: nothing stricter is known that would be right, and the
stages after matching are bounded whatever the cluster sizes. Either way the
cluster is reported (``oversized_clusters``: one row per resulting part, with
the original size), the run summary says so, a quality suite warns, and the
scored pairs stay in ``match_evidence`` (``same_cluster`` false across parts).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from matching.clustering import components, smallest_member

SPLIT = "split"
KEPT_OVERSIZED = "kept_oversized"
OVERSIZED_SCHEMA: dict[str, pl.DataType] = {
    "record_index": pl.UInt32(),  # the part's cluster label: its smallest record_index
    "record_count": pl.Int64(),
    "original_record_index": pl.UInt32(),  # the cluster label matching gave before the split
    "original_record_count": pl.Int64(),
    "original_parts": pl.Int64(),
    "outcome": pl.String(),
}


def empty_oversized() -> pl.DataFrame:
    """A report of no oversized cluster (``OVERSIZED_SCHEMA``)."""
    return pl.DataFrame(schema=OVERSIZED_SCHEMA)


def limit_cluster_sizes(
    labels: np.ndarray,
    edges: pl.DataFrame,
    *,
    max_cluster_size: int,
    match_threshold: float,
) -> tuple[np.ndarray, pl.DataFrame]:
    """Labels with every cluster over ``max_cluster_size`` split on its strong links.

    Args:
        labels: Cluster label per record (the smallest record_index of its cluster),
            as ``cluster_pairs`` returns them.
        edges: The pairs clustering saw: ``left``, ``right``, ``match_probability``
            and ``weak_link``.
        max_cluster_size: Largest cluster left as clustered.
        match_threshold: Pairs at or above this probability are links.

    Returns:
        The new labels (unchanged for every record of a cluster within the limit)
        and the report of the oversized clusters' parts (``OVERSIZED_SCHEMA``),
        sorted by original cluster, then part.

    Example:
        >>> edges = pl.DataFrame({"left": [0, 1, 2], "right": [1, 2, 3],
        ...     "match_probability": [1.0, 0.95, 1.0], "weak_link": [False, True, False]})
        >>> labels, report = limit_cluster_sizes(
        ...     np.zeros(4, dtype=np.int64), edges, max_cluster_size=3, match_threshold=0.9)
        >>> labels.tolist(), report["record_count"].to_list()
        ([0, 0, 2, 2], [2, 2])
    """
    n_records = len(labels)
    if n_records == 0:
        return labels, empty_oversized()
    sizes = np.bincount(labels, minlength=n_records)
    record_size = sizes[labels]
    oversized = record_size > max_cluster_size
    if not oversized.any():
        return labels, empty_oversized()
    link = edges["match_probability"] >= match_threshold
    if "weak_link" in edges.columns:
        link &= ~edges["weak_link"].fill_null(False)
    strong = edges.select("left", "right").filter(link)
    left = strong["left"].to_numpy().astype(np.int64)
    right = strong["right"].to_numpy().astype(np.int64)
    inside = oversized[left] & (labels[left] == labels[right])
    part = components(n_records, left[inside], right[inside]).astype(np.int64)
    new_labels = smallest_member(np.where(oversized, part + n_records, labels))
    members = np.flatnonzero(oversized)
    report = (
        pl.DataFrame(
            {
                "record_index": new_labels[members],
                "original_record_index": labels[members],
                "original_record_count": record_size[members],
            }
        )
        .group_by("record_index", "original_record_index", "original_record_count")
        .len("record_count")
        .with_columns(
            pl.len().over("original_record_index").alias("original_parts"),
            pl.when(pl.col("record_count") > max_cluster_size)
            .then(pl.lit(KEPT_OVERSIZED))
            .otherwise(pl.lit(SPLIT))
            .alias("outcome"),
        )
        .sort("original_record_index", "record_index")
        .select(list(OVERSIZED_SCHEMA))
        .cast(OVERSIZED_SCHEMA)  # type: ignore[arg-type]
    )
    return new_labels, report
