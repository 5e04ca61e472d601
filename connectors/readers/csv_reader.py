"""CSV reader: any codec, one pass, per-row failures.

Polars' and pyarrow's CSV readers stop at (or silently mangle) a bad row;
an export with one ragged line or one mis-encoded name must instead load
every good row and quarantine just that one, naming what is wrong with it.
So the text is decoded once with undecodable bytes marked, and the stdlib
``csv`` module splits records (quoted delimiters and line breaks, CRLF or LF).

A stray quote at the start of a cell makes the ``csv`` module read on,
across line breaks, until the next quote anywhere, swallowing whole records
into one cell. Such a record is recognised when its quoted value never closes
(it runs to the end of the file), or when both its first and its last line
hold a full record's worth of delimiters (each line is a record of its own; a
genuine multi-line value, such as an address, leaves one of them short). Only
the line with the stray quote is rejected ("unbalanced quote"); the lines
after it are read again as records.
"""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from connectors.errors import SourceReadError
from connectors.readers import (
    RawFrame,
    decode_text,
    failure_frame,
    has_undecodable,
    rows_as_json,
    show_undecodable,
    undecodable_reason,
)

# The csv module refuses cells over 128 KiB and fails the whole file. Splitting
# is not the place to judge a cell: mapping quarantines over-long values by
# name (connectors.canonical.MAX_VALUE_CHARS), so the splitter takes any size.
csv.field_size_limit(2**31 - 1)
QUOTE = '"'
# The ASCII unit separator: what the fast path splits cells on (see _read_one_line_records).
_UNIT = "\x1f"


def read_csv(path: Path, *, encoding: str, delimiter: str) -> RawFrame:
    r"""Read a delimited text file into a raw frame.

    Blank lines are not records. A record whose field count differs from the
    header's, whose cells hold bytes the codec rejects, or whose quote never
    closes becomes a failure; its ``raw`` is the cells as a JSON array
    (undecodable bytes as ``\xNN``). Good rows get ``raw`` = a JSON object of
    header -> cell.

    Args:
        path: The file.
        encoding: Any Python codec name; a byte-order mark is dropped.
        delimiter: The one-character field separator.

    Raises:
        SourceReadError: the header repeats a name, holds undecodable bytes,
            or the csv module cannot split the text.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = p.write_bytes("编号,名称\r\nC1,\"甲, 乙\"\r\nC2\r\n".encode("gb18030"))
        >>> frame = read_csv(p, encoding="gb18030", delimiter=",")
        >>> frame.data.rows(), frame.failures["reason"].to_list()
        ([('C1', '甲, 乙')], ["expected 2 fields, found 1 (no value for '名称')"])
    """
    text = decode_text(path.read_bytes(), encoding=encoding)
    fast = _read_one_line_records(text, encoding=encoding, delimiter=delimiter)
    return fast if fast is not None else _read_records(text, encoding=encoding, delimiter=delimiter)


def _read_records(text: str, *, encoding: str, delimiter: str) -> RawFrame:
    """``read_csv`` record by record: any quoting, stray quotes, undecodable bytes."""
    lines = _Lines(io.StringIO(text, newline=""))
    records = csv.reader(lines, delimiter=delimiter)
    number = 0
    try:
        # Blank lines before the header are not a header, as they are no record.
        header = _header(next((cells for cells in records if cells), []), encoding=encoding)
        if _unterminated(lines.take_record().text, delimiter=delimiter):
            msg = "the header has an unbalanced quote: its quoted name never closes"
            raise SourceReadError(msg)
        check_bytes = has_undecodable(text)
        columns: list[list[str]] = [[] for _ in header]
        numbers: list[int] = []
        failures: list[tuple[int, str, str]] = []
        for cells in records:
            span = lines.take_record()
            if not cells:
                continue
            number += 1
            stray = _stray_quote(span, header, delimiter=delimiter, at_end=lines.exhausted())
            if stray:
                # Reject the line that opened the quote; read the lines after it again.
                lines.push_back(span.lines[1:], first_number=span.first + 1)
                raw = span.lines[0].rstrip("\r\n")
                failures.append((number, show_undecodable(raw), stray))
                continue
            reason = _row_problem(header, cells, span, encoding=encoding, check_bytes=check_bytes)
            if reason:
                raw = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
                failures.append((number, show_undecodable(raw), reason))
                continue
            numbers.append(number)
            for column_values, cell in zip(columns, cells, strict=True):
                column_values.append(cell)
    except csv.Error as exc:
        msg = f"record {number + 1}: {exc}"
        raise SourceReadError(msg) from exc
    data = pl.DataFrame(
        dict(zip(header, columns, strict=True)), schema=dict.fromkeys(header, pl.String)
    )
    return RawFrame(
        data=data,
        row_number=pl.Series("row_number", numbers, dtype=pl.Int64),
        raw=rows_as_json(data),
        failures=failure_frame(failures),
    )


def _read_one_line_records(text: str, *, encoding: str, delimiter: str) -> RawFrame | None:
    """``read_csv``'s result, when every record is one line; None when one may not be.

    Most exports quote only a few values and never break a line inside one.
    Then a line is a record: lines without a quote are split on the
    delimiter by polars all at once, and the csv module reads only the quoted
    lines. The result is the record-by-record reader's, row for row (tested on
    random texts). None, and the careful reader takes the file, when a quoted
    value is still open at the end of its line (it may span lines, or be a
    stray quote), or when the text holds undecodable bytes or NUL characters.
    """
    if has_undecodable(text) or "\x00" in text or _UNIT in text:
        return None
    # The line breaks of a StringIO with newline="": \r\n, \r and \n.
    physical = (
        pl.Series("line", [text])
        .str.replace_all("\r\n", "\n", literal=True)
        .str.replace_all("\r", "\n", literal=True)
        .str.split("\n")
        .explode()
    )
    records = physical.filter(physical != "").to_frame().with_row_index("number")
    if records.is_empty():
        return None  # no header: the careful reader says what is wrong
    header_line = records["line"][0]
    if _unterminated(header_line, delimiter=delimiter):
        return None
    header = _header(next(csv.reader([header_line], delimiter=delimiter)), encoding=encoding)
    body = records.slice(1)
    # Cells are split on a separator no cell holds: the delimiter in unquoted
    # lines, and the csv module's cells of each quoted line joined with it.
    lines = body["line"]
    quoted = lines.str.contains(QUOTE, literal=True).arg_true()
    joined = []
    for line in lines.gather(quoted):
        if _unterminated(line, delimiter=delimiter):
            return None
        joined.append(_UNIT.join(next(csv.reader([line], delimiter=delimiter))))
    split = (
        lines.str.replace_all(delimiter, _UNIT, literal=True)
        .scatter(quoted, pl.Series(joined, dtype=pl.String))
        .str.split(_UNIT)
    )
    cells = body.select("number", split.alias("cells"), split.list.len().alias("fields"))
    good = cells.filter(pl.col("fields") == len(header))
    failures = [
        (number, json.dumps(row, ensure_ascii=False, separators=(",", ":")),
         _row_problem(header, row, _Span([""]), encoding=encoding, check_bytes=False))
        for number, row in cells.filter(pl.col("fields") != len(header))
        .select("number", "cells")
        .iter_rows()
    ]  # fmt: skip
    data = good.select(
        pl.col("cells").list.get(position).alias(name) for position, name in enumerate(header)
    )
    return RawFrame(
        data=data,
        row_number=good["number"].cast(pl.Int64).alias("row_number"),
        raw=rows_as_json(data),
        failures=failure_frame(failures),
    )


@dataclass
class _Span:
    """The physical lines of one record and where they are in the file (1-based)."""

    lines: list[str] = field(default_factory=list)
    first: int = 0

    @property
    def last(self) -> int:
        return self.first + len(self.lines) - 1

    @property
    def text(self) -> str:
        return "".join(self.lines)


class _Lines(Iterator[str]):
    """The file's physical lines, fed to ``csv.reader`` one at a time.

    The reader never reads ahead of the record it returns, so the lines taken
    since the last record are exactly that record's lines; lines can be pushed
    back to be read again.
    """

    def __init__(self, source: io.StringIO) -> None:
        self._source = source
        self._pending: deque[tuple[int, str]] = deque()
        self._next_number = 1
        self._span = _Span()

    def __next__(self) -> str:
        if self._pending:
            number, line = self._pending.popleft()
        else:
            line = self._source.readline()
            if not line:
                raise StopIteration
            number = self._next_number
            self._next_number += 1
        if not self._span.lines:
            self._span.first = number
        self._span.lines.append(line)
        return line

    def exhausted(self) -> bool:
        """Whether every line has been read."""
        if self._pending:
            return False
        position = self._source.tell()
        more = self._source.readline()
        self._source.seek(position)
        return not more

    def take_record(self) -> _Span:
        """The lines read since the previous call."""
        span, self._span = self._span, _Span()
        return span

    def push_back(self, lines: list[str], *, first_number: int) -> None:
        """Make ``lines`` the next lines read, numbered from ``first_number``."""
        numbered = [(first_number + i, line) for i, line in enumerate(lines)]
        self._pending.extendleft(reversed(numbered))


def _unterminated(text: str, *, delimiter: str) -> bool:
    """Whether a quoted cell is still open at the end of ``text``.

    Follows the csv module's default dialect: a quote opens a quoted cell only
    at the start of a cell, ``""`` inside it is a literal quote, and text after
    the closing quote is kept (non-strict mode).
    """
    position = 0
    while (opening := text.find(QUOTE, position)) >= 0:
        position = opening + 1
        if opening > 0 and text[opening - 1] not in (delimiter, "\n", "\r"):
            continue  # a literal quote inside an unquoted cell
        while True:
            closing = text.find(QUOTE, position)
            if closing < 0:
                return True
            if not text.startswith(QUOTE, closing + 1):
                break
            position = closing + 2
        position = closing + 1
    return False


def _stray_quote(span: _Span, header: list[str], *, delimiter: str, at_end: bool) -> str:
    """The reason to reject a record's first line for a stray quote, or ``""``.

    An open quote runs to the end of the file, so only the last record can
    have one (``at_end``); a quote closed by another stray quote lines later
    shows as first and last lines that are each a whole record.
    """
    if at_end and _unterminated(span.text, delimiter=delimiter):
        effect = "the quoted value never closes"
    elif len(span.lines) > 1 and all(
        line.count(delimiter) >= max(len(header) - 1, 1) for line in (span.lines[0], span.lines[-1])
    ):
        effect = f"its quoted value would run on to file line {span.last}"
    else:
        return ""
    position = max(len(next(csv.reader([span.lines[0]], delimiter=delimiter), [""])), 1)
    where = f"column {header[position - 1]!r}" if position <= len(header) else f"field {position}"
    return f"{where}: unbalanced quote ({effect})"


def _header(cells: list[str], *, encoding: str) -> list[str]:
    """Column names; an empty header cell is named ``column_<position>``."""
    if has_undecodable("".join(cells)):
        msg = f"header is not valid {encoding}: check the source's 'encoding'"
        raise SourceReadError(msg)
    if "\x00" in "".join(cells):
        msg = f"header holds NUL characters (UTF-16 read as {encoding}?): check 'encoding'"
        raise SourceReadError(msg)
    names = [cell or f"column_{position}" for position, cell in enumerate(cells, start=1)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        msg = f"header repeats column {', '.join(map(repr, repeated))}: mapping would be ambiguous"
        raise SourceReadError(msg)
    return names


def _row_problem(
    header: list[str], cells: list[str], span: _Span, *, encoding: str, check_bytes: bool
) -> str:
    """Why a record cannot be read, or ``""`` when it can."""
    if len(cells) != len(header):
        if len(cells) < len(header):
            detail = f"no value for {', '.join(map(repr, header[len(cells) :]))}"
        else:
            extra = len(cells) - len(header)
            detail = f"{extra} extra value{'s' if extra > 1 else ''} after {header[-1]!r}"
        if len(span.lines) > 1:
            # A quoted line break, or a stray quote that swallowed the next lines.
            detail += f"; the record spans file lines {span.first}-{span.last}"
        return f"expected {len(header)} fields, found {len(cells)} ({detail})"
    if check_bytes:
        bad = [name for name, cell in zip(header, cells, strict=True) if has_undecodable(cell)]
        return undecodable_reason(bad, encoding=encoding)
    return ""
