"""Birth dates: ISO ``YYYY-MM-DD`` from the formats customer exports use.

Exports write a date of birth as ``19560223`` (FEBRL, many mainframes),
``1956-02-23``, ``1956/02/23``, ``23.02.1956`` (German and Russian CRMs),
``1956年2月23日`` (Chinese systems) or as an ISO datetime at midnight
(``1956-02-23T00:00:00Z``). All are read with Polars expressions: each format
is one row of ``DATE_FORMATS`` (a regex and which capture group holds the
year, month and day), the first that matches wins, and ``str.to_date`` rejects
impossible dates (30 February, month 13).

A date that does not parse keeps its cleaned text with ``birth_date_valid =
false``, as an invalid phone number does: the row and the value stay visible
in ``standardised_records``, and matching reads only valid dates. Day-first
slashed dates (``03/04/1990``) are not read: the same text is 3 April in
Europe and 4 March in the United States, and a wrong guess would make two
different birth dates agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class DateFormat:
    """One written form of a date: a full-match regex and its year, month, day groups."""

    name: str
    pattern: str
    year: int
    month: int
    day: int


# An optional time part of a datetime export ('T00:00:00Z', ' 00:00', '.000+08:00').
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"

DATE_FORMATS: tuple[DateFormat, ...] = (
    DateFormat("yyyymmdd", r"^(\d{4})(\d{2})(\d{2})$", 1, 2, 3),
    DateFormat("iso", rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$", 1, 2, 3),
    DateFormat("dd.mm.yyyy", r"^(\d{1,2})[.-](\d{1,2})[.-](\d{4})$", 3, 2, 1),
    DateFormat("chinese", r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$", 1, 2, 3),
)

# Years outside this range are typing errors (0956, 2956), not births. The floor is
# not the oldest living customer: an export of historical persons (Splink's
# historical_50k: 19,566 of 50,000 records born 1000-1849) must keep its dates,
# and a pre-1850 date typed for a modern one still disagrees with it as any typo does.
EARLIEST_YEAR = 1000
LATEST_YEAR = 2099


def parse_birth_date_expr(text: pl.Expr) -> pl.Expr:
    """ISO ``YYYY-MM-DD`` of a date written in one of ``DATE_FORMATS``, else null.

    Example:
        >>> df = pl.DataFrame({"d": ["19560223", "1956年2月23日", "23.02.1956", "19560230"]})
        >>> df.select(parse_birth_date_expr(pl.col("d")))["d"].to_list()
        ['1956-02-23', '1956-02-23', '1956-02-23', None]
    """
    candidates = []
    for fmt in DATE_FORMATS:
        parts = [
            text.str.extract(fmt.pattern, group).str.zfill(width)
            for group, width in ((fmt.year, 4), (fmt.month, 2), (fmt.day, 2))
        ]
        candidates.append(pl.concat_str(parts, separator="-"))
    date = pl.coalesce(candidates).str.to_date("%Y-%m-%d", strict=False)
    plausible = date.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR)
    return pl.when(plausible).then(date.dt.to_string("%Y-%m-%d"))


def normalise_birth_date(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: ``birth_date`` to ISO where it parses (``birth_date_valid``), else keep the text."""
    iso = parse_birth_date_expr(pl.col("birth_date"))
    return frame.with_columns(
        pl.coalesce(iso, pl.col("birth_date")).alias("birth_date"),
        pl.when(pl.col("birth_date").is_not_null())
        .then(iso.is_not_null())
        .alias("birth_date_valid"),
    )
