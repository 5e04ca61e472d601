"""Incremental runs: reuse what the last release already computed for unchanged records.

Three modes, one graph:

- ``incremental`` (the daily job): records whose content hash is unchanged
  are taken from the release's ``standardised_records``; only new and changed
  records are standardised;
- ``full`` (``fusion run --full``, the ``fusion_full_rebuild`` job): every
  record is standardised again;
- ``retrain`` (``fusion run --retrain``): a full rebuild that also learns a
  new match model.

In the first two the match model is the one stored with the current release:
like Splink's saved model, it is learnt once (on the first run, or when a data
engineer asks) and then reused, so a new batch cannot shift the scores of
unrelated customers, and a full rebuild gives exactly the clusters of the
incremental runs that led to the same data. The model travels with the global
statistics that would otherwise make a score depend on every record: the name
n-gram IDF and the term-frequency population (``matching.name_idf``).

An incremental run also matches incrementally (``matching.incremental``, whose
docstring states the rule): the release keeps its blocking index (the
standardised records with their content hashes, the scored pairs in
``match_evidence``, each record's name vector in ``name_vectors`` and its
semantic top-k in ``semantic_neighbours``), and a batch recomputes only the
blocks, neighbour lists and pairs it reaches; clustering then runs over all
pairs. A full rebuild computes everything from scratch with the same model and
statistics and gives the same pairs, scores and clusters (tested). Golden
records are recomputed for the customers whose records changed and carried
over for the others (``carried_unified_ids`` says when that is exact).

Steward decisions bind in every mode. Standardised records and the index are
reused only when the configuration, fusion's version and the hash function are
the ones that produced them (``reuse_key``); on a mismatch (a changed
threshold, say) the run matches in full with the stored model.

One module per part: ``baseline`` (what the release offers), ``standardise``,
``golden`` (carried and recomputed customers), ``publish`` (the table deltas).
"""

from __future__ import annotations

from pipelines.incremental.baseline import (
    GOLDEN_TABLES,
    HASHED_COLUMNS,
    KEYS,
    MODES,
    Baseline,
    IndexSource,
    PreviousGolden,
    Standardiser,
    reuse_key,
    with_content_hash,
)
from pipelines.incremental.golden import (
    IncrementalGolden,
    carried_unified_ids,
    combine_golden,
    with_contact_points,
)
from pipelines.incremental.publish import GOLDEN_DELTA_TABLES, publish_plan, standardised_delta
from pipelines.incremental.standardise import (
    Standardised,
    reuses_standardised,
    standardise_in_parts,
    standardise_incrementally,
)

__all__ = [
    "Baseline",
    "GOLDEN_DELTA_TABLES",
    "GOLDEN_TABLES",
    "HASHED_COLUMNS",
    "IncrementalGolden",
    "IndexSource",
    "KEYS",
    "MODES",
    "PreviousGolden",
    "Standardised",
    "Standardiser",
    "carried_unified_ids",
    "combine_golden",
    "publish_plan",
    "reuse_key",
    "reuses_standardised",
    "standardise_in_parts",
    "standardise_incrementally",
    "standardised_delta",
    "with_contact_points",
    "with_content_hash",
]
