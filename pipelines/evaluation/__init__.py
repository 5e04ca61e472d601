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

This package deliberately has no Dagster import: the CLI (``fusion evaluate``)
and the benchmarks (``bench/``) call the same plain functions. Its modules:
``results`` (what is reported), ``clusters`` (clustering scores), ``fields``
(value normalisation and field accuracy), ``warehouse`` (reading a warehouse and
a truth folder, and the printed report).
"""

from __future__ import annotations

from pipelines.evaluation.clusters import (
    bcubed_scores,
    contingency,
    pairwise_scores,
    require_columns,
)
from pipelines.evaluation.fields import (
    entity_golden_pairs,
    field_accuracy,
    knowable_fields,
    normalise_phone,
    normalise_text,
    reachable_fields,
)
from pipelines.evaluation.results import (
    DEFAULT_FIELDS,
    PHONE_FIELDS,
    PRF,
    RECORD_KEY_SEPARATOR,
    SOURCE_KEYS,
    Evaluation,
    FieldAccuracy,
)
from pipelines.evaluation.warehouse import evaluate_warehouse, format_evaluation

__all__ = [
    "DEFAULT_FIELDS",
    "Evaluation",
    "FieldAccuracy",
    "PHONE_FIELDS",
    "PRF",
    "RECORD_KEY_SEPARATOR",
    "SOURCE_KEYS",
    "bcubed_scores",
    "contingency",
    "entity_golden_pairs",
    "evaluate_warehouse",
    "field_accuracy",
    "format_evaluation",
    "knowable_fields",
    "normalise_phone",
    "normalise_text",
    "pairwise_scores",
    "reachable_fields",
    "require_columns",
]
