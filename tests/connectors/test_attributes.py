"""Extra attributes: named columns with a comparison kind, carried by every source's records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.canonical import CANONICAL_SCHEMA
from connectors.config import parse_sources
from connectors.errors import ConfigError
from connectors.load import load_source
from tests.connectors.conftest import WriteCsv, base_entry


def entry(name: str, **overrides: Any) -> dict[str, Any]:
    return {**base_entry(), "name": name, "path": f"{name}.csv", **overrides}


PEOPLE = {
    "birth_place": {"column": "birthplace", "compare": "jaro_winkler"},
    "occupation": {"column": "job", "compare": "exact"},
}


def test_every_source_carries_every_attribute(tmp_path: Path, write_csv: WriteCsv) -> None:
    write_csv([["id", "name", "birthplace", "job"], ["P1", "Ann", " Leeds ", ""]], name="a.csv")
    write_csv(
        [["id", "name", "town", "first", "last"], ["Q1", "Bo", "York", "B", "Lee"]], name="b.csv"
    )
    sources = parse_sources(
        [
            entry("a", attributes=PEOPLE),
            entry(
                "b",
                attributes={
                    "birth_place": {"column": "town", "compare": "jaro_winkler"},
                    "own_code": {"template": "{first}-{last}", "compare": "levenshtein"},
                },
            ),
        ],
        base_dir=tmp_path,
    )
    assert sources.attribute_kinds() == {
        "birth_place": "jaro_winkler", "occupation": "exact", "own_code": "levenshtein",
    }  # fmt: skip
    columns = ["attribute_birth_place", "attribute_occupation", "attribute_own_code"]
    a, b = (load_source(s).records for s in sources)
    for records in (a, b):
        assert records.columns == [*CANONICAL_SCHEMA, *columns]
    assert a.select(columns).row(0) == ("Leeds", None, None)
    assert b.select(columns).row(0) == ("York", None, "B-Lee")
    assert '"attribute_own_code":"first+last"' in b["source_columns"].item()


def test_config_without_attributes_is_unchanged(tmp_path: Path) -> None:
    source = parse_sources([entry("a")], base_dir=tmp_path)[0]
    assert source.attribute_columns == ()
    assert "attributes" not in source.model_dump()


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [entry("a", attributes={"city": {"column": "c", "compare": "exact"}})],
            "source 'a': key 'attributes.city': 'city' is a canonical field",
        ),
        (
            [entry("a", attributes={"Birth Place": {"column": "c", "compare": "exact"}})],
            "source 'a': key 'attributes.Birth Place': 'Birth Place': use lower-case",
        ),
        (
            [entry("a", attributes={"job": {"column": "c", "compare": "soundex"}})],
            "source 'a': key 'attributes.job.compare': Input should be 'exact'",
        ),
        (
            [entry("a", attributes={"job": {"column": "c"}})],
            "source 'a': key 'attributes.job.compare': required key is missing",
        ),
        (
            [
                entry("a", attributes={"job": {"column": "c", "compare": "exact"}}),
                entry("b", attributes={"job": {"column": "c", "compare": "levenshtein"}}),
            ],
            "source 'b': key 'attributes.job.compare': 'levenshtein' differs from 'exact' "
            "in source 'a' (one kind per attribute)",
        ),
    ],
)
def test_attribute_errors(tmp_path: Path, entries: list[dict[str, Any]], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sources(entries, base_dir=tmp_path)
    assert str(info.value).startswith(expected), str(info.value)
