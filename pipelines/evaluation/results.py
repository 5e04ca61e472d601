"""What an evaluation reports: precision/recall/F1, field accuracy, the whole result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.canonical import GOLDEN_FIELDS

RECORD_KEY_SEPARATOR = "\x1f"
"""Joins source_system and source_record_id into one record key; it never occurs in either."""

DEFAULT_FIELDS: tuple[str, ...] = GOLDEN_FIELDS
"""Golden fields the truth knows; ``evaluate_warehouse`` scores those present in entities.csv."""

PHONE_FIELDS: frozenset[str] = frozenset({"phone"})
"""Fields compared on their digits only (E.164 formatting is presentation, not content)."""

_DECIMALS = 4
SOURCE_KEYS = ("source_system", "source_record_id")


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
