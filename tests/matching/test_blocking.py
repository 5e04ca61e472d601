"""Blocking rules: the sorted-neighbourhood index against recordlinkage's, caps, reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import recordlinkage

from matching.blocking import BlockingContext, block_on_sorted_name_neighbourhood
from matching.settings import BlockingSettings


def _context(names: list[str | None], **settings: int) -> BlockingContext:
    std = pl.DataFrame(
        {"record_index": np.arange(len(names), dtype=np.uint32), "name_latin": names},
        schema={"record_index": pl.UInt32, "name_latin": pl.String},
    )
    return BlockingContext(std=std, name_vectors=None, settings=BlockingSettings(**settings))


def _recordlinkage_pairs(names: list[str | None], window: int) -> set[tuple[int, int]]:
    frame = pd.DataFrame({"name": [(n or "").replace(" ", "") for n in names]})
    indexer = recordlinkage.Index()
    indexer.sortedneighbourhood("name", window=window)
    index = indexer.index(frame)
    has_name = frame["name"].to_numpy() != ""
    return {
        (min(a, b), max(a, b))
        for a, b in zip(index.get_level_values(0), index.get_level_values(1), strict=True)
        if has_name[a] and has_name[b]
    }


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("window", [3, 7])
def test_sorted_neighbourhood_equals_recordlinkage(seed: int, window: int) -> None:
    rng = np.random.default_rng(seed)
    vocabulary = ["wang wei", "wangwei", "li na", "zhang wei", "acme", "acmee", "zeta", None, ""]
    names = [vocabulary[i] for i in rng.integers(0, len(vocabulary), int(rng.integers(2, 40)))]
    outcome = block_on_sorted_name_neighbourhood(_context(names, neighbourhood_window=window))
    ours = set(outcome.pairs.unique().iter_rows())
    assert ours == _recordlinkage_pairs(names, window)


def test_sorted_neighbourhood_skips_oversized_names() -> None:
    names = ["wang wei"] * 5 + ["wang wen", "zeta"]
    outcome = block_on_sorted_name_neighbourhood(_context(names, max_block_size=4))
    pairs = set(outcome.pairs.unique().iter_rows())
    assert pairs == {(5, 6)}
    assert (outcome.skipped_blocks, outcome.skipped_records) == (1, 5)


def _std(rows: list[dict[str, object]]) -> pl.DataFrame:
    from matching import standardise

    from .conftest import canonical_frame

    return standardise(canonical_frame(rows), default_regions={"crm": "CN"})


@pytest.mark.parametrize(
    ("rule", "rows", "expected"),
    [
        ("tax_id", [{"name": "a", "tax_id": "2230673"}, {"name": "b", "tax_id": "2230673"},
                    {"name": "c", "tax_id": "9807797"}], {(0, 1)}),
        ("address_key", [{"name": "a", "address": "100 Market Street"},
                         {"name": "b", "address": "100 market st."},
                         {"name": "c", "address": "22 Oak Avenue"}], {(0, 1)}),
        ("postcode_and_name_initials", [
            {"name": "Tayla Green", "postcode": "2905"},
            {"name": "greecn tayla", "postcode": "2905"},
            {"name": "Mitchell Green", "postcode": "2119"},
            {"name": "Zed Brown", "postcode": "2905"}], {(0, 1)}),
        ("postcode_and_name_initials", [{"name": "王伟", "postcode": "200120"},
                                       {"name": "Wang Wei", "postcode": "200120"}], {(0, 1)}),
        ("birth_date", [{"name": "a", "birth_date": "19560223"},
                        {"name": "b", "birth_date": "1956年2月23日"},
                        {"name": "c", "birth_date": "23.02.1956"},
                        {"name": "d", "birth_date": "19560224"},
                        {"name": "e", "birth_date": "19560230"},
                        {"name": "f", "birth_date": "19560230"},
                        {"name": "g"}, {"name": "h"}], {(0, 1), (0, 2), (1, 2)}),
        # Same birth date and one name part: a nickname and a dropped surname still meet;
        # the same date without a name part in common does not.
        ("birth_date_and_name_part", [
            {"name": "Arthur Englefield", "birth_date": "1855-01-01"},
            {"name": "Art", "birth_date": "1855-01-01"},
            {"name": "Zed Brown", "birth_date": "1855-01-01"},
            {"name": "Artie Englefield", "birth_date": "1855-01-04"}], {(0, 1)}),
        ("postcode_and_name_part", [
            {"name": "Arthur Englefield", "postcode": "TS19 0SH"},
            {"name": "Art", "postcode": "TS19 0SH"},
            {"name": "Arthur Englefield", "postcode": "S6 6AB"},
            {"name": "Zed Brown", "postcode": "TS19 0SH"}], {(0, 1)}),
        # Two name parts in common, whatever the rest: 'artie englefield' / 'arthur
        # englefiwld'; one part ('art') is not enough.
        ("name_part_pairs", [
            {"name": "Artie Englefield"},
            {"name": "Arthur Englefiwld"},
            {"name": "Art"},
            {"name": "Englefield Zed"}], {(0, 1)}),
        # A valid number in any spelling; a well-formed number libphonenumber does not know
        # as assigned (a made-up or mistyped one, 55% of people_1m's) written twice; never a
        # short local number, whose area is unknown.
        ("phone", [{"name": "a", "phone": "138-0013-8000"},
                   {"name": "b", "phone": "+86 138 0013 8000"},
                   {"name": "c", "phone": "100-1234-5678"},
                   {"name": "d", "phone": "10012345678"},
                   {"name": "e", "phone": "123-4567"},
                   {"name": "f", "phone": "1234567"}], {(0, 1), (2, 3)}),
        # A company's contacts share its domain; two people on free mail share nothing.
        ("company_domain", [{"name": "郭明", "email": "guo.ming@ruikai-soft.cn"},
                            {"name": "上海瑞凯软件有限公司", "email": "sales@RUIKAI-soft.cn"},
                            {"name": "a", "email": "a@163.com"},
                            {"name": "b", "email": "b@163.com"},
                            {"name": "c", "email": "c@gmail.com"}], {(0, 1)}),
    ],
)  # fmt: skip
def test_key_rules(
    rule: str, rows: list[dict[str, object]], expected: set[tuple[int, int]]
) -> None:
    from matching.blocking import BLOCKING_RULES

    context = BlockingContext(std=_std(rows), name_vectors=None, settings=BlockingSettings())
    assert set(BLOCKING_RULES[rule](context).pairs.iter_rows()) == expected


def test_a_rule_keyed_on_name_parts_pairs_records_sharing_any_part_once() -> None:
    from matching.blocking import block_on_birth_date_and_name_part

    rows = [{"name": "Anna Maria Lee", "birth_date": "1990-05-05"},
            {"name": "Lee Anna", "birth_date": "1990-05-05"}]  # fmt: skip
    context = BlockingContext(std=_std(rows), name_vectors=None, settings=BlockingSettings())
    pairs = block_on_birth_date_and_name_part(context).pairs
    assert pairs.rows() == [(0, 1)]  # 'ann' and 'lee' both agree: one pair, not two


def test_sorted_neighbourhood_leaves_records_of_a_common_name_to_the_name_rules() -> None:
    names = ["wang wei"] * 4 + ["wang wen", "li na", "li na"]
    outcome = block_on_sorted_name_neighbourhood(
        _context(names, neighbourhood_max_cross_block=3, max_block_size=10)
    )
    pairs = set(outcome.pairs.unique().iter_rows())
    assert not any(left < 4 and right < 4 for left, right in pairs)  # 4 > 3: not paired here
    assert (5, 6) in pairs  # 'li na' x2 is small
    assert {(0, 4), (3, 4)} <= pairs  # the neighbouring rare name still meets every 'wang wei'


def test_name_blocks_over_the_name_cap_are_refined_by_city_then_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from matching.blocking import block_on_name_key, generate_candidates

    std = pl.DataFrame(
        {
            "record_index": np.arange(7, dtype=np.uint32),
            "name_key": ["wangwei"] * 7,
            "city_key": ["shanghai"] * 5 + ["beijing"] * 2,
        }
    )
    context = BlockingContext(
        std=std, name_vectors=None, settings=BlockingSettings(max_name_block_size=3)
    )
    outcome = block_on_name_key(context)
    assert set(outcome.pairs.iter_rows()) == {(5, 6)}  # Beijing's two fit, Shanghai's five do not
    assert (outcome.skipped_blocks, outcome.skipped_records) == (1, 5)
    with caplog.at_level("WARNING", logger="matching.blocking"):
        generate_candidates(
            std,
            name_vectors=None,
            settings=BlockingSettings(rules=("name_key",), max_name_block_size=3),
        )
    assert "blocking rule name_key: 1 blocks over the size cap skipped (5 records)" in caplog.text


def test_birth_date_blocks_over_the_name_cap_are_refined_by_postcode_then_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from matching.blocking import block_on_birth_date, generate_candidates

    # A default date that a CRM fills in for everyone, and three people born on one day.
    rows = [{"name": str(i), "birth_date": "1900-01-01", "postcode": "2000"} for i in range(5)]
    rows += [{"name": "ann", "birth_date": "1900-01-01", "postcode": p} for p in ("3000", "3000")]
    rows += [{"name": "bob", "birth_date": "1971-05-06", "postcode": p} for p in ("1", "2", "3")]
    std = _std(rows)
    settings = BlockingSettings(rules=("birth_date",), max_name_block_size=3)
    outcome = block_on_birth_date(BlockingContext(std=std, name_vectors=None, settings=settings))
    found = {tuple(std["name"].gather(list(p)).to_list()) for p in outcome.pairs.iter_rows()}
    assert found == {("ann", "ann"), ("bob", "bob")}
    assert outcome.pairs.height == 4  # the two at 3000, and the three of 1971-05-06
    assert (outcome.skipped_blocks, outcome.skipped_records) == (1, 5)
    with caplog.at_level("WARNING", logger="matching.blocking"):
        generate_candidates(std, name_vectors=None, settings=settings)
    assert "blocking rule birth_date: 1 blocks over the size cap skipped (5 records)" in caplog.text


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_union_of_rules_labels_and_counts_every_pair_by_the_rules_that_found_it(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packed-integer union against a set-based one, on rules with repeats and overlaps."""
    from matching import blocking
    from matching.blocking import RuleOutcome, generate_candidates

    rng = np.random.default_rng(seed)
    found: dict[str, list[tuple[int, int]]] = {}
    for rule in ("rule_a", "rule_b", "rule_c"):
        left = rng.integers(0, 40, size=60)
        right = left + rng.integers(1, 5, size=60)  # few distinct pairs: repeats and overlaps
        found[rule] = list(zip(left.tolist(), right.tolist(), strict=True))
        frame = pl.DataFrame({"left": left, "right": right}).cast(pl.UInt32)
        monkeypatch.setitem(
            blocking.BLOCKING_RULES,
            rule,
            lambda _ctx, f=frame: RuleOutcome(pairs=f, skipped_blocks=2),
        )
    rules = tuple(found)
    candidates = generate_candidates(
        pl.DataFrame(), name_vectors=None, settings=BlockingSettings(rules=rules)
    )
    every_pair = sorted({pair for pairs in found.values() for pair in pairs})
    expected_labels = [",".join(r for r in rules if pair in found[r]) for pair in every_pair]
    assert candidates.pairs.select("left", "right").rows() == every_pair
    assert candidates.pairs["blocking_rules"].to_list() == expected_labels
    first_rule = [next(r for r in rules if pair in found[r]) for pair in every_pair]
    assert candidates.report.select("rule", "pairs", "new_pairs", "skipped_blocks").rows() == [
        (rule, len(set(found[rule])), first_rule.count(rule), 2) for rule in rules
    ]
