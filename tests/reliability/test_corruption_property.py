"""Property (issue 28): a corrupted export never costs an intact customer its ID.

A warehouse is published once from the four sample exports (their first
``LINES`` lines). Each example copies it, corrupts one export the way a failed
extract or a careless hand does (cut at a random byte, emptied, header only,
written in another codec than the config declares, a stray quote, byte-order
marks at the start of rows) and runs again with the default guard. Then:

- the run fails with one line and the published release is byte for byte what
  it was; or
- it publishes, and every customer whose records are all still present and
  valid keeps its unified ID for each of them and stays in ``golden_customer``.
  A record whose row the run quarantined under a readable ID counts as present
  (it is carried with its last good values: a quarantined row never removes a
  customer).

"Present and valid" is decided from the bytes alone, conservatively: a record
is intact when each line it had in the export is still in the corrupted file
byte for byte (for the BOM kind: or with only a byte-order mark in front of it,
which the record-ID normalisation promises to ignore), the header is intact,
and the baseline did not quarantine a row of it. Records of the other three
sources are intact.

Hypothesis draws the source and the corruption with a fixed seed
(``derandomize``); each kind is a parameter so its verdict stands alone.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from rich.console import Console

from connectors.record_ids import normalise_record_id
from pipelines.orchestration.runner import RunFailedError, run_pipeline
from tests.reliability.conftest import read_tables, release_digest, small_samples

LINES = 200
# The clock is pinned: trust ages (not IDs) would move if a run crossed midnight UTC.
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
KEYS = ["source_system", "source_record_id"]
SOURCES = ("crm", "erp", "ecommerce", "tickets")
BOM = "\ufeff"

# No shrinking: each example is a whole run (seconds), and shrinking a failure took over five
# minutes. The failing draws are printed; cut them down by hand.
FIXED_SEED = settings(
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Export:
    """One source's export as published in the baseline."""

    source: str
    path: str  # file name beside the config
    fmt: str  # csv | jsonl
    encoding: str
    record_id: str  # column (CSV) or top-level key (JSON Lines)
    content: bytes

    @property
    def lines(self) -> list[bytes]:
        return self.content.splitlines(keepends=True)

    @property
    def first_data_line(self) -> int:
        return 1 if self.fmt == "csv" else 0

    def text(self, line: bytes) -> str:
        return line.decode(self.encoding)

    def record_of(self, line: bytes, *, column: int) -> str | None:
        """The normalised record ID a data line carries (None when it shows none)."""
        try:
            if self.fmt == "jsonl":
                value = json.loads(self.text(line)).get(self.record_id)
                return normalise_record_id(value) if isinstance(value, str) else None
            cells = next(csv.reader([self.text(line)]), [])
        except (ValueError, AttributeError):
            return None
        return normalise_record_id(cells[column]) if column < len(cells) else None

    def records(self) -> dict[str, list[int]]:
        """Record ID -> the line numbers (0-based, in ``lines``) that carry it."""
        lines = self.lines
        column = 0
        if self.fmt == "csv":
            column = next(csv.reader([self.text(lines[0])])).index(self.record_id)
        found: dict[str, list[int]] = defaultdict(list)
        for number, line in enumerate(lines):
            if number < self.first_data_line:
                continue
            record = self.record_of(line, column=column)
            if record is not None:
                found[record].append(number)
        return found


@dataclass(frozen=True)
class Baseline:
    folder: Path  # holds samples/ and wh/
    exports: dict[str, Export]
    tables: dict[str, pl.DataFrame]

    @property
    def xref(self) -> pl.DataFrame:
        return self.tables["customer_xref"].select(*KEYS, "unified_id")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The four sample sources (and facts), cut to ``LINES`` lines, published once."""
    folder = tmp_path_factory.mktemp("corruption")
    config = small_samples(folder / "samples", lines=LINES)
    run_pipeline(config, folder / "wh", console=Console(quiet=True), as_of=AS_OF)
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    exports = {
        s["name"]: Export(
            source=s["name"],
            path=s["path"],
            fmt=s["format"],
            encoding=s.get("encoding", "utf-8"),
            record_id=s["record_id"],
            content=(config.parent / s["path"]).read_bytes(),
        )
        for s in document["sources"]
    }
    assert set(exports) == set(SOURCES)
    return Baseline(folder=folder, exports=exports, tables=read_tables(folder / "wh"))


# -- corruptions: each draws its parameters and returns the corrupted bytes ---------------------


def truncate(data: st.DataObject, export: Export) -> bytes:
    size = len(export.content)
    # Half the cuts fall in the last 5% of the file: those are the ones the guard may let through.
    cut = data.draw(
        st.one_of(st.integers(0, size - 1), st.integers(size - size // 20, size - 1)), label="cut"
    )
    return export.content[:cut]


def empty(data: st.DataObject, export: Export) -> bytes:
    return b""


def header_only(data: st.DataObject, export: Export) -> bytes:
    return export.lines[0] if export.fmt == "csv" else b""


def wrong_codec(data: st.DataObject, export: Export) -> bytes:
    others = [c for c in ("utf-8", "gb18030", "latin-1") if c != export.encoding]
    codec = data.draw(st.sampled_from(others), label="written as")
    # Latin-1 cannot hold Chinese: an export tool writes '?' for it, as Excel does.
    return export.content.decode(export.encoding).encode(codec, errors="replace")


def stray_quote(data: st.DataObject, export: Export) -> bytes:
    lines = export.lines
    for _ in range(data.draw(st.integers(1, 2), label="quotes")):
        number = data.draw(st.integers(export.first_data_line, len(lines) - 1), label="line")
        text = export.text(lines[number])
        body = text.rstrip("\r\n")
        if export.fmt == "csv":
            # A quote at the start, inside or at the end of one field (cells split naively,
            # which is what a hand editing the file sees).
            starts = [0] + [i + 1 for i, c in enumerate(body) if c == ","]
            field = data.draw(st.integers(0, len(starts) - 1), label="field")
            start = starts[field]
            end = starts[field + 1] - 1 if field + 1 < len(starts) else len(body)
            where = data.draw(st.sampled_from(["start", "inside", "end"]), label="where")
            if where == "inside":
                at = data.draw(st.integers(start, end), label="at")
            else:
                at = start if where == "start" else end
        else:
            at = data.draw(st.integers(0, len(body)), label="at")
        lines[number] = (text[:at] + '"' + text[at:]).encode(export.encoding)
    return b"".join(lines)


def boms(data: st.DataObject, export: Export) -> bytes:
    lines = export.lines
    numbers = data.draw(
        st.lists(st.integers(0, len(lines) - 1), min_size=1, max_size=5, unique=True),
        label="rows with a BOM",
    )
    mark = BOM.encode(export.encoding)
    for number in numbers:
        lines[number] = mark + lines[number]
    return b"".join(lines)


CORRUPTIONS = {
    "truncate": truncate,
    "empty": empty,
    "header_only": header_only,
    "wrong_codec": wrong_codec,
    "stray_quote": stray_quote,
    "bom": boms,
}
# Per kind: every run is a whole pipeline run (5-10 s on two cores).
EXAMPLES = 5


# -- what must hold -------------------------------------------------------------------------------


def intact_records(export: Export, corrupted: bytes, baseline: Baseline, *, bom_ok: bool) -> set:
    """Records of ``export`` still present and valid in ``corrupted`` (see the module doc)."""
    mark = BOM.encode(export.encoding)
    after = Counter(corrupted.splitlines(keepends=True))
    if bom_ok:
        after.update(line.removeprefix(mark) for line in list(after.elements()) if line != b"")
    lines = export.lines
    if export.fmt == "csv":
        header = corrupted.splitlines(keepends=True)[:1]
        if not header or header[0].removeprefix(mark) != lines[0]:
            return set()
    quarantined = set(
        baseline.tables["quarantine"]
        .filter(pl.col("source_system") == export.source)["source_record_id"]
        .drop_nulls()
    )
    return {
        record
        for record, numbers in export.records().items()
        if record not in quarantined and all(after[lines[n]] > 0 for n in numbers)
    }


def intact_customers(baseline: Baseline, source: str, records: set[str]) -> pl.DataFrame:
    """Baseline xref rows of the customers all of whose records are intact."""
    xref = baseline.xref
    broken = xref.filter(
        (pl.col("source_system") == source) & ~pl.col("source_record_id").is_in(sorted(records))
    )
    return xref.filter(~pl.col("unified_id").is_in(broken["unified_id"].unique().to_list()))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CORRUPTIONS))
@settings(FIXED_SEED, max_examples=EXAMPLES)
@given(data=st.data())
def test_a_corrupted_export_never_costs_an_intact_customer_its_id(
    baseline: Baseline, tmp_path_factory: pytest.TempPathFactory, kind: str, data: st.DataObject
) -> None:
    source = data.draw(st.sampled_from(SOURCES), label="source")
    export = baseline.exports[source]
    corrupted = CORRUPTIONS[kind](data, export)
    folder = tmp_path_factory.mktemp(kind)
    shutil.copytree(baseline.folder / "samples", folder / "samples")
    shutil.copytree(baseline.folder / "wh", folder / "wh", symlinks=True)
    (folder / "samples" / export.path).write_bytes(corrupted)
    warehouse = folder / "wh"
    before = release_digest(warehouse)
    try:
        run_pipeline(
            folder / "samples" / "fusion.yaml", warehouse, console=Console(quiet=True), as_of=AS_OF
        )
    except RunFailedError as error:
        message = str(error)
        note(f"failed: {message}")
        event(f"{source}: failed: {message[:90]}")
        assert "\n" not in message
        assert release_digest(warehouse) == before
        shutil.rmtree(folder)
        return
    tables = read_tables(warehouse)
    records = intact_records(export, corrupted, baseline, bom_ok=kind == "bom")
    # A published record whose row this run quarantined under a readable ID is carried with
    # its last good values: it counts as intact (a quarantined row never removes a customer).
    carried = tables["quarantine"].filter(pl.col("source_system") == source)["source_record_id"]
    records |= set(carried.drop_nulls())
    kept = intact_customers(baseline, source, records)
    after = tables["customer_xref"].select(*KEYS, pl.col("unified_id").alias("now"))
    compared = kept.join(after, on=KEYS, how="left")
    moved = compared.filter(pl.col("now").is_null() | (pl.col("now") != pl.col("unified_id")))
    lost = set(kept["unified_id"]) - set(tables["golden_customer"]["unified_id"])
    summary = (
        f"{source}: published; {len(records)} of {len(export.records())} records intact "
        "or carried, "
        f"{kept['unified_id'].n_unique()} of {baseline.xref['unified_id'].n_unique()} customers "
        f"intact; carried {tables['carried_records'].height}, "
        f"retired {tables['retired_records'].height}"
    )
    note(summary)
    event(summary)
    assert moved.is_empty(), f"intact records re-IDed or gone:\n{moved}"
    assert not lost, f"intact customers missing from golden_customer: {sorted(lost)}"
    shutil.rmtree(folder)
