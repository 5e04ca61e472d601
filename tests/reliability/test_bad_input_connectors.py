"""Broken exports at the connector level: one table of cases, one assertion routine.

Each case is a file (bytes, exactly as a broken export would arrive), the
source entry that reads it, and what must come out: the record ids that load,
and for every other row its row number and a reason naming the column (or
JSON path); or, when the file as a whole is unusable, the one-line error.
Every case also checks that no row is lost: rows_in = records + quarantine.
The same inputs go through the whole pipeline in test_bad_input_pipeline.py.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors import (
    ConfigError,
    FusionError,
    SchemaDriftError,
    SourceReadError,
    load_source,
    parse_sources,
)

HEADER = "id,name,email,tier,changed\n"
# Control characters (binary data) and the marks of undecodable bytes.
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")
GOOD = "2024-05-01T10:00:00Z"
TEN_MB = 10 * 1024 * 1024
EMPTY = (
    r"^source 'crm': .*/export\.csv has no data rows \(empty or header only\); "
    r"set 'allow_empty: true' on the source if it may be empty$"
)


def csv_entry(**overrides: Any) -> dict[str, Any]:
    """A CSV source: name/email/tier (mapped) and an ISO timestamp."""
    entry: dict[str, Any] = {
        "name": "crm",
        "system": "crm",
        "path": "export.csv",
        "format": "csv",
        "record_id": "id",
        "updated_at": {"column": "changed", "format": "iso"},
        "fields": {
            "name": "name",
            "email": "email",
            "tier": {"column": "tier", "map": {"Gold": "S", "Silver": "A"}},
        },
        "trust": {"default": 0.8},
    }
    return {**entry, **overrides}


def jsonl_entry(**overrides: Any) -> dict[str, Any]:
    """A JSON Lines source with nested customer fields."""
    entry: dict[str, Any] = {
        "name": "shop",
        "system": "ecommerce",
        "path": "orders.jsonl",
        "format": "jsonl",
        "record_id": "id",
        "updated_at": {"column": "updated_ms", "format": "epoch_ms"},
        "fields": {"name": "customer.name", "email": "customer.email", "city": "address.city"},
        "trust": {"default": 0.7},
    }
    return {**entry, **overrides}


def rows(*lines: str) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


def jl(*objects: Any) -> str:
    return "".join(
        (o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objects
    )


def customer(rid: str, name: str = "Acme", **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "customer": {"name": name, "email": f"{rid.lower()}@x.com"},
        "address": {"city": "Shanghai"},
        "updated_ms": 1714557600000,
        **extra,
    }


def garbage(size: int, *, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({"id": ["C1"], "name": ["Acme"]}).write_excel(buffer)
    return buffer.getvalue()


def _zipped_csv() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.csv", rows(f"C1,Acme,a@x.com,Gold,{GOOD}"))
    return buffer.getvalue()


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({"id": ["C1"], "name": ["Acme"]}).write_parquet(buffer)
    return buffer.getvalue()


XLSX = _xlsx()
ZIPPED_CSV = _zipped_csv()
PARQUET = _parquet()


@dataclass(frozen=True)
class Case:
    """One broken export and what loading it must give."""

    content: bytes
    entry: dict[str, Any] = field(default_factory=csv_entry)
    records: tuple[str, ...] = ()
    # (row_number, text the reason contains), in row order.
    quarantine: tuple[tuple[int, str], ...] = ()
    # Values dropped from kept records: (record id, column, text the reason contains).
    rejected: tuple[tuple[str, str, str], ...] = ()
    error: tuple[type[FusionError], str] | None = None


CASES: dict[str, Case] = {
    # --- malformed CSV rows --------------------------------------------------------------
    "unbalanced-quote-to-end-of-file": Case(
        rows(
            f"C1,Acme,a@x.com,Gold,{GOOD}",
            f'C2,"Beta,b@x.com,Gold,{GOOD}',
            f"C3,Gamma,c@x.com,Silver,{GOOD}",
            f"C4,Delta,d@x.com,,{GOOD}",
        ).encode(),
        records=("C1", "C3", "C4"),
        quarantine=((2, "column 'name': unbalanced quote"),),
    ),
    "unbalanced-quote-in-last-column": Case(
        rows(
            f"C1,Acme,a@x.com,Gold,{GOOD}",
            f'C2,Beta,b@x.com,Gold,"{GOOD}',
            f"C3,Gamma,c@x.com,Silver,{GOOD}",
        ).encode(),
        records=("C1", "C3"),
        quarantine=((2, "column 'changed': unbalanced quote"),),
    ),
    "stray-quote-closed-by-another": Case(
        rows(
            f"C1,Acme,a@x.com,Gold,{GOOD}",
            f'C2,"Beta,b@x.com,Gold,{GOOD}',
            f"C3,Gamma,c@x.com,Silver,{GOOD}",
            f'C4,Del"ta,d@x.com,,{GOOD}',
            f"C5,Eps,e@x.com,,{GOOD}",
        ).encode(),
        # To the csv module C2..C4 are one valid record; each line is a record of its own.
        records=("C1", "C3", "C4", "C5"),
        quarantine=(
            (2, "column 'name': unbalanced quote (its quoted value would run on to file line 5)"),
        ),
    ),
    "stray-quote-on-the-next-line": Case(
        rows(
            f"C1,Acme,a@x.com,Gold,{GOOD}",
            f'C2,"Beta,b@x.com,Gold,{GOOD}',
            f'C3,Gam"ma,c@x.com,Silver,{GOOD}',
        ).encode(),
        records=("C1", "C3"),
        quarantine=(
            (2, "column 'name': unbalanced quote (its quoted value would run on to file line 4)"),
        ),
    ),
    "quotes-that-swallow-part-of-a-line": Case(
        rows(
            f"C1,Acme,a@x.com,Gold,{GOOD}",
            'C2,"Beta,b@x.com',
            f'Gold",{GOOD},x',
            f"C3,Gamma,c@x.com,,{GOOD}",
        ).encode(),
        # Neither line is a record of its own: they stay one record, rejected whole.
        records=("C1", "C3"),
        quarantine=(
            (
                2,
                "expected 5 fields, found 4 (no value for 'changed'; "
                "the record spans file lines 3-4)",
            ),
        ),
    ),
    "extra-column": Case(
        rows(f"C1,Acme,a@x.com,Gold,{GOOD}", f"C2,Beta,b@x.com,Gold,{GOOD},surplus").encode(),
        records=("C1",),
        quarantine=((2, "expected 5 fields, found 6 (1 extra value after 'changed')"),),
    ),
    "missing-columns": Case(
        rows(f"C1,Acme,a@x.com,Gold,{GOOD}", "C2,Beta,b@x.com").encode(),
        records=("C1",),
        quarantine=((2, "expected 5 fields, found 3 (no value for 'tier', 'changed')"),),
    ),
    "embedded-newlines-are-one-record": Case(
        rows(
            f'C1,"Acme\nTrading",a@x.com,Gold,{GOOD}',
            f'C2,"Beta\r\nLtd",b@x.com,,{GOOD}',
            f"C3,Gamma,c@x.com,,{GOOD}",
        ).encode(),
        records=("C1", "C2", "C3"),
    ),
    "crlf-and-mixed-line-endings": Case(
        (
            HEADER.replace("\n", "\r\n") + f"C1,Acme,a@x.com,Gold,{GOOD}\r\n"
            f"C2,Beta,b@x.com,,{GOOD}\nC3,Gamma,c@x.com,,{GOOD}\rC4,Delta,,,\r\n"
        ).encode(),
        records=("C1", "C2", "C3", "C4"),
    ),
    # --- encodings -----------------------------------------------------------------------
    "gb18030-rows-declared-utf8": Case(
        rows(f"C1,Acme,a@x.com,Gold,{GOOD}").encode()
        + f"C2,上海星辰科技有限公司,b@x.com,Gold,{GOOD}\n".encode("gb18030")
        + f"C3,Gamma,c@x.com,,{GOOD}\n".encode(),
        records=("C1", "C3"),
        quarantine=((2, "column 'name': bytes not valid utf-8"),),
    ),
    "gb18030-header-declared-utf8": Case(
        "客户编号,客户名称\nE1,甲\n".encode("gb18030"),
        entry=csv_entry(record_id="客户编号", fields={"name": "客户名称"}, updated_at=None),
        error=(SourceReadError, "header is not valid utf-8: check the source's 'encoding'"),
    ),
    "mixed-utf8-and-latin1-rows": Case(
        rows(f"C1,Zoë,a@x.com,Gold,{GOOD}").encode()
        + f"C2,Müller GmbH,b@x.com,,{GOOD}\n".encode("latin-1")
        + f"C3,Ça va,c@x.com,,{GOOD}\n".encode(),
        records=("C1", "C3"),
        quarantine=((2, "column 'name': bytes not valid utf-8"),),
    ),
    "utf16-declared-utf16": Case(
        rows(f"C1,李雷,a@x.com,Gold,{GOOD}").encode("utf-16"),
        entry=csv_entry(encoding="utf-16"),
        records=("C1",),
    ),
    "utf16-with-bom-declared-utf8": Case(
        rows(f"C1,李雷,a@x.com,Gold,{GOOD}").encode("utf-16"),
        error=(
            SourceReadError,
            "starts with a UTF-16-LE byte-order mark but the source's "
            "encoding is 'utf-8': set 'encoding' to utf-16",
        ),
    ),
    "utf16-without-bom-declared-utf8": Case(
        rows(f"C1,Li,a@x.com,Gold,{GOOD}").encode("utf-16-le"),
        error=(SourceReadError, "header holds NUL characters"),
    ),
    "utf8-bom-declared-utf8": Case(
        codecs.BOM_UTF8 + rows(f"C1,Zoë,a@x.com,Gold,{GOOD}").encode(),
        records=("C1",),
    ),
    "utf8-bom-declared-gb18030": Case(
        codecs.BOM_UTF8 + rows(f"C1,Zoë,a@x.com,Gold,{GOOD}").encode(),
        entry=csv_entry(encoding="gb18030"),
        error=(SourceReadError, "UTF-8 byte-order mark but the source's encoding is 'gb18030'"),
    ),
    # --- empty, header-only, garbage -----------------------------------------------------
    # No data rows would retire every customer of the source: an error unless allowed.
    "empty-file": Case(b"", error=(SourceReadError, EMPTY)),
    "header-only": Case(HEADER.encode(), error=(SourceReadError, EMPTY)),
    "header-and-blank-lines": Case((HEADER + "\n\r\n\n").encode(), error=(SourceReadError, EMPTY)),
    "empty-file-allowed": Case(b"", entry=csv_entry(allow_empty=True)),
    "header-only-allowed": Case(HEADER.encode(), entry=csv_entry(allow_empty=True)),
    "header-only-allowed-still-checks-columns": Case(
        b"id,name\n",
        entry=csv_entry(allow_empty=True),
        error=(SchemaDriftError, "source 'crm': columns 'changed', 'email', 'tier' not found"),
    ),
    "blank-lines-before-header": Case(
        ("\n\r\n" + rows(f"C1,Acme,a@x.com,Gold,{GOOD}")).encode(), records=("C1",)
    ),
    "binary-garbage-file": Case(
        garbage(4096, seed=7),
        error=(SourceReadError, "header is not valid utf-8"),
    ),
    # A carriage return inside the PNG signature ends a line, as in any CSV.
    "binary-garbage-rows": Case(
        rows(f"C1,Acme,a@x.com,Gold,{GOOD}").encode()
        + b"C2,\x00\x01\x02\x03,b@x.com,,\n"
        + b"C3,\x89PNG\r\x1a\x00\x00,c@x.com,,\n"
        + f"C4,Delta,d@x.com,,{GOOD}\n".encode(),
        records=("C1", "C4"),
        quarantine=(
            (2, "column 'name': holds control characters (binary data?)"),
            (3, "expected 5 fields, found 2 (no value for 'email', 'tier', 'changed')"),
            (4, "expected 5 fields, found 4 (no value for 'changed')"),
        ),
    ),
    "ten-megabyte-cell": Case(
        rows(
            f"C1,Acme,a@x.com,Gold,{GOOD}",
            f"C2,{'x' * TEN_MB},b@x.com,,{GOOD}",
            f"C3,Gamma,c@x.com,,{GOOD}",
        ).encode(),
        records=("C1", "C3"),
        quarantine=((2, f"column 'name': value is {TEN_MB} characters long (limit 4096)"),),
    ),
    "ten-megabyte-quoted-cell-in-unmapped-column": Case(
        ("id,name,notes\n" + f'C1,Acme,"{"y" * TEN_MB}"\nC2,Beta,short\n').encode(),
        entry=csv_entry(fields={"name": "name"}, updated_at=None),
        records=("C1", "C2"),
    ),
    # --- binary files declared as text: named as what they are, not as an encoding error ---
    "gzip-declared-csv": Case(
        gzip.compress(rows(f"C1,Acme,a@x.com,Gold,{GOOD}").encode()),
        error=(
            SourceReadError,
            r"^source 'crm': .*/export\.csv is gzip-compressed, not csv text \(key 'format'\): "
            r"decompress it first",
        ),
    ),
    "xlsx-declared-csv": Case(
        XLSX,
        error=(
            SourceReadError,
            r"^source 'crm': .*/export\.csv is an Excel workbook \(\.xlsx\), not csv text "
            r"\(key 'format'\): set 'format: excel'$",
        ),
    ),
    "zip-declared-csv": Case(
        ZIPPED_CSV,
        error=(SourceReadError, r"/export\.csv is a zip archive, not csv text \(key 'format'\)"),
    ),
    "xls-declared-csv": Case(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + garbage(512, seed=3),
        error=(SourceReadError, r"/export\.csv is an old Excel \(\.xls\) or other OLE2 document"),
    ),
    "parquet-declared-csv": Case(
        PARQUET,
        error=(
            SourceReadError,
            r"/export\.csv is a Parquet file, not csv text .*'format: parquet'",
        ),
    ),
    "gzip-declared-jsonl": Case(
        gzip.compress(jl(customer("O1")).encode()),
        entry=jsonl_entry(),
        error=(SourceReadError, r"^source 'shop': .*/orders\.jsonl is gzip-compressed, not jsonl"),
    ),
    # --- wrong types, impossible dates, duplicates -------------------------------------
    # A value a non-identifying field cannot take is dropped from a record that is kept
    # (issue 27); an unmapped code, a missing ID or no identifying field still quarantine.
    "wrong-types": Case(
        rows(
            f"C1,Acme,a@x.com,Platinum,{GOOD}",
            "C2,Beta,b@x.com,,yesterday",
            f"C3,Gamma,c@x.com,,{GOOD}",
            f"C4,Delta,d@x.com,,{GOOD}",
            f",Epsilon,e@x.com,,{GOOD}",
            f"C6,,,,{GOOD}",
        ).encode(),
        entry=csv_entry(
            fields={
                "name": "name",
                "email": "email",
                "tier": {"column": "tier", "map": {"Gold": "S"}},
                "size_band": "email",
            }
        ),
        records=("C3", "C4"),
        quarantine=(
            (1, "column 'tier': unmapped value 'Platinum'"),
            (2, "column 'changed': 'yesterday' is not a valid timestamp (format 'iso')"),
            (5, "missing record id (column 'id')"),
            (6, "none of name, email, phone, tax_id present"),
        ),
        rejected=(
            ("C3", "email", "column 'email': 'c@x.com' is neither a head count nor a band"),
            ("C4", "email", "column 'email': 'd@x.com' is neither a head count nor a band"),
        ),
    ),
    "impossible-dates": Case(
        rows(
            "C1,Acme,,,2023-02-30T10:00:00Z",
            "C2,Beta,,,2024-13-01T00:00:00Z",
            "C3,Gamma,,,2024-01-01T25:00:00Z",
            "C4,Delta,,,2023-02-29",
            f"C5,Eps,,,{GOOD}",
        ).encode(),
        records=("C5",),
        quarantine=(
            (1, "column 'changed': '2023-02-30T10:00:00Z' is not a valid timestamp"),
            (2, "column 'changed': '2024-13-01T00:00:00Z' is not a valid timestamp"),
            (3, "column 'changed': '2024-01-01T25:00:00Z' is not a valid timestamp"),
            (4, "column 'changed': '2023-02-29' is not a valid timestamp"),
        ),
    ),
    "duplicate-source-ids": Case(
        rows(
            "C1,Old,,,2024-01-01T00:00:00Z",
            "C2,Beta,,,",
            "C1,New,,,2024-06-01T00:00:00Z",
            "C1,Older,,,2023-01-01T00:00:00Z",
        ).encode(),
        records=("C2", "C1"),
        quarantine=(
            (1, "duplicate source_record_id 'C1' (kept row 3)"),
            (4, "duplicate source_record_id 'C1' (kept row 3)"),
        ),
    ),
    # --- invisible characters in record IDs ---------------------------------------------
    "bom-at-the-start-of-a-row": Case(
        rows(f"C1,Acme,a@x.com,Gold,{GOOD}").encode()
        + codecs.BOM_UTF8
        + f"C2,Beta,b@x.com,,{GOOD}\n".encode(),
        records=("C1", "C2"),
    ),
    "zero-width-and-direction-marks-in-ids": Case(
        rows(
            f"\u200bC1\u200d,Acme,a@x.com,Gold,{GOOD}",
            f"\u200e C2 \u2060,Beta,b@x.com,,{GOOD}",
            f"\u200b,Nobody,n@x.com,,{GOOD}",
        ).encode(),
        records=("C1", "C2"),
        quarantine=((3, "missing record id (column 'id')"),),
    ),
    "same-id-with-and-without-bom-is-a-duplicate": Case(
        rows(
            "C1,Old,a@x.com,,2024-01-01T00:00:00Z", "\ufeffC1,New,a@x.com,,2024-06-01T00:00:00Z"
        ).encode(),
        records=("C1",),
        quarantine=((1, "duplicate source_record_id 'C1' (kept row 2)"),),
    ),
    "jsonl-bom-in-an-id": Case(
        jl(customer("O1"), customer("\ufeffO2")).encode(), entry=jsonl_entry(), records=("O1", "O2")
    ),
    # --- schema drift --------------------------------------------------------------------
    "renamed-column": Case(
        b"id,name,e_mail,tier,changed\nC1,Acme,a@x.com,Gold,2024-05-01\n",
        error=(SchemaDriftError, "source 'crm': column 'email' not found in "),
    ),
    "missing-columns-in-header": Case(
        b"id,name\nC1,Acme\n",
        error=(SchemaDriftError, "source 'crm': columns 'changed', 'email', 'tier' not found"),
    ),
    "extra-columns-are-ignored": Case(
        (
            f"id,segment,name,email,tier,changed,notes\nC1,B2B,Acme,a@x.com,Gold,{GOOD},hello\n"
        ).encode(),
        records=("C1",),
    ),
    "wrong-delimiter": Case(
        rows(f"C1,Acme,a@x.com,Gold,{GOOD}").encode(),
        entry=csv_entry(delimiter=";"),
        error=(SchemaDriftError, "columns 'id', 'changed', 'name', 'email', 'tier' not found"),
    ),
    # --- JSON Lines ------------------------------------------------------------------------
    "jsonl-broken-lines": Case(
        jl(
            customer("O1"),
            '{"id": "O2", "customer": {"name": "Beta"',
            "",
            '{"id": "O3",}',
            "[1, 2]",
            '"just a string"',
            "42",
            customer("O4"),
        ).encode(),
        entry=jsonl_entry(),
        records=("O1", "O4"),
        quarantine=(
            (2, "invalid JSON: Expecting ',' delimiter"),
            (4, "invalid JSON: Expecting property name enclosed in double quotes"),
            (5, "expected a JSON object, found an array"),
            (6, "expected a JSON object, found a string"),
            (7, "expected a JSON object, found a number"),
        ),
    ),
    "jsonl-unexpected-nesting": Case(
        jl(
            customer("O1"), customer("O2", name={"first": "Bo", "last": "Li"}), customer("O3")
        ).encode(),
        entry=jsonl_entry(),
        records=("O1", "O3"),
        quarantine=(
            (
                2,
                "path 'customer.name': holds an object ('customer.name.first', "
                "'customer.name.last'), not a value",
            ),
        ),
    ),
    "jsonl-nesting-everywhere-is-drift": Case(
        jl(customer("O1", name={"first": "A"}), customer("O2", name={"first": "B"})).encode(),
        entry=jsonl_entry(),
        error=(
            SchemaDriftError,
            "path 'customer.name' not found in any row of .* "
            r"\(found nested objects instead: 'customer.name.first'\)",
        ),
    ),
    "jsonl-wrong-types": Case(
        jl(
            {**customer("O1"), "id": 1001},
            {**customer("O2"), "updated_ms": "soon"},
            {**customer("O3"), "address": {"city": ["Shanghai", "Beijing"]}},
        ).encode(),
        entry=jsonl_entry(),
        records=("1001", "O3"),
        quarantine=((2, "column 'updated_ms': 'soon' is not a valid timestamp"),),
    ),
    "jsonl-too-deep": Case(
        jl(
            customer("O1"),
            '{"id": "O2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
            '{"id": "O3", "x": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}",
            '{"id": "O4", "x": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
        ).encode(),
        entry=jsonl_entry(),
        records=("O1",),
        quarantine=(
            (2, "invalid JSON: nested too deeply to read"),
            (3, "invalid JSON: nested too deeply to read"),
            (4, "objects nested too deeply (more than 32 levels, at 'x.a.a.a"),
        ),
    ),
    "jsonl-invalid-utf8-and-bom-crlf": Case(
        codecs.BOM_UTF8
        + jl(customer("O1")).replace("\n", "\r\n").encode()
        + b'{"id": "O2", "customer": {"name": "\xff\xfe"}}\n',
        entry=jsonl_entry(),
        records=("O1",),
        quarantine=((2, "column 'customer.name': bytes not valid utf-8"),),
    ),
    # Found by bench/fuzz_readers.py: bad bytes in the key of an empty object.
    "jsonl-undecodable-byte-in-an-empty-key": Case(
        jl(customer("O1")).encode() + b'{"id": "O2", "customer": {"name": "B", "x\x95": {}}}\n',
        entry=jsonl_entry(),
        records=("O1",),
        quarantine=((2, "bytes not valid utf-8 in a key or an empty object"),),
    ),
    "jsonl-empty-and-blank": Case(
        b"\n\n   \n",
        entry=jsonl_entry(),
        error=(SourceReadError, r"^source 'shop': .*/orders\.jsonl has no data rows"),
    ),
    "jsonl-empty-allowed": Case(b"\n\n   \n", entry=jsonl_entry(allow_empty=True)),
}


def load_case(tmp_path: Path, case: Case):  # type: ignore[no-untyped-def]
    entry = case.entry
    (tmp_path / entry["path"]).write_bytes(case.content)
    entry = {k: v for k, v in entry.items() if v is not None}
    return load_source(parse_sources([entry], base_dir=tmp_path)[0])


@pytest.mark.parametrize("case_id", list(CASES))
def test_broken_export(tmp_path: Path, case_id: str) -> None:
    case = CASES[case_id]
    if case.error is not None:
        error_type, message = case.error
        with pytest.raises(error_type, match=message) as info:
            load_case(tmp_path, case)
        text = str(info.value)
        assert "\n" not in text
        assert text.startswith(f"source {case.entry['name']!r}: ")
        return
    batch = load_case(tmp_path, case)
    assert batch.rows_in == batch.records.height + batch.quarantine.height
    assert tuple(batch.records["source_record_id"]) == case.records
    got = batch.quarantine.select("row_number", "reason").rows()
    assert [row for row, _ in got] == [row for row, _ in case.quarantine]
    for (_, reason), (_, expected) in zip(got, case.quarantine, strict=True):
        assert expected in reason
    assert set(batch.quarantine["source_file"]) <= {case.entry["path"]}
    assert set(batch.quarantine["source_system"]) <= {case.entry["name"]}
    rejected = batch.value_rejections.select("source_record_id", "source_column", "reason")
    assert [row[:2] for row in rejected.rows()] == [row[:2] for row in case.rejected]
    for (*_, reason), (*_, expected) in zip(rejected.rows(), case.rejected, strict=True):
        assert expected in reason
    assert set(batch.value_rejections["source_file"]) <= {case.entry["path"]}
    assert set(batch.value_rejections["source_system"]) <= {case.entry["name"]}
    # A dropped value leaves its record, which is kept, without the field.
    for record_id, name in batch.value_rejections.select("source_record_id", "field").rows():
        record = batch.records.filter(pl.col("source_record_id") == record_id)
        assert record[name].to_list() == [None]
    # The raw text of every rejected row is kept, so nothing is lost.
    assert batch.quarantine["raw"].null_count() == 0
    # Every row has its own number: CSV records count 1..n, JSON Lines keep the line number.
    numbers = sorted(batch.records["row_number"].to_list() + [r for r, _ in got])
    if case.entry["format"] == "csv":
        assert numbers == list(range(1, batch.rows_in + 1))
    assert len(set(numbers)) == len(numbers) == batch.rows_in


def test_every_mapped_cell_of_every_case_is_text_or_null(tmp_path: Path) -> None:
    """No control characters or undecodable bytes reach the canonical records."""
    for index, (case_id, case) in enumerate(CASES.items()):
        if case.error is not None:
            continue
        folder = tmp_path / str(index)
        folder.mkdir()
        records = load_case(folder, case).records
        cells = [c for row in records.select(pl.col(pl.String)).rows() for c in row if c]
        assert not [c for c in cells if UNSAFE.search(c)], case_id


@pytest.mark.parametrize(
    ("fmt", "frame", "seven"),
    [
        ("parquet", pl.DataFrame({"id": [1, 2, 2], "name": [3.5, None, 7.0],
                                  "c": [{"email": "a@x.com"}, {"email": None}, {"email": "b"}],
                                  "tags": [["x"], [], None]}), "7.0"),
        ("excel", pl.DataFrame({"id": [1, 2, 2], "name": [3.5, None, 7.0],
                                "c.email": ["a@x.com", None, "b"], "tags": ["x", "", None]}), "7"),
    ],
)  # fmt: skip
def test_typed_formats_with_wrong_types(
    tmp_path: Path, fmt: str, frame: pl.DataFrame, seven: str
) -> None:
    """Numbers where text is expected, structs and lists: text comes out, nothing crashes."""
    path = tmp_path / f"x.{fmt}"
    if fmt == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_excel(path)
    entry = {"name": "t", "system": "other", "path": path.name, "format": fmt, "record_id": "id",
             "fields": {"name": "name", "email": "c.email"}, "trust": {"default": 0.5}}  # fmt: skip
    batch = load_source(parse_sources([entry], base_dir=tmp_path)[0])
    assert batch.rows_in == 3 == batch.records.height + batch.quarantine.height
    assert batch.records.select("source_record_id", "name", "email").rows() == [
        ("1", "3.5", "a@x.com"),
        ("2", seven, "b"),
    ]
    assert batch.quarantine.select("row_number", "reason").rows() == [
        (2, "none of name, email, phone, tax_id present")
    ]


@pytest.mark.parametrize("fmt", ["parquet", "excel"])
def test_garbage_typed_file_is_one_clear_error(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "x.bin").write_bytes(garbage(2048, seed=11))
    entry = {"name": "t", "system": "other", "path": "x.bin", "format": fmt, "record_id": "id",
             "fields": {"name": "name"}, "trust": {"default": 0.5}}  # fmt: skip
    with pytest.raises(SourceReadError, match=r"^source 't': cannot read .*/x\.bin: ") as info:
        load_source(parse_sources([entry], base_dir=tmp_path)[0])
    assert "\n" not in str(info.value)


def test_errors_are_fusion_errors() -> None:
    """The CLI turns exactly these into one line; the cases above raise nothing else."""
    for case in CASES.values():
        if case.error is not None:
            assert issubclass(case.error[0], FusionError)
    assert issubclass(ConfigError, FusionError)
