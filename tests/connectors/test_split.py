"""split_by: one file becomes one source per value of a column, plus the remainder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.check import check_config
from connectors.config import SourceConfig
from connectors.errors import ConfigError, SourceReadError
from connectors.load import SourceBatch, load_source
from connectors.split import parse_split_sources, slug
from tests.connectors.conftest import WriteCsv, base_entry

ROWS = [
    ["id", "list", "name"],
    ["C1", "Family Child Care", "Acme"],
    ["C2", "Head Start", "Beta"],
    ["C3", " Family Child Care ", "Gamma"],  # surrounding space is no other value
    ["C4", "", "Delta"],  # no list: the remainder
    ["C5", "NAEYC", "Epsilon"],
    ["C1", "Head Start", "Acme"],  # one ID in two lists: two records
]
SOURCES = {"Family Child Care": {"name": "family_cc", "trust": {"default": 0.7, "tier": 0.9}}}


def split(tmp_path: Path, split_by: Any, **overrides: Any) -> tuple[SourceConfig, ...]:
    entry = {**base_entry(), "split_by": split_by, **overrides}
    return parse_split_sources([entry], base_dir=tmp_path)


def loaded(sources: tuple[SourceConfig, ...]) -> dict[str, SourceBatch]:
    return {s.name: load_source(s) for s in sources}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Head Start", "head_start"),
        ("CPS_Early_Childhood_Portal_scrape.csv", "cps_early_childhood_portal_scrape_csv"),
        ("  DFSS -- 2012 ", "dfss_2012"),
        ("Crèche Müller", "creche_muller"),
        ("ＮＡＥＹＣ", "naeyc"),  # full-width letters fold to ASCII
        ("家庭托儿所", ""),
        ("---", ""),
    ],
)
def test_slug(value: str, expected: str) -> None:
    assert slug(value) == expected


def test_each_value_is_a_source_with_its_own_name_and_trust(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    write_csv(ROWS)
    sources = split(tmp_path, {"column": "list", "sources": SOURCES})
    assert [s.name for s in sources] == ["family_cc", "crm_head_start", "crm_naeyc", "crm"]
    trust = {s.name: (s.trust_for("name"), s.trust_for("tier")) for s in sources}
    # A mapped trust replaces the entry's; slug-named values and the remainder keep it.
    assert trust == {
        "family_cc": (0.7, 0.9),
        "crm_head_start": (0.8, 0.8),
        "crm_naeyc": (0.8, 0.8),
        "crm": (0.8, 0.8),
    }
    batches = loaded(sources)
    ids = {name: b.records["source_record_id"].to_list() for name, b in batches.items()}
    assert ids == {"family_cc": ["C1", "C3"], "crm_head_start": ["C2", "C1"],
                   "crm_naeyc": ["C5"], "crm": ["C4"]}  # fmt: skip
    systems = {n: b.records["source_system"].unique().to_list() for n, b in batches.items()}
    assert systems == {name: [name] for name in batches}
    # Row numbers stay the file's own; every row is in exactly one source.
    assert batches["crm_head_start"].records["row_number"].to_list() == [2, 6]
    assert sum(b.rows_in for b in batches.values()) == len(ROWS) - 1
    assert all(b.rows_in == b.records.height + b.quarantine.height for b in batches.values())


def test_a_plain_column_uses_slugs_and_the_entry_trust(tmp_path: Path, write_csv: WriteCsv) -> None:
    write_csv(ROWS)
    sources = split(tmp_path, "list", trust={"default": 0.6})
    assert [(s.name, s.trust_for("email")) for s in sources] == [
        ("crm_family_child_care", 0.6),
        ("crm_head_start", 0.6),
        ("crm_naeyc", 0.6),
        ("crm", 0.6),
    ]
    # The split is part of each source's JSON (and so of the run's configuration hash).
    dumped = sources[0].model_dump(mode="json")
    assert dumped["split"] == {
        "column": "list",
        "value": "Family Child Care",
        "values": ["Family Child Care", "Head Start", "NAEYC"],
    }
    assert "split_by" not in dumped


def test_the_remainder_takes_empty_unreadable_and_new_values(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    write_csv(ROWS)
    sources = split(tmp_path, "list")
    # The export changes after the config was read: a new list and two rows the reader rejects.
    path = write_csv([*ROWS, ["C6", "Purple Binder", "Zeta"]])
    with path.open("ab") as export:
        export.write(b"C7,NAEYC,Eta\xff\r\n")  # bytes invalid in UTF-8; its list still reads
        export.write(b"C8,NAEYC\r\n")  # a field short: which cell is missing is not certain
    batches = loaded(sources)
    rest = batches["crm"]
    assert rest.records["source_record_id"].to_list() == ["C4"]
    quarantined = dict(zip(*rest.quarantine.select("source_record_id", "reason"), strict=True))
    assert sorted(quarantined, key=str) == ["C6", "C8"]
    assert quarantined["C6"] == (
        "column 'list': value 'Purple Binder' has no source of its own (split_by: it was not "
        "in the file when the config was read; read the config again to make it one)"
    )
    naeyc = batches["crm_naeyc"]
    assert naeyc.quarantine["source_record_id"].to_list() == ["C7"]
    assert sum(b.rows_in for b in batches.values()) == len(ROWS) - 1 + 3


def test_a_value_without_letters_or_digits_needs_a_name(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    write_csv([["id", "list", "name"], ["C1", "家庭托儿所", "Acme"], ["C2", "Head Start", "B"]])
    with pytest.raises(ConfigError, match=r"source 'crm': key 'split_by': value '家庭托儿所' of "
                       r"column 'list' has no letters or digits for a source name"):  # fmt: skip
        split(tmp_path, "list")
    named = split(tmp_path, {"column": "list", "sources": {"家庭托儿所": {"name": "family"}}})
    assert [s.name for s in named] == ["family", "crm_head_start", "crm"]


@pytest.mark.parametrize(
    ("rows", "split_by", "message"),
    [
        (
            [["id", "list", "name"], ["C1", "Head Start", "A"], ["C2", "head-start", "B"]],
            "list",
            r"value 'head-start' of column 'list' makes source 'crm_head_start', as does value "
            r"'Head Start'; name one in 'split_by.sources'",
        ),
        (
            [["id", "list", "name"], ["C1", "Head Start", "A"]],
            {"column": "list", "sources": {"Head Strat": {"name": "hs"}}},
            r"source 'crm': key 'split_by.sources': value 'Head Strat' is not in column 'list' "
            r"\(found: 'Head Start'\)",
        ),
        (
            [["id", "name"], ["C1", "A"]],
            "list",
            r"key 'split_by': column 'list' not found in .*export.csv",
        ),
        (
            [["id", "list", "name"], ["C1", "Head Start", "A"]],
            {"column": "list", "sources": {"Head Start": {"name": "crm"}}},
            r"value 'Head Start' of column 'list' makes source 'crm', the name of the source of "
            r"rows without a value; name one",
        ),
    ],
)
def test_config_errors(
    tmp_path: Path, write_csv: WriteCsv, rows: list[list[str]], split_by: Any, message: str
) -> None:
    write_csv(rows)
    with pytest.raises(ConfigError, match=message):
        split(tmp_path, split_by)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key 'split_by': the sources are the values of "
                       r"column 'list', and file not found: .*export.csv"):  # fmt: skip
        split(tmp_path, "list")


def test_a_list_that_left_the_export_is_refused(tmp_path: Path, write_csv: WriteCsv) -> None:
    write_csv(ROWS)
    sources = {s.name: s for s in split(tmp_path, "list")}
    write_csv([row for row in ROWS if row[1] != "NAEYC"])
    with pytest.raises(SourceReadError, match=r"source 'crm_naeyc': no row of .*export.csv has "
                       r"'NAEYC' in column 'list'"):  # fmt: skip
        load_source(sources["crm_naeyc"])
    # allow_empty: the source loads as none (and a mapped list may be absent from the start).
    write_csv(ROWS)
    allowed = {s.name: s for s in split(tmp_path, "list", allow_empty=True)}
    write_csv([row for row in ROWS if row[1] != "NAEYC"])
    assert load_source(allowed["crm_naeyc"]).rows_in == 0
    absent = {"column": "list", "sources": {"IDHS": {"name": "idhs"}}}
    assert "idhs" in [s.name for s in split(tmp_path, absent, allow_empty=True)]


def test_check_config_shows_the_split_sources(tmp_path: Path, write_csv: WriteCsv) -> None:
    write_csv(ROWS)
    (tmp_path / "fusion.yaml").write_text(
        "sources:\n"
        "  - name: crm\n"
        "    system: crm\n"
        "    path: export.csv\n"
        "    format: csv\n"
        "    record_id: id\n"
        "    fields: {name: name}\n"
        "    split_by: {column: list, sources: {Family Child Care: {name: family_cc}}}\n",
        encoding="utf-8",
    )
    report = check_config(tmp_path / "fusion.yaml", rows=5)
    assert report.ok
    shown = [(s.name, s.rows_in, s.quarantined) for s in report.sources]
    assert shown == [("family_cc", 2, 0), ("crm_head_start", 2, 0), ("crm_naeyc", 1, 0),
                     ("crm", 1, 0)]  # fmt: skip
    family = report.sources[0].records
    assert isinstance(family, pl.DataFrame)
    assert family.select("source_record_id", "name").rows() == [("C1", "Acme"), ("C3", "Gamma")]
