"""Strategies and properties for fuzzing the readers and the standardiser.

Shared by the default test run (tests/reliability/test_fuzz.py: fixed seed,
few examples) and the long run (bench/fuzz_readers.py: random seeds, many
examples). A property takes generated input and a scratch folder and raises
AssertionError when fusion misbehaves; "misbehaves" means a crash other than a
one-line FusionError for a file that is unusable as a whole, a row lost or
counted twice, or a value that cannot be stored (undecodable bytes, control
characters, over-long cells) reaching the canonical records.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from connectors import FusionError, load_source, parse_sources
from connectors.canonical import CANONICAL_SCHEMA, MAX_VALUE_CHARS
from matching.standardise import standardise

UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
CSV_HEADER = ("id", "name", "email", "phone", "changed")
REGIONS = {"crm": "CN", "erp": "CN", "shop": "US"}
ENCODINGS = ("utf-8", "gb18030", "utf-16", "latin-1")
DELIMITERS = (",", ";", "\t", "|")

# Text a customer export really contains, and text that breaks naive code.
TRICKY_STRINGS = (
        "", " ", "\t", '"', '""', "'", ",", ";", "\r", "\n", "\r\n", "\\", "\x00", "\x1b[31m",
        "\ufeff", "\u200b", "\u202e", "\u00a0", "e\u0301", "ＡＢＣ１２３", "＠", "有限公司",
        "上海星辰科技有限公司", "(株)", "Müller GmbH", "N/A", "null", "-", "test@test.com",
        "000000", "+86 138-0013-8000", "=HYPERLINK(\"x\")", "@SUM(A1)", "<script>", "😀",
        "𠀀", "\U0010ffff", "2024-02-30", "1e309", "NaN",
)  # fmt: skip
TRICKY = st.sampled_from(TRICKY_STRINGS)
TEXT = st.one_of(
    TRICKY,
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    st.lists(TRICKY, max_size=4).map("".join),
    st.integers(min_value=0, max_value=6000).map(lambda n: "x" * n),
)


@st.composite
def csv_documents(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """A CSV export as bytes, often malformed: (content, encoding, delimiter).

    Cells are written raw or quoted at random, rows have random widths and
    line endings, and random bytes may be spliced in.
    """
    encoding = draw(st.sampled_from(ENCODINGS))
    delimiter = draw(st.sampled_from(DELIMITERS))
    lines = [delimiter.join(CSV_HEADER)]
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        width = draw(st.sampled_from([len(CSV_HEADER)] * 4 + [0, 1, 4, 6]))
        cells = []
        for _ in range(width):
            cell = draw(TEXT)
            if draw(st.booleans()):
                cell = '"' + cell.replace('"', '""') + '"'
            cells.append(cell)
        lines.append(delimiter.join(cells))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    content = text.encode(encoding, errors="replace")
    if encoding == "utf-16":  # pin the byte order the BOM declares, whatever the machine
        content = codecs.BOM_UTF16_LE + text.encode("utf-16-le", errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(content)))
        content = content[:at] + draw(st.binary(min_size=1, max_size=8)) + content[at:]
    return content, encoding, delimiter


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["name", "email", "a", "a.b", "city"]), inner, max_size=3),
    ),
    max_leaves=8,
)


@st.composite
def jsonl_documents(draw: st.DrawFn) -> bytes:
    """A JSON Lines export as bytes: objects, other JSON values, broken and blank lines."""
    import json

    lines = []
    for index in range(draw(st.integers(min_value=0, max_value=8))):
        kind = draw(st.sampled_from(["record", "record", "record", "value", "broken", "blank"]))
        if kind == "record":
            record: dict[str, Any] = {
                "id": draw(st.one_of(st.just(f"R{index % 4}"), JSON_SCALARS)),
                "customer": draw(
                    st.one_of(
                        st.fixed_dictionaries({"name": TEXT, "email": TEXT}),
                        st.fixed_dictionaries({"name": JSON_VALUES}),
                        JSON_VALUES,
                    )
                ),
            }
            lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())))
        elif kind == "value":
            lines.append(json.dumps(draw(JSON_VALUES)))
        elif kind == "broken":
            lines.append(draw(TEXT).replace("\n", " "))
        else:
            lines.append(draw(st.sampled_from(["", " ", "\t", "\r"])))
    content = "\n".join(lines).encode("utf-8", errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(content)))
        content = content[:at] + draw(st.binary(min_size=1, max_size=8)) + content[at:]
    return content


def check_csv_load(document: tuple[bytes, str, str], folder: Path) -> str:
    """Load a CSV document through its source config; returns what happened."""
    content, encoding, delimiter = document
    (folder / "export.csv").write_bytes(content)
    entry = {
        "name": "fuzz", "system": "other", "path": "export.csv", "format": "csv",
        "encoding": encoding, "delimiter": delimiter, "record_id": "id",
        "updated_at": {"column": "changed", "format": "iso"},
        "fields": {"name": "name", "email": "email", "phone": "phone"},
        "trust": {"default": 0.5},
    }  # fmt: skip
    return _check_load(entry, folder, ordinal_rows=True)


def check_jsonl_load(content: bytes, folder: Path) -> str:
    """Load a JSON Lines document; rows_in must be the number of non-blank lines."""
    (folder / "export.jsonl").write_bytes(content)
    entry = {
        "name": "fuzz", "system": "other", "path": "export.jsonl", "format": "jsonl",
        "record_id": "id", "fields": {"name": "customer.name", "email": "customer.email"},
        "trust": {"default": 0.5},
    }  # fmt: skip
    outcome = _check_load(entry, folder, ordinal_rows=False)
    if outcome == "loaded":
        text = content.decode("utf-8", errors="replace").removeprefix("\ufeff")
        lines = [n for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
        batch = load_source(parse_sources([entry], base_dir=folder)[0])
        numbers = batch.records["row_number"].to_list() + batch.quarantine["row_number"].to_list()
        assert sorted(numbers) == lines
    return outcome


def _check_load(entry: dict[str, Any], folder: Path, *, ordinal_rows: bool) -> str:
    try:
        batch = load_source(parse_sources([entry], base_dir=folder)[0])
    except FusionError as error:
        return _one_line_error(error)
    records, quarantine = batch.records, batch.quarantine
    assert batch.rows_in == records.height + quarantine.height
    numbers = sorted(records["row_number"].to_list() + quarantine["row_number"].to_list())
    assert len(set(numbers)) == len(numbers)
    if ordinal_rows:
        assert numbers == list(range(1, batch.rows_in + 1))
    assert records["source_record_id"].is_unique().all()
    for row in records.select(pl.col(pl.String)).rows():
        for cell in row:
            assert cell is None or (not UNSAFE.search(cell) and len(cell) <= MAX_VALUE_CHARS)
    for raw, reason in quarantine.select("raw", "reason").rows():
        assert reason
        assert raw is not None
        raw.encode("utf-8")
        reason.encode("utf-8")
    return "loaded"


def _one_line_error(error: FusionError) -> str:
    """A file unusable as a whole: one line naming the source; returns the error's kind."""
    text = str(error)
    assert "\n" not in text, text
    assert text.startswith("source 'fuzz': "), text
    return type(error).__name__


@st.composite
def canonical_frames(draw: st.DrawFn) -> pl.DataFrame:
    """Canonical records with adversarial text in every field."""
    height = draw(st.integers(min_value=0, max_value=10))
    fields = [c for c in CANONICAL_SCHEMA if CANONICAL_SCHEMA[c] == pl.String()]
    rows = []
    for index in range(height):
        row: dict[str, Any] = {
            c: draw(st.one_of(st.none(), TEXT.filter(lambda t: not UNSAFE.search(t))))
            for c in fields
        }
        row["source_system"] = draw(st.sampled_from(["crm", "erp", "shop"]))
        row["source_record_id"] = f"R{index}"
        rows.append(row)
    frame = pl.DataFrame(rows, schema={c: pl.String for c in fields})
    return frame.with_columns(
        pl.lit(None, CANONICAL_SCHEMA[c]).alias(c) for c in CANONICAL_SCHEMA if c not in fields
    ).select(CANONICAL_SCHEMA.keys())


def check_standardise(records: pl.DataFrame) -> None:
    """standardise keeps every record once and returns only well-formed values."""
    out = standardise(records, default_regions=REGIONS)
    assert out.height == records.height
    assert out["record_index"].to_list() == list(range(out.height))
    keys = ["source_system", "source_record_id"]
    assert sorted(out.select(keys).rows()) == sorted(records.select(keys).rows())
    for row in out.select(pl.col(pl.String)).rows():
        for cell in row:
            assert cell is None or not re.search("[\udc80-\udcff]", cell)
    for phone, valid in out.select("phone", "phone_valid").rows():
        assert (valid is None) == (phone is None)
        assert not valid or E164.match(phone), phone
    for email, valid in out.select("email", "email_valid").rows():
        assert (valid is None) == (email is None)
        assert not valid or (email.count("@") == 1 and not re.search(r"\s", email)), email


def check_standardise_idempotent(records: pl.DataFrame) -> None:
    """Standardising cleaned values again changes nothing (not for an address repeating its
    region or city more than three times: RELIABILITY.md)."""
    out = standardise(records, default_regions=REGIONS)
    again = standardise(out.select(records.columns), default_regions=REGIONS)
    cleaned = [c for c in records.columns if records.schema[c] == pl.String()]
    for column in cleaned:
        for first, second in zip(out[column], again[column], strict=True):
            assert first == second, f"{column}: {first!r} -> {second!r}"
