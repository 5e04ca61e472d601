"""matching.cluster_completion: a cluster joined mostly by paths gets all its pairs compared."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matching.attributes import run_comparisons
from matching.cluster_completion import COMPLETION_RULE, thin_clusters, uncompared_pairs
from matching.linkage import cluster_under_decisions, complete_thin_clusters
from matching.model import FellegiSunterModel, LevelParameters
from matching.semantic import TfidfCharNgramEmbedder, name_embedding_text
from matching.settings import ClusterSettings, MatchSettings
from matching.standardise import standardise
from tests.matching.conftest import canonical_frame


def _scored(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"left": [a for a, _ in pairs], "right": [b for _, b in pairs]},
        schema={"left": pl.UInt32, "right": pl.UInt32},
    )


@pytest.mark.parametrize(
    ("labels", "compared", "thin"),
    [
        # A chain of five: 4 of its 10 pairs compared.
        ([0, 0, 0, 0, 0], [(0, 1), (1, 2), (2, 3), (3, 4)], [0]),
        # Half of a chain of four's pairs compared is not fewer than half.
        ([0, 0, 0, 0], [(0, 1), (1, 2), (2, 3)], []),
        # A clique of four: every pair compared.
        ([0, 0, 0, 0], [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)], []),
        # Two records are always compared; a pair across clusters does not count.
        ([0, 0, 2, 2, 2, 2, 2], [(0, 1), (0, 2), (2, 3), (3, 4), (4, 5), (5, 6)], [2]),
    ],
)
def test_a_cluster_is_thin_when_fewer_than_half_of_its_pairs_were_compared(
    labels: list[int], compared: list[tuple[int, int]], thin: list[int]
) -> None:
    found = thin_clusters(
        np.array(labels), _scored(compared), min_records=3, compared_share=0.5, max_records=100
    )
    assert found["cluster"].to_list() == thin


def test_clusters_above_the_size_limit_are_not_completed() -> None:
    chain = _scored([(0, 1), (1, 2), (2, 3), (3, 4)])
    labels = np.zeros(5, dtype=np.int64)
    assert thin_clusters(labels, chain, min_records=3, compared_share=0.5, max_records=5).height
    assert thin_clusters(labels, chain, min_records=3, compared_share=0.5, max_records=4).is_empty()


def test_uncompared_pairs_are_those_of_the_thin_clusters_that_were_not_scored() -> None:
    labels = np.array([0, 0, 0, 3, 3, 3])
    pairs = uncompared_pairs(labels, _scored([(0, 1), (1, 2), (3, 4)]), pl.Series([0]))
    assert pairs.rows() == [(0, 2)]


def six_bit_model(comparisons: tuple) -> FellegiSunterModel:  # type: ignore[type-arg]
    """Every comparison: its lowest level -6 bits, its top level +6, the others 0.

    u gives each middle level 0.05 and splits the rest between the two ends 64:1,
    so m = u * 2**bits sums to one as it is: the weights are exactly these bits
    (normalising m afterwards would shift every level's weight).
    """
    levels = []
    for comparison in comparisons:
        n = len(comparison.labels)
        bits = np.zeros(n)
        bits[0], bits[-1] = -6.0, 6.0
        u = np.full(n, 0.05)
        ends = 1.0 - 0.05 * (n - 2)
        u[0], u[-1] = ends * 64 / 65, ends / 65
        m = u * np.exp2(bits)
        levels.append(
            LevelParameters(
                comparison=comparison.name,
                labels=tuple(comparison.labels),
                m=tuple(m),
                u=tuple(u),
            )
        )
    return FellegiSunterModel(levels=tuple(levels), prior=0.5, em_iterations=0)


def _chained_people() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Robert Frost (0, 1) and Robert Huw (3, 4), chained through a record naming 'Robert' (2).

    Blocking compared each person's own records and the partial record with one
    record of each; nothing compared Frost with Huw.
    """
    frost = {"name": "Robert Frost", "birth_date": "1793-01-01", "postcode": "NR20 5JQ"}
    huw = {"name": "Robert Huw", "birth_date": "1580-01-01", "postcode": "SA19 9UW"}
    rows = [frost, frost, {"name": "Robert"}, huw, huw]
    std = standardise(
        canonical_frame([{"customer_type": "person", **row} for row in rows]),
        default_regions={},
    )
    links = [(0, 1), (3, 4), (1, 2), (2, 3)]
    scored = _scored(links).with_columns(
        pl.lit(7.0).alias("name_weight"),
        pl.lit(7.0).alias("birth_date_weight"),
        pl.lit(14.0).alias("match_weight"),
        pl.lit(0.9999).alias("match_probability"),
        pl.lit("name_key").cast(pl.Categorical).alias("blocking_rules"),
    )
    return std, scored


def _completed(settings: MatchSettings) -> tuple[list[int], pl.DataFrame]:
    std, scored = _chained_people()
    comparisons = run_comparisons(settings)
    clustered = cluster_under_decisions(std, scored, steward_decisions=None, settings=settings)
    assert clustered.clusters["cluster"].to_list() == [0, 0, 0, 0, 0]  # the chain
    completed = complete_thin_clusters(
        std,
        clustered,
        name_vectors_of=lambda rows: TfidfCharNgramEmbedder().embed(name_embedding_text(std[rows])),
        model=six_bit_model(comparisons),
        comparisons=comparisons,
        settings=settings,
        tf_population=None,
        steward_decisions=None,
    )
    return completed.clusters["cluster"].to_list(), completed.scored_pairs


def test_people_chained_through_a_partial_name_are_split_once_compared() -> None:
    clusters, scored = _completed(MatchSettings())
    assert clusters[0] == clusters[1]
    assert clusters[3] == clusters[4]
    assert clusters[0] != clusters[3]
    added = scored.filter(pl.col("blocking_rules").cast(pl.String) == COMPLETION_RULE)
    # The six pairs blocking never proposed, scored and kept as evidence.
    assert added.select("left", "right").rows() == [
        (0, 2), (0, 3), (0, 4), (1, 3), (1, 4), (2, 4)
    ]  # fmt: skip
    frost_huw = added.filter((pl.col("left") == 0) & (pl.col("right") == 3))
    assert frost_huw["match_probability"].item() < 0.01  # the cannot-link that splits them


def test_completion_can_be_switched_off() -> None:
    settings = MatchSettings(clustering=ClusterSettings(complete_thin_clusters=False))
    clusters, scored = _completed(settings)
    assert clusters == [0, 0, 0, 0, 0]
    assert scored.height == 4


def test_completed_pairs_keep_one_chunk_layout_across_their_columns() -> None:
    """The appended pairs are a second chunk; a column added in one piece over them
    would make the next ``select`` copy every pair (0.4 GiB at 1M records)."""
    _, scored = _completed(MatchSettings())
    layouts = {tuple(scored.to_series(i).chunk_lengths()) for i in range(scored.width)}
    assert layouts == {(4, 6)}
