"""``fusion explain``: the recomputed waterfall agrees with what the run stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from matching.comparisons import Comparison, default_comparisons
from matching.model import FellegiSunterModel, LevelParameters, probability_from_weight
from matching.settings import MatchSettings
from matching.waterfall import Waterfall, pair_waterfall, run_name_vectors
from pipelines.cli import main
from pipelines.stewardship.explain import ExplainError, explain_pair, masked_step
from pipelines.stewardship.store import StewardshipStore
from pipelines.warehouse import Warehouse

KEYS = ["left_source_system", "left_source_record_id", "right_source_system",
        "right_source_record_id"]  # fmt: skip


def _evidence(warehouse: Path) -> pl.DataFrame:
    evidence = Warehouse(warehouse).read_table("match_evidence")
    assert evidence is not None
    return evidence


def _key(row: dict[str, object], side: str) -> str:
    return f"{row[f'{side}_source_system']}:{row[f'{side}_source_record_id']}"


def _scored_sample(warehouse: Path) -> list[dict[str, object]]:
    """Three stored pairs of each decision, the same ones every run of the test."""
    evidence = _evidence(warehouse)
    rows = []
    for decision in ("match", "review", "non_match"):
        chosen = evidence.filter(pl.col("decision") == decision).sort(KEYS)
        assert chosen.height, f"the samples make no {decision} pair"
        rows += chosen.gather_every(max(chosen.height // 3, 1)).head(3).to_dicts()
    return rows


def test_recomputed_waterfall_equals_the_stored_evidence(sample_warehouse: Path) -> None:
    rows = _scored_sample(sample_warehouse)
    for row in rows:
        explained = explain_pair(sample_warehouse, _key(row, "left"), _key(row, "right"))
        where = f"{_key(row, 'left')} {_key(row, 'right')}"
        assert explained.candidate, where
        assert explained.stored is not None
        assert explained.match_weight == row["match_weight"], where
        assert explained.match_probability == row["match_probability"], where
        assert explained.decision == row["decision"], where
        assert list(explained.blocking_rules) == str(row["blocking_rules"]).split(","), where
        for step in explained.steps:
            assert step.level == row[f"{step.comparison}_level"], (where, step)
            assert step.weight == row[f"{step.comparison}_weight"], (where, step)
            # The level's Bayes factor plus the term-frequency adjustment is its weight.
            assert step.bayes_factor_log2 + step.tf_adjustment_log2 == pytest.approx(
                step.weight, abs=1e-3
            )
        # The waterfall adds up: prior + every contribution = the match weight.
        assert explained.prior_weight + sum(s.weight for s in explained.steps) == pytest.approx(
            row["match_weight"], abs=1e-3
        )
        assert explained.steps[-1].cumulative_weight == pytest.approx(row["match_weight"], abs=1e-3)
        assert explained.same_unified_id == row["same_cluster"], where


def test_argument_order_does_not_matter(sample_warehouse: Path) -> None:
    row = _scored_sample(sample_warehouse)[0]
    forward = explain_pair(sample_warehouse, _key(row, "left"), _key(row, "right"))
    backward = explain_pair(sample_warehouse, _key(row, "right"), _key(row, "left"))
    assert forward == backward


def _non_candidate(warehouse: Path) -> tuple[str, str]:
    """Two records of different customers that no blocking rule paired."""
    xref = Warehouse(warehouse).read_table("customer_xref")
    assert xref is not None
    evidence = _evidence(warehouse)
    first = xref.sort("source_system", "source_record_id").row(0, named=True)
    paired = evidence.filter(
        (pl.col("left_source_system") == first["source_system"])
        & (pl.col("left_source_record_id") == first["source_record_id"])
    )
    other = (
        xref.filter(pl.col("unified_id") != first["unified_id"])
        .join(
            paired.select(
                pl.col("right_source_system").alias("source_system"),
                pl.col("right_source_record_id").alias("source_record_id"),
            ),
            on=["source_system", "source_record_id"],
            how="anti",
        )
        .sort("source_system", "source_record_id")
        .row(-1, named=True)
    )
    return (
        f"{first['source_system']}:{first['source_record_id']}",
        f"{other['source_system']}:{other['source_record_id']}",
    )


def test_a_pair_no_rule_blocked_is_scored_and_said_so(sample_warehouse: Path) -> None:
    left, right = _non_candidate(sample_warehouse)
    explained = explain_pair(sample_warehouse, left, right)
    assert not explained.candidate
    assert explained.stored is None
    assert explained.blocking_rules == ()
    assert not explained.same_unified_id
    assert explained.match_probability == pytest.approx(
        float(probability_from_weight(np.array(explained.match_weight))[()]), abs=1e-4
    )
    assert "no blocking rule put them together" in explained.verdict()
    result = CliRunner().invoke(
        main, ["explain", left, right, "--warehouse", str(sample_warehouse)]
    )
    assert result.exit_code == 0, result.output
    assert "not a candidate pair: no blocking rule put them together" in result.output
    assert f"match weight {explained.match_weight:.4f}" in result.output
    for step in explained.steps:
        assert step.comparison in result.output


def test_cli_prints_the_waterfall_and_json(sample_warehouse: Path) -> None:
    row = next(r for r in _scored_sample(sample_warehouse) if r["decision"] == "match")
    args = ["explain", _key(row, "left"), _key(row, "right"), "--warehouse", str(sample_warehouse)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "candidate pair, found by blocking rules:" in result.output
    assert f"match weight {row['match_weight']:.4f}" in result.output
    assert "decision: match" in result.output
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["match_weight"] == row["match_weight"]
    assert document["candidate"] is True
    assert [s["comparison"] for s in document["steps"]][0] == "name"
    assert document["stored"]["decision"] == row["decision"]
    assert document["verdict"].startswith("merged")


@pytest.mark.parametrize(
    ("left", "right", "message"),
    [
        ("crm:NO-SUCH-ID", None, "record 'crm:NO-SUCH-ID' is not in the current release"),
        ("nosource:X", None, "record 'nosource:X' is not in the current release"),
        ("crm-without-colon", None, "expected SOURCE:RECORD_ID"),
        (None, None, "is given twice"),
    ],
)
def test_unknown_records_fail_in_one_line(
    sample_warehouse: Path, left: str | None, right: str | None, message: str
) -> None:
    known = _scored_sample(sample_warehouse)[0]
    left = left or _key(known, "left")
    right = right or _key(known, "left")
    result = CliRunner().invoke(
        main, ["explain", left, right, "--warehouse", str(sample_warehouse)]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("fusion explain failed: ")
    assert message in result.stderr


def test_mask_pii_masks_the_compared_contact_data(sample_warehouse: Path) -> None:
    row = next(r for r in _scored_sample(sample_warehouse) if r["email_level"] == "exact")
    left, right = _key(row, "left"), _key(row, "right")
    plain = {s.comparison: s for s in explain_pair(sample_warehouse, left, right).steps}
    masked = {
        s.comparison: s for s in explain_pair(sample_warehouse, left, right, mask_pii=True).steps
    }
    assert plain["email"].left_value is not None
    assert masked["email"].left_value != plain["email"].left_value
    assert "•••" in str(masked["email"].left_value)
    assert masked["city"] == plain["city"]  # not personal data
    assert [s.weight for s in masked.values()] == [s.weight for s in plain.values()]
    result = CliRunner().invoke(
        main, ["explain", left, right, "--warehouse", str(sample_warehouse), "--mask-pii"]
    )
    assert result.exit_code == 0, result.output
    assert str(plain["email"].left_value) not in result.output
    assert masked_step(plain["email"]) == masked["email"]


def test_a_missing_warehouse_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match="no published warehouse"):
        explain_pair(tmp_path, "crm:A", "crm:B")


def test_a_steward_decision_since_the_release_is_reported(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse"
    shutil.copytree(sample_warehouse, copy, symlinks=True)
    row = next(r for r in _scored_sample(copy) if r["decision"] == "review")
    left, right = _key(row, "left"), _key(row, "right")
    StewardshipStore(copy).record_link(
        right, left, decision="cannot_link", steward="ana", reason="different tax ids on paper"
    )
    explained = explain_pair(copy, left, right)
    assert explained.steward_decision is None
    assert explained.pending_steward_decision == "cannot_link"
    result = CliRunner().invoke(main, ["explain", left, right, "--warehouse", str(copy)])
    assert "steward: cannot_link recorded since this release; it applies from the next run" in (
        result.output
    )


def _toy_model(
    comparisons: tuple[Comparison, ...], *, reference: dict[str, float]
) -> FellegiSunterModel:
    """Hand-set m and u: agreement is rare by chance (u small at the top level)."""
    levels = []
    for comparison in comparisons:
        n = len(comparison.labels)
        m = [2.0**k for k in range(n)]
        u = [2.0 ** (n - k) for k in range(n)]
        levels.append(
            LevelParameters(
                comparison=comparison.name,
                labels=comparison.labels,
                m=tuple(x / sum(m) for x in m),
                u=tuple(x / sum(u) for x in u),
            )
        )
    return FellegiSunterModel(
        levels=tuple(levels), prior=0.01, em_iterations=0, term_frequency_reference=reference
    )


@pytest.mark.parametrize("with_reference", [True, False], ids=["reference", "older-model"])
def test_a_common_agreed_name_counts_for_less_than_a_rare_one(with_reference: bool) -> None:
    from matching.linkage import term_frequency_reference
    from matching.standardise import standardise
    from tests.matching.conftest import canonical_frame

    names = ["Michael Brown"] * 5 + ["Zebulon Quint"] * 2 + ["Ada Lovelace"]
    std = standardise(canonical_frame([{"name": n} for n in names]), default_regions={})
    comparisons = default_comparisons()
    reference = term_frequency_reference(std, comparisons) if with_reference else {}
    model = _toy_model(comparisons, reference=reference)

    def waterfall(left: int, right: int) -> Waterfall:
        return pair_waterfall(
            std, left, right, model=model, settings=MatchSettings(), comparisons=comparisons,
            name_vectors=run_name_vectors(std, statistics=None),
        )  # fmt: skip

    common, rare, different = waterfall(0, 1), waterfall(5, 6), waterfall(0, 7)
    for w in (common, rare, different):
        for step in w.steps:
            assert step.bayes_factor_log2 + step.tf_adjustment_log2 == pytest.approx(
                step.weight, abs=1e-3
            )
        assert w.steps[-1].cumulative_weight == pytest.approx(w.match_weight, abs=1e-3)
        # match_weight is rounded to 4 decimals, the probability computed before that.
        assert w.match_probability == pytest.approx(
            float(probability_from_weight(np.array(w.match_weight))[()]), abs=1e-4
        )
    assert common.steps[0].level == rare.steps[0].level == "exact_key"
    assert common.steps[0].bayes_factor_log2 == rare.steps[0].bayes_factor_log2
    # Five of eight records are 'Michael Brown', two 'Zebulon Quint'.
    assert common.steps[0].tf_adjustment_log2 < 0
    assert common.steps[0].tf_adjustment_log2 < rare.steps[0].tf_adjustment_log2
    assert common.match_weight < rare.match_weight
    assert different.steps[0].tf_adjustment_log2 == 0
    assert (common.steps[0].left_value, common.steps[0].right_value) == ("michael brown",) * 2


@pytest.mark.parametrize(
    ("decision", "same_cluster", "verdict"),
    [
        ("match", True, "merged as a match"),
        ("non_match", True, "merged through other records"),
        ("match", False, "scored a match (p="),
        ("review", False, "not merged: p="),
        ("non_match", False, "not merged: p="),
    ],
)
def test_the_verdict_follows_the_decision_and_the_clusters(
    sample_warehouse: Path, decision: str, same_cluster: bool, verdict: str
) -> None:
    evidence = _evidence(sample_warehouse).filter(
        (pl.col("decision") == decision)
        & (pl.col("same_cluster") == same_cluster)
        & pl.col("steward_decision").is_null()
    )
    if not evidence.height:
        pytest.skip(f"the samples have no {decision} pair with same_cluster={same_cluster}")
    row = evidence.sort(KEYS).row(0, named=True)
    explained = explain_pair(sample_warehouse, _key(row, "left"), _key(row, "right"))
    assert explained.same_unified_id == same_cluster
    assert explained.verdict().startswith(verdict), explained.verdict()


def test_a_declared_attribute_is_scored_stored_and_explained(samples_copy: Path) -> None:
    """A column outside the canonical schema, declared as an attribute, is one more comparison.

    The CRM's industry is also mapped as an attribute ``sector``: the run learns its
    weights, stores its level and weight per pair in match_evidence, and the
    recomputed waterfall shows it with the stored values.
    """
    from tests.pipelines.conftest import run_samples

    config = samples_copy / "fusion.yaml"
    text = config.read_text(encoding="utf-8")
    crm_trust = "    trust: {default: 0.8, tier: 0.7}\n"
    assert text.count(crm_trust) == 1
    sector = "    attributes:\n      sector: {column: industry, compare: exact}\n"
    config.write_text(text.replace(crm_trust, crm_trust + sector), encoding="utf-8")
    warehouse = samples_copy.parent / "warehouse"
    run_samples(warehouse, config)
    evidence = _evidence(warehouse)
    assert {"sector_level", "sector_weight"} <= set(evidence.columns)
    compared = evidence.filter(pl.col("sector_level").is_in(["exact", "different"]))
    assert compared.height > 0
    # Learnt, not left neutral (on the samples a shared industry is common among the CRM's
    # own distinct customers, so what it is worth is for EM to say, not this test).
    assert compared["sector_weight"].abs().max() > 0.1
    row = compared.sort(KEYS).row(0, named=True)
    explained = explain_pair(warehouse, _key(row, "left"), _key(row, "right"))
    step = next(step for step in explained.steps if step.comparison == "sector")
    assert (step.level, step.weight) == (row["sector_level"], row["sector_weight"])


def test_agreement_a_blocking_rule_implies_is_left_out_as_the_run_left_it(
    sample_warehouse: Path,
) -> None:
    """A pair only postcode rules found: its postcode agreement carried no weight in the run."""
    from matching.blocked_evidence import IMPLIED_BY_RULE, IMPLIED_LABEL

    evidence = _evidence(sample_warehouse)
    implying = [rule for rule, implied in IMPLIED_BY_RULE.items() if "postcode" in implied]
    found_so = evidence.filter(pl.col("blocking_rules").str.split(",").list.eval(
        pl.element().is_in(implying)).list.all() & (pl.col("postcode_level") == IMPLIED_LABEL)
    ).sort(KEYS)  # fmt: skip
    assert found_so.height > 0, "no sample pair was found by postcode rules alone"
    row = found_so.row(0, named=True)
    explained = explain_pair(sample_warehouse, _key(row, "left"), _key(row, "right"))
    postcode = next(step for step in explained.steps if step.comparison == "postcode")
    assert (postcode.level, postcode.weight, postcode.bayes_factor_log2) == (
        IMPLIED_LABEL,
        0.0,
        0.0,
    )
    assert explained.match_weight == row["match_weight"]
