"""Retirement only on evidence (issue 28): bad exports never remove published customers.

A warehouse is published from the CRM and e-commerce samples; each case
copies it, breaks the CRM export the way a failed extract does, and runs
again. Whatever the run does, nothing published is lost: the customers the
case did not touch keep their IDs, golden values and lineage. A quarantined
row keeps its customer with the last good values (``carried_records``); a
run that would retire more than 5% of a source stops before publishing
unless ``--allow-retire`` says so.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import yaml

from connectors.canonical import GOLDEN_FIELDS
from pipelines.orchestration.runner import RunFailedError
from tests.reliability.conftest import (
    fusion_cli,
    read_tables,
    release_digest,
    run_quiet,
    two_source_samples,
)

LINES = 400
CRM = "crm_customers.csv"
KEYS = ["source_system", "source_record_id"]
# What a customer is: its golden values, and where each came from. Trust scores and
# ages are left out: they are measured from each run's clock, not from the data.
LINEAGE_COLUMNS = ["unified_id", "field", "value", "source_system", "source_record_id",
                   "source_column", "source_updated_at"]  # fmt: skip


@dataclass(frozen=True)
class Published:
    """What a release promises: records -> IDs, customers' golden values and their lineage."""

    xref: pl.DataFrame
    golden: pl.DataFrame
    lineage: pl.DataFrame
    tables: dict[str, pl.DataFrame]

    @classmethod
    def read(cls, warehouse: Path) -> Published:
        tables = read_tables(warehouse)
        return cls(
            xref=tables["customer_xref"].select(*KEYS, "unified_id").sort(KEYS),
            golden=tables["golden_customer"]
            .select("unified_id", *GOLDEN_FIELDS, "first_seen_at")
            .sort("unified_id"),
            lineage=tables["field_lineage"].select(LINEAGE_COLUMNS).sort("unified_id", "field"),
            tables=tables,
        )

    def customers(self, ids: set[str]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Records, golden rows and lineage of the customers ``ids``."""
        keep = pl.col("unified_id").is_in(sorted(ids))
        return self.xref.filter(keep), self.golden.filter(keep), self.lineage.filter(keep)


@dataclass(frozen=True)
class Copy:
    """A copy of the samples and of the warehouse published from them."""

    config: Path
    warehouse: Path

    @property
    def crm(self) -> Path:
        return self.config.parent / CRM

    def crm_lines(self) -> list[str]:
        return self.crm.read_text(encoding="utf-8").splitlines(keepends=True)

    def run(self) -> Published:
        run_quiet(self.config, self.warehouse)
        return Published.read(self.warehouse)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Published]:
    """The two-source samples published once; cases run on copies of the folder."""
    folder = tmp_path_factory.mktemp("retire")
    config = two_source_samples(folder / "samples", lines=LINES)
    run_quiet(config, folder / "wh")
    return folder, Published.read(folder / "wh")


@pytest.fixture
def copy(published: tuple[Path, Published], tmp_path: Path) -> Copy:
    folder, _ = published
    shutil.copytree(folder / "samples", tmp_path / "samples")
    shutil.copytree(folder / "wh", tmp_path / "wh", symlinks=True)
    return Copy(config=tmp_path / "samples" / "fusion.yaml", warehouse=tmp_path / "wh")


def crm_record_id(line: str) -> str:
    return line.split(",", 1)[0]


def untouched(before: Published, records: set[str]) -> set[str]:
    """The customers none of whose records is among the CRM ``records``."""
    touched = before.xref.filter(
        (pl.col("source_system") == "crm") & pl.col("source_record_id").is_in(sorted(records))
    )
    return set(before.xref["unified_id"]) - set(touched["unified_id"])


def assert_kept(before: Published, after: Published, ids: set[str]) -> None:
    """The customers ``ids`` have the same records, IDs, golden values and lineage."""
    for old, new in zip(before.customers(ids), after.customers(ids), strict=True):
        assert new.equals(old)
    assert set(after.golden["unified_id"]) >= ids


def assert_fails_and_keeps(copy: Copy, *, expect: str) -> str:
    """The run fails with one line holding ``expect``; the release is byte for byte the same."""
    before = release_digest(copy.warehouse)
    with pytest.raises(RunFailedError) as info:
        run_quiet(copy.config, copy.warehouse)
    message = str(info.value)
    assert "\n" not in message
    assert expect in message
    assert release_digest(copy.warehouse) == before
    return message


@pytest.mark.parametrize(
    ("case", "content"),
    [("empty-file", ""), ("header-only", "HEADER")],
)
def test_an_empty_or_header_only_export_retires_nobody(
    copy: Copy, published: tuple[Path, Published], case: str, content: str
) -> None:
    header = copy.crm_lines()[0]
    copy.crm.write_text(header if content == "HEADER" else content, encoding="utf-8")
    # Refused as an empty source (connectors.load) before the guard is reached.
    message = assert_fails_and_keeps(copy, expect="'crm'")
    assert "has no data rows" in message
    assert Published.read(copy.warehouse).golden.equals(published[1].golden), case


def test_a_source_allowed_to_be_empty_is_still_stopped_by_the_guard(copy: Copy) -> None:
    document = yaml.safe_load(copy.config.read_text(encoding="utf-8"))
    document["sources"][0]["allow_empty"] = True
    copy.config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    copy.crm.write_text(copy.crm_lines()[0], encoding="utf-8")
    crm = Published.read(copy.warehouse).xref.filter(pl.col("source_system") == "crm")
    message = assert_fails_and_keeps(copy, expect="source 'crm': this run would retire")
    assert f"retire {crm.height} of {crm.height} published records" in message


def test_a_whole_file_in_the_wrong_codec_keeps_every_customer(
    copy: Copy, published: tuple[Path, Published]
) -> None:
    _, before = published
    text = copy.crm.read_text(encoding="utf-8")
    copy.crm.write_bytes(text.encode("gb18030"))  # declared utf-8 in the config
    after = copy.run()

    tables = after.tables
    quarantined = tables["quarantine"].filter(pl.col("reason").str.contains("not valid utf-8"))
    assert quarantined.height > 50  # every row with Chinese text
    carried = tables["carried_records"]
    # Each quarantined row of a published record keeps it (rows quarantined before stay out).
    was_published = set(before.xref.filter(pl.col("source_system") == "crm")["source_record_id"])
    assert set(carried["source_record_id"]) == set(quarantined["source_record_id"]) & was_published
    assert tables["retired_records"].height == 0
    # Every customer is there with the values and lineage it had.
    assert_kept(before, after, set(before.xref["unified_id"]))
    assert after.golden.height == before.golden.height
    run = tables["pipeline_runs"].sort("started_at").row(-1, named=True)
    assert (run["records_carried"], run["records_retired"]) == (carried.height, 0)


def test_a_stray_quote_quarantines_the_row_and_keeps_its_customer(
    copy: Copy, published: tuple[Path, Published]
) -> None:
    _, before = published
    lines = copy.crm_lines()
    row = 5
    record = crm_record_id(lines[row])
    cells = lines[row].split(",")
    cells[2] = '"' + cells[2]  # account_name opens a quote that never closes
    lines[row] = ",".join(cells)
    copy.crm.write_text("".join(lines), encoding="utf-8")
    after = copy.run()

    quarantine = after.tables["quarantine"].filter(pl.col("row_number") == row)
    assert quarantine.select("source_record_id", "reason").row(0)[0] == record
    assert "unbalanced quote" in quarantine["reason"][0]
    carried = after.tables["carried_records"]
    customer = before.xref.filter(pl.col("source_record_id") == record)["unified_id"][0]
    assert carried.select("source_record_id", "unified_id", "row_number").rows() == [
        (record, customer, row)
    ]
    assert after.tables["retired_records"].height == 0
    assert_kept(before, after, set(before.xref["unified_id"]))
    # The invariant holds with the carried record: its row is counted once, in quarantine.
    runs = after.tables["pipeline_runs"].sort("started_at")
    assert runs["rows_in"][-1] == runs["rows_in"][0]


def _delete_crm_rows(copy: Copy, share: float) -> set[str]:
    """Delete every n-th CRM data row (``share`` of them); return their record IDs."""
    lines = copy.crm_lines()
    step = round(1 / share)
    gone = {i for i in range(1, len(lines)) if i % step == 0}
    copy.crm.write_text("".join(x for i, x in enumerate(lines) if i not in gone), encoding="utf-8")
    return {crm_record_id(lines[i]) for i in gone}


def test_deleting_a_tenth_of_a_source_stops_before_publishing(copy: Copy) -> None:
    gone = _delete_crm_rows(copy, 0.1)
    published_crm = Published.read(copy.warehouse).xref.filter(pl.col("source_system") == "crm")
    retiring = published_crm.filter(pl.col("source_record_id").is_in(sorted(gone))).height
    message = assert_fails_and_keeps(copy, expect="source 'crm': this run would retire")
    assert f"retire {retiring} of {published_crm.height} published records" in message
    assert "limit 5.0%" in message
    assert "--allow-retire" in message


def test_allow_retire_retires_exactly_the_deleted_records(
    copy: Copy, published: tuple[Path, Published]
) -> None:
    _, before = published
    gone = _delete_crm_rows(copy, 0.1)
    result = fusion_cli(
        "run", "--config", str(copy.config), "--warehouse", str(copy.warehouse),
        "--allow-retire", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    after = Published.read(copy.warehouse)
    retired = after.tables["retired_records"]
    expected = before.xref.filter(
        (pl.col("source_system") == "crm") & pl.col("source_record_id").is_in(sorted(gone))
    )
    assert retired.select(KEYS).sort(KEYS).equals(expected.select(KEYS))
    assert after.tables["carried_records"].height == 0
    assert_kept(before, after, untouched(before, gone))


def test_deleting_one_record_retires_it_below_the_threshold(
    copy: Copy, published: tuple[Path, Published]
) -> None:
    _, before = published
    lines = copy.crm_lines()
    record = crm_record_id(lines[7])
    copy.crm.write_text("".join(x for i, x in enumerate(lines) if i != 7), encoding="utf-8")
    after = copy.run()

    retired = after.tables["retired_records"]
    owner = before.xref.filter(pl.col("source_record_id") == record)["unified_id"][0]
    assert retired.select("source_record_id", "unified_id").rows() == [(record, owner)]
    assert_kept(before, after, untouched(before, {record}))
    run = after.tables["pipeline_runs"].sort("started_at").row(-1, named=True)
    assert run["records_retired"] == 1


def test_a_lower_share_in_the_config_stops_a_single_deletion(copy: Copy) -> None:
    document = yaml.safe_load(copy.config.read_text(encoding="utf-8"))
    document["run"] = {"max_retire_share": 0.0}
    copy.config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    lines = copy.crm_lines()
    copy.crm.write_text("".join(x for i, x in enumerate(lines) if i != 7), encoding="utf-8")
    assert_fails_and_keeps(copy, expect="retire 1 of")
