"""Why two source records were merged, or why not: ``fusion explain SOURCE:ID SOURCE:ID``.

Works for any two records of the current release, whether blocking made them
a candidate pair or not. It never re-implements scoring: it rebuilds the
run's inputs from the release itself (``standardised_records``; the model,
settings and term-frequency population in ``run_settings``; the name
statistics in ``name_idf``) and scores the pair with the run's own code
(``matching.waterfall``), so for a scored pair the waterfall adds up to the
``match_weight`` in ``match_evidence``. Then it says what the release made of
the pair: candidate or not (and which blocking rules), one unified ID or two,
and the steward decision in force or pending.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from connectors.errors import FusionError
from lineage.masking import mask_value
from matching.attributes import run_comparisons
from matching.model import FellegiSunterModel
from matching.name_idf import NameIdf
from matching.settings import MatchSettings
from matching.waterfall import ComparisonStep, pair_waterfall, run_name_vectors
from pipelines.stewardship.store import StewardshipStore, parse_record_key
from pipelines.warehouse import Warehouse

RecordKey = tuple[str, str]


class ExplainError(FusionError):
    """A pair cannot be explained: a record or a release table is missing."""


@dataclass(frozen=True)
class PairExplanation:
    """The recomputed score of a pair beside what the release recorded about it.

    ``left``/``right`` are in the run's order (lower ``record_index`` first), as
    in ``match_evidence``. ``stored`` is the pair's ``match_evidence`` row
    (None when blocking never made them a candidate pair).
    """

    left: RecordKey
    right: RecordKey
    run_id: str
    prior_weight: float
    steps: tuple[ComparisonStep, ...]
    match_weight: float
    match_probability: float
    decision: str
    match_threshold: float
    review_threshold: float
    candidate: bool
    blocking_rules: tuple[str, ...]
    stored: dict[str, Any] | None
    left_unified_id: str | None
    right_unified_id: str | None
    steward_decision: str | None
    pending_steward_decision: str | None

    @property
    def left_text(self) -> str:
        """The left record as ``SOURCE:ID``."""
        return _key_text(self.left)

    @property
    def right_text(self) -> str:
        """The right record as ``SOURCE:ID``."""
        return _key_text(self.right)

    @property
    def same_unified_id(self) -> bool:
        """Whether the release put both records into one golden customer."""
        return self.left_unified_id is not None and self.left_unified_id == self.right_unified_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``fusion explain --json``)."""
        document = asdict(self)
        document["left"] = self.left_text
        document["right"] = self.right_text
        document["blocking_rules"] = list(self.blocking_rules)
        document["same_unified_id"] = self.same_unified_id
        document["verdict"] = self.verdict()
        return document

    def verdict(self) -> str:
        """One sentence: merged or not, and what decided it."""
        p = _probability_text(self.match_probability)
        if self.steward_decision == "must_link":
            return "merged: a steward must-linked this pair"
        if self.steward_decision == "cannot_link":
            return "kept apart: a steward cannot-linked this pair"
        if not self.candidate:
            reason = (
                "no blocking rule put them together, so the model never scored them "
                f"(it would give p={p}, {self.decision})"
            )
            outcome = (
                "merged through other records of the same customer"
                if self.same_unified_id
                else "not merged"
            )
            return f"{outcome}: {reason}"
        if self.same_unified_id:
            how = "as a match" if self.decision == "match" else "through other records"
            return f"merged {how} (p={p}, {self.decision})"
        if self.decision == "match":
            return (
                f"scored a match (p={p}) but kept apart: clustering "
                "never joins clusters across a near-certain non-match or a steward cannot-link"
            )
        if self.decision == "review":
            return (
                f"not merged: p={p} is in the review band "
                f"[{self.review_threshold}, {self.match_threshold}): it waits for a steward "
                "(fusion review list)"
            )
        return f"not merged: p={p} is below the review threshold {self.review_threshold}"


# The canonical field a compared standardised column holds, for lineage.masking.
_FIELD_OF_COLUMN = {
    "email": "email",
    "phone": "phone",
    "address_key": "address",
    "contact_latin_sorted": "contact_name",
}


def masked_step(step: ComparisonStep) -> ComparisonStep:
    """The step with e-mails, phones, addresses and contact names masked (``--mask-pii``).

    Example:
        >>> step = ComparisonStep("email", "exact", "email", "li@acme.cn", "li@acme.cn", 9, 0, 9, 9)
        >>> masked_step(step).left_value
        'l•••@acme.cn'
    """
    field = _FIELD_OF_COLUMN.get(step.column or "")
    if field is None:
        return step
    left, right = (mask_value(field, v) for v in (step.left_value, step.right_value))
    return replace(
        step,
        left_value=None if left is None else str(left),
        right_value=None if right is None else str(right),
    )


def _probability_text(probability: float) -> str:
    """4 decimals, or 2 significant digits when that would show 0.0000."""
    return f"{probability:.4f}" if probability >= 1e-4 else f"{probability:.2g}"


def _key_text(key: RecordKey) -> str:
    return f"{key[0]}:{key[1]}"


@dataclass(frozen=True)
class _Release:
    """What explaining needs from the current release."""

    root: Path
    std: pl.DataFrame
    model: FellegiSunterModel
    settings: MatchSettings
    run_id: str
    statistics: NameIdf | None

    @classmethod
    def read(cls, warehouse_dir: Path) -> _Release:
        warehouse = Warehouse(Path(warehouse_dir).resolve())
        std = _table(warehouse, "standardised_records").sort("record_index")
        if not std["record_index"].equals(pl.Series(range(std.height)), check_dtypes=False):
            msg = f"{warehouse_dir}: standardised_records.record_index is not 0..n-1"
            raise ExplainError(msg)
        run_settings = _table(warehouse, "run_settings")
        config = json.loads(run_settings["config_json"][0])
        return cls(
            root=warehouse.root,
            std=std,
            model=FellegiSunterModel.from_dict(json.loads(run_settings["match_model_json"][0])),
            settings=MatchSettings.model_validate(config.get("matching") or {}),
            run_id=str(run_settings["run_id"][0]),
            statistics=_name_statistics(warehouse, run_settings),
        )

    def record_index(self, key: RecordKey, text: str) -> int:
        hit = self.std.filter(
            (pl.col("source_system") == key[0]) & (pl.col("source_record_id") == key[1])
        )
        if not hit.height:
            msg = f"record {text!r} is not in the current release's standardised_records"
            raise ExplainError(msg)
        return int(hit["record_index"][0])


def _table(warehouse: Warehouse, name: str) -> pl.DataFrame:
    frame = warehouse.read_table(name)
    if frame is None:
        msg = f"no published warehouse with table {name!r} at {warehouse.root}"
        raise ExplainError(msg)
    return frame


def _name_statistics(warehouse: Warehouse, run_settings: pl.DataFrame) -> NameIdf | None:
    """The name IDF and TF population stored with the release's model (None: an older release)."""
    frame = warehouse.read_table("name_idf")
    if "tf_population" not in run_settings.columns or frame is None:
        return None
    low, high = json.loads(run_settings["name_ngram_range"][0])
    return NameIdf.from_frame(
        frame, population=int(run_settings["tf_population"][0]), ngram_range=(low, high)
    )


def _evidence_row(root: Path, left: RecordKey, right: RecordKey) -> dict[str, Any] | None:
    evidence = _table(Warehouse(root), "match_evidence")
    hit = evidence.filter(
        (pl.col("left_source_system") == left[0])
        & (pl.col("left_source_record_id") == left[1])
        & (pl.col("right_source_system") == right[0])
        & (pl.col("right_source_record_id") == right[1])
    )
    return hit.to_dicts()[0] if hit.height else None


def _unified_ids(root: Path, *keys: RecordKey) -> list[str | None]:
    xref = _table(Warehouse(root), "customer_xref")
    lookup = dict(
        zip(
            zip(xref["source_system"], xref["source_record_id"], strict=True),
            xref["unified_id"],
            strict=True,
        )
    )
    return [lookup.get(key) for key in keys]


def _latest_decision(decisions: pl.DataFrame | None, left: RecordKey, right: RecordKey) -> Any:
    """The latest link decision on the pair (either orientation), or None."""
    if decisions is None or not decisions.height:
        return None
    forward = (pl.col("left_source_system") == left[0]) & (
        pl.col("left_source_record_id") == left[1]
    )
    forward &= (pl.col("right_source_system") == right[0]) & (
        pl.col("right_source_record_id") == right[1]
    )
    backward = (pl.col("left_source_system") == right[0]) & (
        pl.col("left_source_record_id") == right[1]
    )
    backward &= (pl.col("right_source_system") == left[0]) & (
        pl.col("right_source_record_id") == left[1]
    )
    hit = decisions.filter(forward | backward).sort("decided_at")
    return hit.to_dicts()[-1] if hit.height else None


def _steward_decisions(
    root: Path, left: RecordKey, right: RecordKey
) -> tuple[str | None, str | None]:
    """(decision this release applied, decision recorded since that binds the next run)."""
    applied = _latest_decision(Warehouse(root).read_table("steward_link_decisions"), left, right)
    latest = _latest_decision(StewardshipStore(root).link_decisions(), left, right)
    in_force = None if applied is None else str(applied["decision"])
    if latest is None or (applied is not None and latest["decision_id"] == applied["decision_id"]):
        return in_force, None
    return in_force, str(latest["decision"])


def explain_pair(
    warehouse_dir: Path, left_text: str, right_text: str, *, mask_pii: bool = False
) -> PairExplanation:
    """Recompute the score of two records of the current release and say what became of them.

    ``mask_pii`` masks the compared e-mails, phones, addresses and contact names.

    Raises:
        ExplainError: a record is not in the release, or the release lacks a table.

    Example:
        >>> explain_pair(Path("wh"), "crm:CRM-000061", "erp:KH002128").decision  # doctest: +SKIP
        'match'
    """
    keys = [parse_record_key(left_text), parse_record_key(right_text)]
    if keys[0] == keys[1]:
        msg = f"record {left_text!r} is given twice: name two different records"
        raise ExplainError(msg)
    release = _Release.read(warehouse_dir)
    indexes = [
        release.record_index(key, text)
        for key, text in zip(keys, (left_text, right_text), strict=True)
    ]
    if indexes[0] > indexes[1]:  # the run orders every pair by record_index
        indexes.reverse()
        keys.reverse()
    comparisons = run_comparisons(release.settings)
    if not release.model.fits(comparisons):
        msg = (
            f"the release's model (run {release.run_id}) was learnt for other comparisons than "
            "this version of fusion has; run `fusion run --retrain` first"
        )
        raise ExplainError(msg)
    stored = _evidence_row(release.root, keys[0], keys[1])
    waterfall = pair_waterfall(
        release.std,
        indexes[0],
        indexes[1],
        model=release.model,
        settings=release.settings,
        comparisons=comparisons,
        name_vectors=run_name_vectors(release.std, statistics=release.statistics),
        tf_population=None if release.statistics is None else release.statistics.population,
        blocking_rules=None if stored is None else stored.get("blocking_rules"),
    )
    unified = _unified_ids(release.root, keys[0], keys[1])
    applied, pending = _steward_decisions(release.root, keys[0], keys[1])
    rules = () if stored is None or not stored.get("blocking_rules") else stored["blocking_rules"]
    return PairExplanation(
        left=keys[0],
        right=keys[1],
        run_id=release.run_id,
        prior_weight=waterfall.prior_weight,
        steps=tuple(masked_step(s) for s in waterfall.steps) if mask_pii else waterfall.steps,
        match_weight=waterfall.match_weight,
        match_probability=waterfall.match_probability,
        decision=waterfall.decision,
        match_threshold=release.settings.model.match_threshold,
        review_threshold=release.settings.model.review_threshold,
        candidate=stored is not None,
        blocking_rules=tuple(str(rules).split(",")) if rules else (),
        stored=stored,
        left_unified_id=unified[0],
        right_unified_id=unified[1],
        steward_decision=applied,
        pending_steward_decision=pending,
    )
