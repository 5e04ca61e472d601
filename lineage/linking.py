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

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

# Shared mailboxes are the company's, never one person's: they link no records.
ROLE_MAILBOX = (
    r"(?i)^(info|sales|service|services|support|admin|finance|contact|office|hr|billing"
    r"|accounts?|enquiries|inquiries|hello|marketing|noreply|no-reply|team|mail)@"
)


def linked_components(keys: pl.DataFrame, nodes: pl.Series) -> pl.DataFrame:
    """``_node -> _component``: nodes joined by any shared ``_key``, however long the chain.

    The nodes and keys are one undirected graph (an edge from a node to each key
    it holds) whose connected components scipy finds in one pass.

    Args:
        keys: ``_node, _key`` (Int64, String), one row per key a node holds; callers
            scope keys to a customer (prefix the unified ID) so that nothing links
            across customers.
        nodes: Every node (Int64, distinct), keyed or not; a node without keys is its
            own component.

    Returns:
        ``_node, _component``: the component is the smallest node id in it.

    Example:
        >>> keys = pl.DataFrame({"_node": [0, 1, 1, 2], "_key": ["a", "a", "b", "b"]})
        >>> linked_components(keys, pl.Series([0, 1, 2, 3]))["_component"].to_list()
        [0, 0, 0, 3]
    """
    positions = pl.DataFrame({"_node": nodes}).with_row_index("_position")
    key_positions = keys.select("_key").unique().with_row_index("_key_position")
    edges = keys.join(positions, on="_node").join(key_positions, on="_key")
    size = positions.height + key_positions.height
    graph = sp.coo_matrix(
        (
            np.ones(edges.height, dtype=np.int8),
            (
                edges["_position"].to_numpy(),
                edges["_key_position"].to_numpy().astype(np.int64) + positions.height,
            ),
        ),
        shape=(size, size),
    )
    _, component = connected_components(graph, directed=False)
    return (
        positions.with_columns(pl.Series("_graph_component", component[: positions.height]))
        .select("_node", pl.col("_node").min().over("_graph_component").alias("_component"))
        .sort("_node")
    )
