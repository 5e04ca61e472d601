"""CSV reader: codecs, line endings, quoting, ragged rows and bad bytes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from connectors.config import parse_sources
from connectors.errors import SourceReadError
from connectors.load import load_source
from connectors.readers.csv_reader import _read_one_line_records, _read_records, read_csv

GB_HEADER = "客户编号,客户名称,客户等级\r\n"


def gb(text: str) -> bytes:
    return text.encode("gb18030")


@pytest.mark.parametrize(
    ("content", "encoding", "delimiter", "expected"),
    [
        pytest.param(
            gb(GB_HEADER + "E001,上海星辰科技有限公司,VIP\r\nE002,北京,STD\r\n"),
            "gb18030",
            ",",
            {
                "columns": ["客户编号", "客户名称", "客户等级"],
                "rows": [("E001", "上海星辰科技有限公司", "VIP"), ("E002", "北京", "STD")],
                "row_number": [1, 2],
            },
            id="gb18030-chinese-headers-crlf",
        ),
        pytest.param(
            "\ufeffid,name\nC1,Zoë\n".encode(),
            "utf-8",
            ",",
            {"columns": ["id", "name"], "rows": [("C1", "Zoë")], "row_number": [1]},
            id="utf8-bom-stripped",
        ),
        pytest.param(
            "\ufeffid,name\nC1,Zoë\n".encode(),
            "utf-8-sig",
            ",",
            {"columns": ["id", "name"], "rows": [("C1", "Zoë")], "row_number": [1]},
            id="utf8-sig",
        ),
        pytest.param(
            "id\tname\r\nC1\t李雷\r\n".encode("utf-16"),
            "utf-16",
            "\t",
            {"columns": ["id", "name"], "rows": [("C1", "李雷")], "row_number": [1]},
            id="utf16-bom-tab",
        ),
        pytest.param(
            "id;name\nC1;Müller GmbH\n".encode("latin-1"),
            "latin-1",
            ";",
            {"columns": ["id", "name"], "rows": [("C1", "Müller GmbH")], "row_number": [1]},
            id="latin1-semicolon",
        ),
        pytest.param(
            b'id,name,note\r\nC1,"Acme, Inc.","line one\r\nline two"\r\nC2,Beta,"say ""hi"""\r\n',
            "utf-8",
            ",",
            {
                "columns": ["id", "name", "note"],
                "rows": [("C1", "Acme, Inc.", "line one\r\nline two"), ("C2", "Beta", 'say "hi"')],
                "row_number": [1, 2],
            },
            id="quoted-delimiter-newline-quote",
        ),
        pytest.param(
            b"id,name\n\nC1,A\n\n\nC2,B",
            "utf-8",
            ",",
            {"columns": ["id", "name"], "rows": [("C1", "A"), ("C2", "B")], "row_number": [1, 2]},
            id="blank-lines-are-not-rows-no-final-newline",
        ),
        pytest.param(
            b"id,name,\nC1,A,\n",
            "utf-8",
            ",",
            {"columns": ["id", "name", "column_3"], "rows": [("C1", "A", "")], "row_number": [1]},
            id="empty-header-cell-named-by-position",
        ),
        pytest.param(
            b"id,name\r\n",
            "utf-8",
            ",",
            {"columns": ["id", "name"], "rows": [], "row_number": []},
            id="header-only",
        ),
        pytest.param(
            b"",
            "utf-8",
            ",",
            {"columns": [], "rows": [], "row_number": []},
            id="empty-file",
        ),
    ],
)
def test_read_csv_decodes_and_splits(
    tmp_path: Path, content: bytes, encoding: str, delimiter: str, expected: dict[str, Any]
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    frame = read_csv(path, encoding=encoding, delimiter=delimiter)
    assert frame.data.columns == expected["columns"]
    assert frame.data.rows() == expected["rows"]
    assert frame.row_number.to_list() == expected["row_number"]
    assert frame.failures.is_empty()
    assert frame.rows_in == len(expected["rows"])
    assert [json.loads(r) for r in frame.raw] == [
        dict(zip(expected["columns"], row, strict=True)) for row in expected["rows"]
    ]


@pytest.mark.parametrize(
    ("content", "encoding", "good_ids", "failures"),
    [
        pytest.param(
            gb(GB_HEADER + "E001,甲,VIP\r\nE002,乙,STD,多余\r\nE003\r\nE004,丁,PRO\r\n"),
            "gb18030",
            ["E001", "E004"],
            [
                (
                    2,
                    '["E002","乙","STD","多余"]',
                    "expected 3 fields, found 4 (1 extra value after '客户等级')",
                ),
                (3, '["E003"]', "expected 3 fields, found 1 (no value for '客户名称', '客户等级')"),
            ],
            id="ragged-rows",
        ),
        pytest.param(
            gb(GB_HEADER + "E001,甲,VIP\r\n") + b"E002,\x81\x20bad,STD\r\n" + gb("E003,丙,PRO\r\n"),
            "gb18030",
            ["E001", "E003"],
            [(2, '["E002","\\x81 bad","STD"]', "column '客户名称': bytes not valid gb18030")],
            id="gb18030-bad-byte-only-its-row",
        ),
        pytest.param(
            b"id,name,tier\nC1,ok,A\nC2,\xff,\xfe\nC3,fine,B\n",
            "utf-8",
            ["C1", "C3"],
            [
                (
                    2,
                    '["C2","\\xff","\\xfe"]',
                    "column 'name': bytes not valid utf-8; column 'tier': bytes not valid utf-8",
                )
            ],
            id="utf8-bad-bytes-two-columns",
        ),
        pytest.param(
            "id,name\nC1,A\n".encode("utf-16-le") + b"C\x00\x00\xd8,\x00B\x00\n\x00",
            "utf-16-le",
            ["C1"],
            [(2, '["C\\x00\\xd8","B"]', "column 'id': bytes not valid utf-16-le")],
            id="utf16-lone-surrogate",
        ),
    ],
)
def test_bad_rows_fail_alone(
    tmp_path: Path,
    content: bytes,
    encoding: str,
    good_ids: list[str],
    failures: list[tuple[int, str, str]],
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    frame = read_csv(path, encoding=encoding, delimiter=",")
    assert frame.data.to_series(0).to_list() == good_ids
    assert frame.failures.rows() == failures
    assert frame.rows_in == len(good_ids) + len(failures)
    assert sorted(frame.row_number.to_list() + frame.failures["row_number"].to_list()) == list(
        range(1, frame.rows_in + 1)
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,name,id\nC1,A,B\n", "header repeats column 'id'"),
        (b"id,n\xffme\nC1,A\n", "header is not valid utf-8: check the source's 'encoding'"),
    ],
)
def test_unusable_header_fails_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(SourceReadError, match=message):
        read_csv(path, encoding="utf-8", delimiter=",")


CELL_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    rows=st.integers(min_value=1, max_value=4).flatmap(
        lambda width: st.lists(st.lists(CELL_TEXT, min_size=width, max_size=width), max_size=6)
    ),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_reader_returns_exactly_the_cells_written(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], encoding: str, delimiter: str
) -> None:
    """Whatever the cells hold, they come back verbatim and every row is accounted for."""
    width = len(rows[0]) if rows else 2
    header = [f"c{i}" for i in range(width)]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
    path = tmp_path_factory.mktemp("prop") / "export.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    frame = read_csv(path, encoding=encoding, delimiter=delimiter)
    assert frame.data.columns == header
    assert frame.data.rows() == [tuple(row) for row in rows]
    assert frame.failures.is_empty()
    assert frame.rows_in == len(rows)
    assert [json.loads(r) for r in frame.raw] == [dict(zip(header, r, strict=True)) for r in rows]
    entry = {
        "name": "prop",
        "system": "other",
        "path": path.name,
        "format": "csv",
        "encoding": encoding,
        "delimiter": delimiter,
        "record_id": "c0",
        "fields": {"name": header[-1]},
        "trust": {"default": 0.5},
        "allow_empty": True,  # Hypothesis writes header-only files too
    }
    batch = load_source(parse_sources([entry], base_dir=path.parent)[0])
    assert batch.rows_in == len(rows) == batch.records.height + batch.quarantine.height


# Lines of an export as people and tools write them: plain, quoted (with
# delimiters, doubled quotes), ragged, blank, and a few broken ones.
FRAGMENT = st.sampled_from(
    [
        "a",
        "b c",
        "上海",
        "",
        " ",
        '"x,y"',
        '"say ""hi"""',
        'ab"c',
        '"q"r',
        '"open',
        "\x85",
        "\u2028",
    ]
)
LINE = st.lists(FRAGMENT, min_size=1, max_size=4)
BREAK = st.sampled_from(["\n", "\r\n", "\r"])


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    lines=st.lists(st.tuples(LINE, BREAK, st.booleans()), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";"]),
)
def test_one_line_records_read_as_the_record_by_record_reader_reads_them(
    lines: list[tuple[list[str], str, bool]], delimiter: str
) -> None:
    """The fast path gives the careful reader's result exactly, or declines."""
    text = "".join(("" if blank else delimiter.join(cells)) + end for cells, end, blank in lines)
    fast = _outcome(_read_one_line_records, text, delimiter)
    event("declined" if fast is None else "read by lines")
    if fast is None:
        return
    careful = _outcome(_read_records, text, delimiter)
    if isinstance(fast, str) or isinstance(careful, str):
        assert fast == careful  # the same error (a header repeating a name, say)
        return
    assert fast.data.equals(careful.data)
    assert fast.row_number.equals(careful.row_number)
    assert fast.raw.equals(careful.raw)
    assert fast.failures.equals(careful.failures)


def _outcome(reader: Any, text: str, delimiter: str) -> Any:
    """What a reader gives: its frame, None, or the message of the error it raises."""
    try:
        return reader(text, encoding="utf-8", delimiter=delimiter)
    except SourceReadError as error:
        return str(error)


def test_an_export_with_a_few_quoted_values_takes_the_fast_path() -> None:
    text = 'id,name,address\r\n1,Acme,"1 Main St, Suite 2"\r\n2,Zeta\r\n\r\n3,"Bo ""B""",x\r\n'
    fast = _read_one_line_records(text, encoding="utf-8", delimiter=",")
    assert fast is not None
    assert fast.data.rows() == [("1", "Acme", "1 Main St, Suite 2"), ("3", 'Bo "B"', "x")]
    assert fast.row_number.to_list() == [1, 3]
    assert fast.failures["reason"].to_list() == [
        "expected 3 fields, found 2 (no value for 'address')"
    ]
    # A quoted value broken over lines is left to the careful reader.
    assert _read_one_line_records('id,a\r\n1,"x\r\ny"\r\n', encoding="utf-8", delimiter=",") is None
