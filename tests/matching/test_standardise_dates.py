"""Birth dates: the export formats read, the dates refused, and idempotence."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.standardise import standardise
from matching.standardise.dates import normalise_birth_date, parse_birth_date_expr

from .conftest import canonical_frame

REGIONS = {"crm": "CN"}


@pytest.mark.parametrize(
    ("text", "birth_date", "valid"),
    [
        # Latin-script exports
        ("19560223", "1956-02-23", True),  # FEBRL, mainframes
        ("1956-02-23", "1956-02-23", True),
        ("1956/2/3", "1956-02-03", True),
        ("1956.02.23", "1956-02-23", True),
        ("23.02.1956", "1956-02-23", True),  # German, Russian CRMs
        ("3-2-1956", "1956-02-03", True),
        ("1956-02-23T00:00:00Z", "1956-02-23", True),
        ("1956-02-23 00:00:00", "1956-02-23", True),
        ("1956-02-23T08:00:00.000+08:00", "1956-02-23", True),  # the date as written
        (" 1956-02-23 ", "1956-02-23", True),
        ("２０００－０２－２９", "2000-02-29", True),  # full-width, folded by NFKC
        # Chinese exports
        ("1956年2月23日", "1956-02-23", True),
        ("1956 年 02 月 03 日", "1956-02-03", True),
        ("1990年1月2号", "1990-01-02", True),
        ("1990年1月2", "1990-01-02", True),
        ("1630-08-01", "1630-08-01", True),  # a historical person's, not a typo
        # impossible, implausible or ambiguous: text kept, flagged, never matched on
        ("19560230", "19560230", False),  # 30 February
        ("19561323", "19561323", False),  # month 13
        ("1900-02-29", "1900-02-29", False),  # 1900 was no leap year
        ("0956-01-01", "0956-01-01", False),
        ("02/23/1956", "02/23/1956", False),  # slashed day-first or month-first: unknowable
        ("1956年13月2日", "1956年13月2日", False),
        ("born 1956", "born 1956", False),
        # no date at all
        ("N/A", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_birth_date(text: str | None, birth_date: str | None, valid: bool | None) -> None:
    row = standardise(canonical_frame([{"name": "x", "birth_date": text}]), default_regions=REGIONS)
    assert row.select("birth_date", "birth_date_valid").row(0) == (birth_date, valid)


def test_parse_reads_each_row_by_its_own_format() -> None:
    texts = pl.Series("d", ["20000101", "01.02.2000", "2000年3月4日", "2000/05/06", "x"])
    parsed = pl.select(parse_birth_date_expr(pl.lit(texts)))["d"].to_list()
    assert parsed == ["2000-01-01", "2000-02-01", "2000-03-04", "2000-05-06", None]


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.dates().map(lambda d: d.strftime("%Y%m%d")),
            st.dates().map(lambda d: f"{d.year}年{d.month}月{d.day}日"),
            st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
            st.text(alphabet=st.sampled_from("0123456789-./年月日T:"), max_size=12),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_normalising_twice_changes_nothing(texts: list[str]) -> None:
    frame = pl.LazyFrame({"birth_date": texts}, schema={"birth_date": pl.String})
    once = normalise_birth_date(frame).collect()
    again = normalise_birth_date(once.lazy().select("birth_date")).collect()
    assert again.equals(once)
