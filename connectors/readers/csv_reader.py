"""CSV reader: any codec, one pass, per-row failures.

Polars' and pyarrow's CSV readers stop at (or silently mangle) a bad row;
an export with one ragged line or one mis-encoded name must instead load
every good row and quarantine just that one, naming what is wrong with it.
So the text is decoded once with undecodable bytes marked, and the stdlib
``csv`` module splits records (quoted delimiters and line breaks, CRLF or LF).
"""

from __future__ import annotations

import csv
import io
import json
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


def read_csv(path: Path, *, encoding: str, delimiter: str) -> RawFrame:
    r"""Read a delimited text file into a raw frame.

    Blank lines are not records. A record whose field count differs from the
    header's, or whose cells hold bytes the codec rejects, becomes a failure;
    its ``raw`` is the cells as a JSON array (undecodable bytes as ``\xNN``).
    Good rows get ``raw`` = a JSON object of header -> cell.

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
        ([('C1', '甲, 乙')], ['expected 2 fields, found 1'])
    """
    text = decode_text(path.read_bytes(), encoding=encoding)
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        header = _header(next(records, []), encoding=encoding)
        check_bytes = has_undecodable(text)
        columns: list[list[str]] = [[] for _ in header]
        numbers: list[int] = []
        failures: list[tuple[int, str, str]] = []
        for cells in records:
            if not cells:
                continue
            number += 1
            reason = _row_problem(header, cells, encoding=encoding, check_bytes=check_bytes)
            if reason:
                raw = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
                failures.append((number, show_undecodable(raw), reason))
                continue
            numbers.append(number)
            for column, cell in zip(columns, cells, strict=True):
                column.append(cell)
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


def _header(cells: list[str], *, encoding: str) -> list[str]:
    """Column names; an empty header cell is named ``column_<position>``."""
    if has_undecodable("".join(cells)):
        msg = f"header is not valid {encoding}: check the source's 'encoding'"
        raise SourceReadError(msg)
    names = [cell or f"column_{position}" for position, cell in enumerate(cells, start=1)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        msg = f"header repeats column {', '.join(map(repr, repeated))}: mapping would be ambiguous"
        raise SourceReadError(msg)
    return names


def _row_problem(header: list[str], cells: list[str], *, encoding: str, check_bytes: bool) -> str:
    """Why a record cannot be read, or ``""`` when it can."""
    if len(cells) != len(header):
        return f"expected {len(header)} fields, found {len(cells)}"
    if check_bytes:
        bad = [name for name, cell in zip(header, cells, strict=True) if has_undecodable(cell)]
        return undecodable_reason(bad, encoding=encoding)
    return ""
