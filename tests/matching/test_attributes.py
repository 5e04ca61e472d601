"""Extra attributes: cleaned, compared per kind, learnt by the model like any field."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matching import MatchSettings, match_records, standardise
from matching.attributes import attribute_comparison, run_comparisons
from matching.comparisons import MISSING, PairFrame, default_comparisons
from matching.standardise.attributes import clean_attributes

from .conftest import canonical_frame


def _levels(kind: str, left: list[str | None], right: list[str | None]) -> list[int]:
    values = [*left, *right]
    std = clean_attributes(pl.LazyFrame({"attribute_x": values}, schema={"attribute_x": pl.String}))
    n = len(left)
    pairs = PairFrame.build(std.collect(), np.arange(n), np.arange(n, 2 * n), name_vectors=None)
    comparison = attribute_comparison("x", kind)
    levels = comparison.levels(pairs).tolist()
    assert all(level == MISSING or 0 <= level < len(comparison.labels) for level in levels)
    return levels


@pytest.mark.parametrize(
    ("kind", "left", "right", "expected"),
    [
        # text is folded before it is compared: case, spaces and full-width forms
        ("exact", [" Devon ", "devon", "Leeds", None, ""],
                  ["DEVON", "cornwall", "Ｌｅｅｄｓ", "leeds", "leeds"],
                  [1, 0, 1, MISSING, MISSING]),
        ("levenshtein", ["politician", "politician", "actor"],
                        ["politician", "politican", "painter"], [2, 1, 0]),
        # exact, two typos in a short word, unrelated
        ("jaro_winkler", ["devon", "devon", "devon", "devon"],
                         ["devon", "devn", "deovn", "kent"], [3, 2, 1, 0]),
        # read as birth dates are; a value that does not parse is missing, not different
        ("date", ["1630-08-01", "1630-08-01", "1630-08-01", "sometime"],
                 ["16300801", "1630-08-02", "1710-01-01", "1630-08-01"], [2, 1, 0, MISSING]),
        ("numeric", ["1,250", "100", "100", "n/a"],
                    ["1250", "105", "200", "100"], [2, 1, 0, MISSING]),
    ],
)  # fmt: skip
def test_each_kind_levels_pairs(
    kind: str, left: list[str | None], right: list[str | None], expected: list[int]
) -> None:
    assert _levels(kind, left, right) == expected


def test_attributes_follow_the_built_in_comparisons_and_leave_the_settings_json_alone() -> None:
    plain = MatchSettings()
    assert "attributes" not in plain.model_dump(mode="json")  # hashes of old configs hold
    assert run_comparisons(plain) == default_comparisons()
    declared = MatchSettings(attributes={"birth_place": "jaro_winkler", "occupation": "exact"})
    names = [c.name for c in run_comparisons(declared)]
    assert names == [*(c.name for c in default_comparisons()), "birth_place", "occupation"]
    assert declared.model_dump(mode="json")["attributes"] == {
        "birth_place": "jaro_winkler",
        "occupation": "exact",
    }
    with pytest.raises(ValueError, match="attributes"):
        MatchSettings(attributes={"x": "soundex"})


def _people(rng: np.random.Generator) -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    """Two records each of 200 people, and 25 namesakes: the namesakes' pairs.

    A person's records agree on birth date and birth place, mostly on postcode and
    e-mail, with a typo in one name. A namesake shares a person's name and birth
    date (a son named after his father, as in historical records) but was born
    elsewhere and carries no e-mail or postcode: only the birth place tells them apart.
    """
    places = [f"town{i}" for i in range(40)]
    rows: list[dict[str, object]] = []
    people = []
    for person in range(200):
        name = f"{chr(97 + person % 26)}{chr(97 + person // 26)}rik holm{person % 7}"
        date = f"19{person % 90 + 10}-{person % 12 + 1:02d}-{person % 27 + 1:02d}"
        place = places[int(rng.integers(len(places)))]
        people.append((name, date, place))
        for copy in range(2):
            rows.append(
                {
                    "source_record_id": f"p{person}-{copy}",
                    "customer_type": "person",
                    "name": name if copy == 0 else name.replace("holm", "hlom"),
                    "birth_date": date,
                    "postcode": f"{1000 + person}" if rng.random() < 0.8 else None,
                    "email": f"p{person}@mail{person % 5}.org" if rng.random() < 0.5 else None,
                    "attribute_birth_place": place,
                }
            )
    namesakes = set()
    for son in range(25):
        name, date, place = people[son * 8]
        elsewhere = places[(places.index(place) + 1 + son) % len(places)]
        rows.append(
            {
                "source_record_id": f"son{son}",
                "customer_type": "person",
                "name": name,
                "birth_date": date,
                "attribute_birth_place": elsewhere,
            }
        )
        namesakes |= {(f"p{son * 8}-0", f"son{son}"), (f"p{son * 8}-1", f"son{son}")}
    frame = canonical_frame(rows).with_columns(
        pl.Series("attribute_birth_place", [r["attribute_birth_place"] for r in rows])
    )
    return frame, namesakes


def _namesake_pairs(attributes: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame, namesakes = _people(np.random.default_rng(11))
    std = standardise(frame, default_regions={})
    result = match_records(std, settings=MatchSettings(attributes=attributes))
    ids = std.select("record_index", "source_record_id")
    scored = (
        result.scored_pairs.join(ids, left_on="left", right_on="record_index")
        .join(ids, left_on="right", right_on="record_index", suffix="_r")
        .with_columns(
            pl.struct("source_record_id", "source_record_id_r")
            .map_elements(
                lambda p: (
                    (p["source_record_id"], p["source_record_id_r"]) in namesakes
                    or (p["source_record_id_r"], p["source_record_id"]) in namesakes
                ),
                return_dtype=pl.Boolean,
            )
            .alias("namesake")
        )
    )
    return scored, result.clusters


def test_a_declared_attribute_is_learnt_and_weighs_against_namesakes() -> None:
    without, _ = _namesake_pairs({})
    scored, clusters = _namesake_pairs({"birth_place": "exact"})
    assert "birth_place_level" not in without.columns
    assert {"birth_place_level", "birth_place_weight"} <= set(scored.columns)
    weights = scored.group_by("birth_place_level").agg(pl.col("birth_place_weight").max())
    levels = weights["birth_place_level"].cast(pl.String)
    by_level = dict(zip(levels, weights["birth_place_weight"], strict=True))
    assert by_level["exact"] > 0 > by_level["different"]  # learnt, both ways
    before = without.filter("namesake")["match_weight"]
    after = scored.filter("namesake")["match_weight"]
    assert before.len() == after.len() == 50
    # Each namesake pair loses the learnt weight of a different birth place: here about
    # 2.3 bits, not enough against an exact name and birth date (p stays high), as it
    # should be: the attribute is evidence among the others, not a veto.
    assert (after - before).max() <= by_level["different"] + 0.5
    assert after.mean() < before.mean() - 1.0
    assert clusters["cluster"].n_unique() >= 200  # the people themselves are still found
