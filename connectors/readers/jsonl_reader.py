"""JSON Lines reader: one object per line, nested objects as dotted paths.

E-commerce exports nest (``{"customer": {"name": ...}}``); the config maps
``customer.name``. Flattening here keeps mapping format-agnostic. A broken
line is a failure with the JSON error, the other lines still load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from connectors.readers import (
    RawFrame,
    decode_text,
    failure_frame,
    has_undecodable,
    show_undecodable,
    undecodable_reason,
)

_JSON_TYPES: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


# Deeper nesting is no customer record; Python's json module gives up near 1000.
MAX_DEPTH = 32
# A byte-order mark at the start of a line (two exports concatenated) is no part of the record:
# json rejects it ("Unexpected UTF-8 BOM"), which quarantined the row with no readable ID and
# retired its customer. It is skipped before parsing; the raw line keeps it.
_LINE_START = " \t\ufeff"


class _LineError(ValueError):
    """A line that is valid JSON text but not a readable record."""


def read_jsonl(path: Path, *, encoding: str) -> RawFrame:
    """Read a JSON Lines file into a raw frame.

    ``row_number`` is the physical line number; blank lines are not rows.
    Strings stay as they are, other scalars become their JSON text (``true``,
    ``13800138000``), lists become JSON text, null stays null. Columns are the
    union of the paths of all rows, in first-seen order.

    Args:
        path: The file.
        encoding: Any Python codec name (JSON Lines is normally UTF-8).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.jsonl"
        >>> _ = p.write_text('{"id": 1, "customer": {"name": "Ann"}}\\n\\n[1]\\n')
        >>> frame = read_jsonl(p, encoding="utf-8")
        >>> frame.data.rows(), frame.failures.rows()
        ([('1', 'Ann')], [(3, '[1]', 'expected a JSON object, found an array')])
    """
    text = decode_text(path.read_bytes(), encoding=encoding)
    check_bytes = has_undecodable(text)
    columns: dict[str, list[str | None]] = {}
    numbers: list[int] = []
    raws: list[str] = []
    failures: list[tuple[int, str, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            row = _parse_line(line.lstrip(_LINE_START))
        except ValueError as exc:
            failures.append((number, show_undecodable(line), str(exc)))
            continue
        if check_bytes and has_undecodable(line):
            # The bytes may sit in a key of an empty object, which flattening drops.
            bad = _undecodable_paths(row)
            reason = (
                undecodable_reason(bad, encoding=encoding)
                if bad
                else f"bytes not valid {encoding} in a key or an empty object"
            )
            failures.append((number, show_undecodable(line), reason))
            continue
        seen = len(numbers)
        for key, value in row.items():
            columns.setdefault(key, [None] * seen).append(value)
        for column in columns.values():
            if len(column) == seen:
                column.append(None)
        numbers.append(number)
        raws.append(line)
    return RawFrame(
        data=pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)),
        row_number=pl.Series("row_number", numbers, dtype=pl.Int64),
        raw=pl.Series("raw", raws, dtype=pl.String),
        failures=failure_frame(failures),
    )


def _parse_line(line: str) -> dict[str, str | None]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON: {exc}"
        raise _LineError(msg) from None
    except RecursionError:
        raise _LineError("invalid JSON: nested too deeply to read") from None
    if not isinstance(value, dict):
        msg = f"expected a JSON object, found {_JSON_TYPES[type(value)]}"
        raise _LineError(msg)
    flat: dict[str, str | None] = {}
    _flatten(value, prefix="", into=flat, depth=1)
    return flat


def _undecodable_paths(row: dict[str, str | None]) -> list[str]:
    return [k for k, v in row.items() if has_undecodable(k) or (v and has_undecodable(v))]


def _flatten(obj: dict[str, Any], *, prefix: str, into: dict[str, str | None], depth: int) -> None:
    if depth > MAX_DEPTH:
        msg = f"objects nested too deeply (more than {MAX_DEPTH} levels, at {prefix[:-1]!r})"
        raise _LineError(msg)
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, prefix=f"{path}.", into=into, depth=depth + 1)
            continue
        if path in into:
            msg = f"path {path!r} appears twice once nested objects are flattened"
            raise _LineError(msg)
        into[path] = _as_text(value)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
