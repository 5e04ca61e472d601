"""Incremental matching equals a full run on the final data, pair for pair."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from connectors import load_source
from matching import standardise
from matching.aliases import NameAliases
from matching.comparisons import default_comparisons
from matching.embedders import char_wb_tfidf
from matching.incremental import (
    MatchIndex,
    _implied_evidence_changed,
    match_in_full,
    match_incrementally,
)
from matching.name_idf import NameIdf, vectors_from_frame, vectors_to_frame
from matching.semantic import name_embedding_text
from matching.settings import MatchSettings
from pipelines.incremental import KEYS, with_content_hash
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG


def test_frozen_idf_equals_the_fitted_embedder_and_round_trips() -> None:
    texts = ["acme trading", "acme tradin", "zeta", "上海星辰贸易 | shanghai xingchen", "", None]
    idf = NameIdf.fit(texts)  # type: ignore[arg-type]
    vectors = idf.embed(texts)  # type: ignore[arg-type]
    assert (vectors != char_wb_tfidf(texts)).nnz == 0  # type: ignore[arg-type]
    assert (idf.embed(texts[2:4]) != vectors[2:4]).nnz == 0  # a row depends on its text alone
    stored = NameIdf.from_frame(idf.to_frame(), population=6, ngram_range=(2, 3))
    assert (stored.embed(texts) != vectors).nnz == 0  # type: ignore[arg-type]
    assert (vectors_from_frame(vectors_to_frame(vectors), width=idf.width) != vectors).nnz == 0
    unknown = idf.embed(["qqqq"])
    assert unknown.nnz == 0  # n-grams no fitted name held are ignored


def test_frozen_idf_equals_its_copy_and_not_other_statistics() -> None:
    """A release keeps its name statistics when they are the same values, copied or not."""
    texts = ["acme trading", "acme tradin", "zeta", "上海星辰贸易 | shanghai xingchen"]
    idf = NameIdf.fit(texts)
    assert idf.equals(pickle.loads(pickle.dumps(idf)))
    assert idf.equals(NameIdf.from_frame(idf.to_frame(), population=4, ngram_range=(2, 3)))
    assert not idf.equals(NameIdf.fit([*texts, "zeta holdings"]))
    assert not idf.equals(NameIdf.from_frame(idf.to_frame(), population=5, ngram_range=(2, 3)))


def test_fitting_and_embedding_at_once_equals_fitting_then_embedding() -> None:
    """A full run fits and embeds from one count: the same statistics, the same vectors."""
    texts = ["acme trading", "acme tradin", "zeta", "上海星辰贸易 | shanghai xingchen", "zeta", ""]
    statistics, vectors = NameIdf.fit_embed(texts)
    fitted = NameIdf.fit(texts)
    assert statistics.equals(fitted)
    assert vectors.shape == (len(texts), fitted.width)
    assert (vectors != fitted.embed(texts)).nnz == 0
    empty, none = NameIdf.fit_embed([])
    assert empty.width == 0
    assert none.shape == (0, 0)


@dataclass(frozen=True)
class Batch:
    before: pl.DataFrame
    after: pl.DataFrame
    decisions: pl.DataFrame


def _standardised(records: pl.DataFrame, regions: dict[str, str]) -> pl.DataFrame:
    hashed = with_content_hash(records)
    std = standardise(hashed.drop("content_hash"), default_regions=regions)
    return (
        std.drop("record_index")
        .join(hashed.select(*KEYS, "content_hash"), on=KEYS)
        .sort(KEYS)
        .with_row_index("record_index")
    )


@pytest.fixture(scope="module")
def batch() -> Batch:
    """The samples before and after a scripted batch: 5% new, 2% changed, 1% deleted."""
    config = load_fusion_config(SAMPLE_CONFIG)
    records = pl.concat([load_source(s).records for s in config.sources], how="vertical")
    order = np.random.default_rng(20261122).permutation(records.height)
    new, changed, deleted = np.split(order[: records.height * 8 // 100], [325, 455])
    row = pl.int_range(pl.len())
    before = records.filter(~row.is_in(new.tolist()))
    changed_ids = records[changed.tolist()].select(KEYS)
    after = (
        records.filter(~row.is_in(deleted.tolist()))
        .join(changed_ids.with_columns(pl.lit(True).alias("changed")), on=KEYS, how="left")
        .with_columns(
            pl.when(pl.col("changed")).then(pl.col("name") + " 2").otherwise("name").alias("name"),
            pl.when(pl.col("changed")).then(None).otherwise("email").alias("email"),
        )
        .drop("changed")
    )
    first, second = records.row(int(order[-1]), named=True), records.row(int(order[-2]), named=True)
    decisions = pl.DataFrame(
        {
            "left_source_system": [first["source_system"]],
            "left_source_record_id": [first["source_record_id"]],
            "right_source_system": [second["source_system"]],
            "right_source_record_id": [second["source_record_id"]],
            "decision": ["must_link"],
            "decided_at": ["2026-11-22T00:00:00Z"],
        }
    )
    regions = config.default_regions
    return Batch(_standardised(before, regions), _standardised(after, regions), decisions)


SETTINGS = {
    "default": MatchSettings(),
    # Small caps so that the batch pushes blocks over and under them and flips
    # which n-grams are distinctive.
    "tight caps": MatchSettings.model_validate(
        {
            "blocking": {
                "max_block_size": 4,
                "semantic_max_df": 6,
                "neighbourhood_max_cross_block": 2,
            }
        }
    ),
}


def _with_aliases(batch: Batch) -> MatchSettings:
    """An alias table joining names only the batch adds, or removes, to names it keeps."""
    before = set(batch.before["name_key"].drop_nulls().to_list())
    after = set(batch.after["name_key"].drop_nulls().to_list())
    kept = sorted(before & after)
    groups = [*zip(sorted(after - before)[:15], kept[:15], strict=True),
              *zip(sorted(before - after)[:15], kept[15:30], strict=True)]  # fmt: skip
    entries = {key: canonical for alias, canonical in groups for key in (alias, canonical)}
    return MatchSettings(
        name_aliases=NameAliases(source="test", entries=tuple(sorted(entries.items())))
    )


@pytest.mark.parametrize("name", [*SETTINGS, "name aliases"])
def test_incremental_matching_equals_a_full_run_on_the_final_data(batch: Batch, name: str) -> None:
    settings = SETTINGS[name] if name in SETTINGS else _with_aliases(batch)
    statistics = NameIdf.fit(name_embedding_text(batch.before))
    first = match_in_full(
        batch.before, settings=settings, statistics=statistics, steward_decisions=batch.decisions
    )
    index = MatchIndex(
        std=batch.before,
        scored_pairs=first.scored_pairs,
        name_vectors=first.name_vectors,
        neighbours=first.neighbours,
    )
    incremental = match_incrementally(
        batch.after,
        previous=index,
        settings=settings,
        statistics=statistics,
        model=first.model,
        steward_decisions=batch.decisions,
    )
    full = match_in_full(
        batch.after,
        settings=settings,
        statistics=statistics,
        model=first.model,
        steward_decisions=batch.decisions,
    )
    assert incremental.work["carried_pairs"] > 0  # something was actually reused
    # Pairs whose term-frequency share moved were reweighed from their stored levels.
    assert incremental.work["reweighed_pairs"] > 0
    assert incremental.scored_pairs.select(full.scored_pairs.columns).equals(full.scored_pairs)
    assert incremental.neighbours.equals(full.neighbours)
    assert incremental.clusters.equals(full.clusters)
    report = incremental.blocking_report.select("rule", "pairs", "new_pairs")
    assert report.equals(full.blocking_report.select(report.columns))
    if settings.name_aliases is not None:  # the table's pairs were there to update
        assert full.blocking_report.filter(pl.col("rule") == "name_alias")["pairs"].item() > 0


def test_a_carried_pair_found_by_other_rules_is_compared_again_when_they_imply_other_evidence() -> (
    None
):
    """Stored levels hold implied comparisons as 'implied': valid only under the same rules."""
    rules = ("name_key", "postcode_and_name_part", "birth_date", "email")
    bit = {rule: 1 << k for k, rule in enumerate(rules)}
    was = pl.DataFrame(
        {
            "left": [0, 1, 2, 3],
            "right": [10, 11, 12, 13],
            "was": [
                bit["name_key"] | bit["postcode_and_name_part"],  # postcode counted
                bit["name_key"] | bit["postcode_and_name_part"],
                bit["birth_date"],  # birth date implied
                bit["email"] | bit["birth_date"],
            ],
        },
        schema={"left": pl.UInt32, "right": pl.UInt32, "was": pl.UInt32},
    )
    candidates = was.select(
        "left",
        "right",
        pl.Series(
            "mask",
            [
                bit["postcode_and_name_part"],  # the name block went over its cap: now implied
                bit["name_key"] | bit["postcode_and_name_part"],  # unchanged
                bit["birth_date"] | bit["email"],  # now counted: the e-mail rule found it too
                bit["email"],  # another label, the same (nothing) implied
            ],
            dtype=pl.UInt32,
        ),
    )
    both = was.join(candidates, on=["left", "right"])
    changed = _implied_evidence_changed(both, rules=rules, comparisons=default_comparisons())
    assert sorted(changed["left"].to_list()) == [0, 2]
