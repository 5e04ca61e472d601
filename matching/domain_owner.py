"""A cluster that names no customer joins the one customer its company e-mail domain identifies.

Tickets and orders often leave the company blank and come from a contact on the
company's own domain ('zhanghuaxu@zhanjia-new.com'). Pair by pair, such a
record shares only the domain with the company's records, and a branch, a
subsidiary or another company of the group may share it too: on the B2B
generator those pairs score p 0.62 (four in five are one customer), too weak
to link. Among clusters the question has an answer: when every named record
carrying the domain sits in one cluster, the domain identifies that customer,
and a cluster none of whose records names a customer, and whose only company
domain it is, joins it. A domain that named records of two clusters carry
identifies no one, and nothing is attached to either. A cannot-link between
the two clusters (a confident non-match or a steward's decision) keeps them
apart. Free-mail domains never count: ``company_domain`` leaves them out
(``matching.standardise.contact``).

The pairs that joined them stay in ``match_evidence`` at their own level
(``same_company_domain``), so an auditor reads what the link rests on.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from matching.clustering import smallest_member
from matching.unique import sorted_unique

_NEEDED = ("record_index", "name_key", "company_domain")


def attach_to_domain_owners(
    std: pl.DataFrame, labels: np.ndarray, cannot_link: pl.DataFrame
) -> tuple[np.ndarray, int]:
    """Labels with each unnamed single-domain cluster joined to its domain's one owner.

    Args:
        std: Standardised records (``record_index``, ``name_key``, ``company_domain``);
            without those columns nothing is attached.
        labels: Cluster label per record (its cluster's smallest record_index).
        cannot_link: ``left``, ``right`` pairs that must not end in one cluster.

    Returns:
        The new labels (still each cluster's smallest record_index) and how many
        records were attached.

    Example:
        >>> std = pl.DataFrame({"record_index": [0, 1, 2, 3],
        ...     "name_key": ["zhanjia", "zhanjia", None, None],
        ...     "company_domain": ["zhanjia.com", None, "zhanjia.com", "other.cn"]})
        >>> none = pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
        >>> labels, attached = attach_to_domain_owners(std, np.array([0, 0, 2, 3]), none)
        >>> labels.tolist(), attached
        ([0, 0, 0, 3], 1)
    """
    return apply_domain_moves(labels, domain_owner_moves(std, labels), cannot_link)


def domain_owner_moves(std: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
    """``cluster`` -> ``owner``: the unnamed single-domain clusters and their domain's one owner.

    Cannot-links are not yet read: ``apply_domain_moves`` does, so a caller whose
    pairs live elsewhere (Spark) fetches only those among the moving clusters' records.
    """
    empty = pl.DataFrame(schema={"cluster": pl.Int64, "owner": pl.Int64})
    if not all(column in std.columns for column in _NEEDED) or not len(labels):
        return empty
    labels64 = labels.astype(np.int64, copy=False)
    named = std["name_key"].is_not_null().to_numpy()
    named_clusters = sorted_unique(labels64[named])
    # Only records holding a company domain take part (a fraction of a person file).
    with_domain = std["company_domain"].is_not_null().to_numpy()
    records = pl.DataFrame(
        {
            "cluster": labels64[with_domain],
            "named": named[with_domain],
            "company_domain": std["company_domain"].filter(pl.Series(with_domain)),
        }
    )
    owners = (
        records.filter(pl.col("named"))
        .group_by("company_domain")
        .agg(pl.col("cluster").unique().alias("owners"))
        .filter(pl.col("owners").list.len() == 1)
        .select("company_domain", pl.col("owners").list.first().alias("owner"))
    )
    unnamed = (
        records.filter(~pl.col("cluster").is_in(pl.Series(named_clusters).implode()))
        .group_by("cluster")
        .agg(pl.col("company_domain").unique().alias("domains"))
        .filter(pl.col("domains").list.len() == 1)
        .select("cluster", pl.col("domains").list.first().alias("company_domain"))
    )
    return unnamed.join(owners, on="company_domain").select("cluster", "owner").sort("cluster")


def apply_domain_moves(
    labels: np.ndarray, moves: pl.DataFrame, cannot_link: pl.DataFrame
) -> tuple[np.ndarray, int]:
    """``labels`` with the ``moves`` no cannot-link forbids applied; how many records moved."""
    if not moves.height:
        return labels, 0
    moves = moves.join(_forbidden(cannot_link, labels), on=["cluster", "owner"], how="anti")
    # Labels are record indices, so a lookup table over them maps every cluster at once.
    target = np.arange(len(labels), dtype=np.int64)
    target[moves["cluster"].to_numpy()] = moves["owner"].to_numpy()
    moved = target[labels]
    attached = int((moved != labels).sum())
    return smallest_member(moved).astype(labels.dtype, copy=False), attached


def moving_records(labels: np.ndarray, moves: pl.DataFrame) -> np.ndarray:
    """Record indices of the clusters ``moves`` would join (both sides)."""
    clusters = np.concatenate([moves["cluster"].to_numpy(), moves["owner"].to_numpy()])
    return np.flatnonzero(np.isin(labels, clusters))


def _forbidden(cannot_link: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
    """(cluster, owner) pairs of clusters that a cannot-link joins, both ways round."""
    left = labels[cannot_link["left"].to_numpy()]
    right = labels[cannot_link["right"].to_numpy()]
    both = pl.DataFrame({"cluster": np.concatenate([left, right]),
                         "owner": np.concatenate([right, left])})  # fmt: skip
    return both.cast({"cluster": pl.Int64, "owner": pl.Int64}).unique()
