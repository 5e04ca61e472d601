"""The matching state a release keeps for the next incremental run (``matching.incremental``)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import scipy.sparse as sp


@dataclass(frozen=True)
class MatchIndex:
    """The previous release's matching state, in its own record_index.

    ``std`` must hold ``record_index``, the source keys and ``content_hash``;
    ``scored_pairs`` the scored pairs (``left``, ``right``, levels, weights,
    ``match_weight``, ``match_probability``, ``decision``, ``blocking_rules``).
    """

    std: pl.DataFrame
    scored_pairs: pl.DataFrame
    name_vectors: sp.csr_matrix
    neighbours: pl.DataFrame
