"""Format readers: a file in, a raw frame of text cells out.

Every reader returns a :class:`RawFrame`: the rows it could read as String
columns named as in the file (nested JSON as dotted paths), and the rows it
could not read at all as failures. Mapping to canonical fields is not their
job; keeping readers format-only is what lets a new export be onboarded by
config alone.

The readers live in one module per format (``csv_reader``, ``jsonl_reader``,
``parquet_reader``, ``excel_reader``); this module holds what they share.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.errors import SourceReadError

FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "row_number": pl.Int64(),
    "raw": pl.String(),
    "reason": pl.String(),
}

# The stdlib "surrogateescape" refuses bytes below 0x80 and so cannot decode a
# broken UTF-16 file at all. This handler maps every undecodable byte b to
# U+DC00+b, for any codec, so one bad byte marks its cell instead of the file.
_ESCAPE_HANDLER = "fusion.escape_bytes"
_ESCAPED_BYTE = re.compile("[\udc00-\udcff]")


def _escape_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_ESCAPE_HANDLER, _escape_bytes)


def text_codec_problem(encoding: str) -> str | None:
    """Why ``encoding`` cannot decode an export into text, or None when it can.

    ``codecs.lookup`` also knows bytes-to-bytes and text-to-text transforms
    (``rot13``, ``base64``, ``zlib``) and codecs that refuse every input
    (``undefined``); none of them reads a file, so they are config errors.

    Example:
        >>> text_codec_problem("gb18030") is None, text_codec_problem("rot13")
        (True, "'rot13' is not a text encoding (it transforms, e.g. rot13, base64, zlib)")
    """
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return f"unknown encoding {encoding[:40]!r} (any Python codec name, e.g. gb18030, utf-16)"
    if not getattr(info, "_is_text_encoding", True):
        return f"{encoding!r} is not a text encoding (it transforms, e.g. rot13, base64, zlib)"
    try:
        b"abcd".decode(encoding, errors=_ESCAPE_HANDLER)
    except (UnicodeError, LookupError, TypeError):
        return f"{encoding!r} cannot decode a file (any text codec, e.g. utf-8, gb18030, utf-16)"
    return None


# The first bytes of files that are no text export, what they are, and what to do.
_CONTAINERS: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive", "extract the export from it first"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or other OLE2 document",
     "save it as .xlsx and set 'format: excel', or export CSV"),
    (b"PAR1", "a Parquet file", "set 'format: parquet'"),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first (unzstd)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the export from it first"),
)  # fmt: skip
_XLSX = ("an Excel workbook (.xlsx)", "set 'format: excel'")


def binary_container(path: Path) -> tuple[str, str] | None:
    """What a file declared as text really is, by its first bytes, and the advice; else None.

    A gzip or Excel file read as CSV would otherwise fail as "not valid
    utf-8", pointing at the encoding instead of the format.

    Example:
        >>> import gzip, tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = p.write_bytes(gzip.compress(b"id,name\\n"))
        >>> binary_container(p)
        ('gzip-compressed', 'decompress it first (gunzip)')
    """
    with path.open("rb") as file:
        head = file.read(8)
    for magic, what, advice in _CONTAINERS:
        if head.startswith(magic):
            if magic.startswith(b"PK") and _is_xlsx(path):
                return _XLSX
            return what, advice
    return None


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.startswith("xl/") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


@dataclass(frozen=True)
class RawFrame:
    """What a reader got out of one file.

    ``row_number`` and ``raw`` are kept beside ``data`` rather than in it, so
    an export with its own ``raw`` or ``row_number`` column cannot collide.

    Attributes:
        data: One String column per file column (or dotted JSON path), in file
            order; a header-only file gives its columns and no rows.
        row_number: Int64, the 1-based record ordinal of each ``data`` row
            (see docs/CONTRACTS.md).
        raw: String, each ``data`` row's original text (JSON object or line).
        failures: Rows that could not be read at all (``FAILURE_SCHEMA``).
    """

    data: pl.DataFrame
    row_number: pl.Series
    raw: pl.Series
    failures: pl.DataFrame

    @property
    def rows_in(self) -> int:
        """Data rows seen in the file: read ones plus failed ones."""
        return self.row_number.len() + self.failures.height


# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BYTE_ORDER_MARKS: tuple[tuple[bytes, str, tuple[str, ...]], ...] = (
    (codecs.BOM_UTF32_LE, "UTF-32-LE", ("utf-32", "utf-32-le")),
    (codecs.BOM_UTF32_BE, "UTF-32-BE", ("utf-32", "utf-32-be")),
    (codecs.BOM_UTF8, "UTF-8", ("utf-8", "utf-8-sig")),
    (codecs.BOM_UTF16_LE, "UTF-16-LE", ("utf-16", "utf-16-le")),
    (codecs.BOM_UTF16_BE, "UTF-16-BE", ("utf-16", "utf-16-be")),
)


def decode_text(data: bytes, *, encoding: str) -> str:
    """Decode a whole file, marking undecodable bytes instead of failing.

    A leading byte-order mark is dropped whatever the codec, so ``utf-8``
    reads files saved "UTF-8 with BOM" too.

    Raises:
        SourceReadError: the file starts with the byte-order mark of another
            encoding than the declared one (an export re-saved as UTF-16 or
            UTF-8 with BOM), which would otherwise garble every cell.
    """
    declared = codecs.lookup(encoding).name
    for mark, name, codec_names in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            if declared not in codec_names:
                msg = (
                    f"the file starts with a {name} byte-order mark but the source's "
                    f"encoding is {encoding!r}: set 'encoding' to {codec_names[0]}"
                )
                raise SourceReadError(msg)
            break
    return data.decode(encoding, errors=_ESCAPE_HANDLER).removeprefix("\ufeff")


def has_undecodable(text: str) -> bool:
    """Whether ``text`` holds bytes that :func:`decode_text` could not decode."""
    return _ESCAPED_BYTE.search(text) is not None


def show_undecodable(text: str) -> str:
    r"""``text`` with undecodable bytes shown as ``\xNN`` (valid UTF-8 for storage)."""
    return _ESCAPED_BYTE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def undecodable_reason(columns: list[str], *, encoding: str) -> str:
    """The quarantine reason for cells holding bytes the codec rejects."""
    return "; ".join(f"column {c!r}: bytes not valid {encoding}" for c in columns)


def failure_frame(rows: list[tuple[int, str, str]]) -> pl.DataFrame:
    """Failures ``(row_number, raw, reason)`` as a ``FAILURE_SCHEMA`` frame."""
    return pl.DataFrame(rows, schema=FAILURE_SCHEMA, orient="row")


def rows_as_json(data: pl.DataFrame) -> pl.Series:
    """Each row as a JSON object of column -> value, for the ``raw`` column."""
    if data.width == 0:
        return pl.Series("raw", [], dtype=pl.String)
    return data.select(pl.struct(pl.all()).struct.json_encode().alias("raw")).to_series()


def typed_raw_frame(frame: pl.DataFrame) -> RawFrame:
    """A raw frame from an already typed table (Parquet, Excel).

    ``raw`` keeps the typed row as JSON; ``data`` flattens structs to dotted
    paths, writes lists as JSON text and casts everything else to String.
    """
    return RawFrame(
        data=_as_text(_flatten_structs(frame)),
        row_number=pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(
            "row_number"
        ),
        raw=rows_as_json(frame),
        failures=failure_frame([]),
    )


def _flatten_structs(frame: pl.DataFrame) -> pl.DataFrame:
    while any(isinstance(dtype, pl.Struct) for dtype in frame.dtypes):
        frame = frame.select(
            pl.col(name).struct.unnest().name.prefix(f"{name}.")
            if isinstance(dtype, pl.Struct)
            else pl.col(name)
            for name, dtype in frame.schema.items()
        )
    return frame


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        _json_text(name) if dtype.is_nested() else pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
    )


def _json_text(name: str) -> pl.Expr:
    # Polars cannot cast a list to String; encoding a one-field struct and
    # taking the field back out yields the list's JSON text (null stays null).
    return (
        pl.struct(pl.col(name).alias("v"))
        .struct.json_encode()
        .str.json_path_match("$.v")
        .alias(name)
    )
