"""Records of one customer linked into persons by shared keys (e-mail, phone, name).

Both the contact rows (``lineage.contacts``: records sharing an e-mail, phone or
name are one contact) and the phone roles (``lineage.roles``: a number that two
*different* persons write is the company's line) need to know which records were
written by the same person. A person's records rarely agree on everything (one CRM
row lacks the e-mail, a ticket spells the name 'Elsworth Bruce'), so one key alone
splits a person in two; ``linked_components`` joins every record reachable over any
shared key.
"""

from __future__ import annotations

import polars as pl

# Shared mailboxes are the company's, never one person's: they link no records.
ROLE_MAILBOX = (
    r"(?i)^(info|sales|service|services|support|admin|finance|contact|office|hr|billing"
    r"|accounts?|enquiries|inquiries|hello|marketing|noreply|no-reply|team|mail)@"
)
MAX_PASSES = 50  # label propagation converges in (longest chain of shared keys) passes


def linked_components(keys: pl.DataFrame, nodes: pl.Series) -> pl.DataFrame:
    """``_node -> _component``: nodes joined by any shared ``_key`` (label propagation).

    Args:
        keys: ``_node, _key`` (Int64, String), one row per key a node holds; callers
            scope keys to a customer (prefix the unified ID) so that nothing links
            across customers.
        nodes: Every node (Int64), keyed or not; a node without keys is its own
            component.

    Returns:
        ``_node, _component``: the component is the smallest node id in it.

    Example:
        >>> keys = pl.DataFrame({"_node": [0, 1, 1, 2], "_key": ["a", "a", "b", "b"]})
        >>> linked_components(keys, pl.Series([0, 1, 2, 3]))["_component"].to_list()
        [0, 0, 0, 3]
    """
    labels = pl.DataFrame({"_node": nodes}).select(
        pl.col("_node"), pl.col("_node").alias("_component")
    )
    for _ in range(MAX_PASSES):
        by_key = (
            keys.join(labels, on="_node")
            .group_by("_key")
            .agg(pl.col("_component").min().alias("_key_label"))
        )
        updated = (
            keys.join(by_key, on="_key")
            .group_by("_node")
            .agg(pl.col("_key_label").min())
            .join(labels, on="_node", how="right")
            .select(
                "_node",
                pl.min_horizontal("_component", "_key_label").alias("_component"),
            )
        )
        if updated.sort("_node").equals(labels.sort("_node")):
            break
        labels = updated
    return labels.sort("_node")
