"""Reference data: country spellings in English and Chinese, head counts and band labels."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.canonical import SIZE_BANDS
from connectors.errors import ConfigError
from connectors.reference import bands_problem, normalise_country, normalise_head_count
from tests.connectors.conftest import LoadRows, MakeSource

COUNTRIES = [
    ("China", "CN"), ("PRC", "CN"), ("CN", "CN"), ("中国", "CN"), ("中國", "CN"), ("cn", "CN"),
    ("People's Republic of China", "CN"), ("中华人民共和国", "CN"),
    ("USA", "US"), ("US", "US"), ("U.S.A.", "US"), ("United States", "US"), ("美国", "US"),
    ("United States of America", "US"), ("美國", "US"),
    ("UK", "GB"), ("英国", "GB"), ("United Kingdom", "GB"), ("GBR", "GB"),
    ("Australia", "AU"), ("AUS", "AU"), ("澳大利亚", "AU"), ("澳大利亞", "AU"),
    ("  germany ", "DE"), ("德国", "DE"), ("Ｃｈｉｎａ", "CN"), ("新加坡", "SG"),
    ("Atlantis", None), ("", None), (None, None),
]  # fmt: skip


@pytest.mark.parametrize(("spelling", "expected"), COUNTRIES)
def test_country_names_and_codes_in_both_scripts(spelling: str | None, expected: str) -> None:
    value = pl.select(normalise_country(pl.lit(spelling, pl.String))).item()
    assert value == expected


HEAD_COUNTS = [
    ("85", "50-249"), ("1", "1-9"), ("9", "1-9"), ("10", "10-49"), ("249", "50-249"),
    ("1000", "1000+"), ("1,200", "1000+"), ("85人", "50-249"), ("85 employees", "50-249"),
    ("50-249", "50-249"), ("10-49人", "10-49"), ("10 - 49", "10-49"), ("5000人以上", "1000+"),
    ("2000+", "1000+"), ("20-30人", "10-49"),
    # Straddling two bands: the source's own label is kept as written.
    ("1-49人", "1-49人"), ("200-999人", "200-999人"), ("100-5000", "100-5000"),
    ("200人以上", "200人以上"),
]  # fmt: skip


@pytest.mark.parametrize(("cell", "expected"), HEAD_COUNTS)
def test_head_counts_and_band_labels(cell: str, expected: str) -> None:
    value, invalid = normalise_head_count(pl.lit(cell), bands=SIZE_BANDS)
    assert pl.select(value.alias("v"), invalid.alias("i")).row(0) == (expected, False)


@pytest.mark.parametrize("cell", ["lots", "0", "49-10", "n/a", "-5"])
def test_unreadable_head_counts_are_invalid(cell: str) -> None:
    value, invalid = normalise_head_count(pl.lit(cell), bands=SIZE_BANDS)
    assert pl.select(value.alias("v"), invalid.alias("i")).row(0) == (None, True)


def test_configured_bands(load_rows: LoadRows) -> None:
    bands = ["1-49", "50-199", "200-999", "1000+"]
    rows = [
        ["id", "name", "staff"],
        ["C1", "A", "85"],
        ["C2", "B", "200-999人"],
        ["C3", "C", "10-49"],
    ]
    batch = load_rows(
        rows, fields={"name": "name", "size_band": {"column": "staff", "bands": bands}}
    )
    assert batch.records["size_band"].to_list() == ["50-199", "200-999", "1-49"]


@pytest.mark.parametrize(
    ("bands", "problem"),
    [
        (["1-9", "10-49", "50+"], None),
        (["1-9", "20-49"], "band '20-49' must start at 10, right after '1-9'"),
        (["1-9", "10+", "50-99"], "band '10+' is open-ended, so it must be the last"),
        (["9-1"], "band '9-1' ends before it starts"),
        (["small"], "'small' is not a band like '10-49' or '1000+'"),
    ],
)
def test_bands_are_checked(bands: list[str], problem: str | None) -> None:
    assert bands_problem(bands) == problem


def test_bands_only_on_size_band(make_source: MakeSource) -> None:
    with pytest.raises(ConfigError, match=r"key 'fields.tier.bands': only valid on 'size_band'"):
        make_source(fields={"name": "n", "tier": {"column": "t", "bands": ["1-9"]}})


def test_map_first_then_reference_data(load_rows: LoadRows) -> None:
    rows = [
        ["id", "name", "land"],
        ["C1", "A", "Hongkong"],
        ["C2", "B", "美国"],
        ["C3", "C", "Mars"],
    ]
    fields: dict[str, Any] = {
        "name": "name",
        "country": {"column": "land", "map": {"Hongkong": "HK"}},
    }
    batch = load_rows(rows, fields=fields)
    assert batch.records["country"].to_list() == ["HK", "US", None]
    assert batch.value_rejections["value"].to_list() == ["Mars"]


def test_normalise_false_passes_the_text_through(load_rows: LoadRows) -> None:
    rows = [["id", "name", "land"], ["C1", "A", "中国"]]
    batch = load_rows(
        rows, fields={"name": "name", "country": {"column": "land", "normalise": False}}
    )
    assert batch.records["country"].item() == "中国"
