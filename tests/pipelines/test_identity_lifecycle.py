"""Scripted identity lifecycle on the samples: a second batch, a merge, a steward split,
a steward must-link and override, a delete and a re-appearance, across threshold changes.

Three runs of the whole graph share one warehouse (module fixture); each test checks
one documented behaviour of the resulting tables.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.stewardship.review import resolve_id
from pipelines.stewardship.store import StewardshipStore
from tests.pipelines.conftest import SAMPLES, run_samples

pytestmark = pytest.mark.slow

KEYS = ["source_system", "source_record_id"]
# Two records of one sample customer (FU-00000025 in a fresh warehouse) a steward splits.
SPLIT_LEFT, SPLIT_RIGHT = "crm:CRM-000265", "erp:KH003791"
X_ID, Y_ID, BRIDGE_ID = "CRM-900001", "CRM-900002", "CRM-900003"
NEW_SHARE = 0.10


@dataclass(frozen=True)
class Snapshot:
    xref: pl.DataFrame
    golden: pl.DataFrame
    history: pl.DataFrame
    retired: pl.DataFrame
    lineage: pl.DataFrame
    run_id: str

    @classmethod
    def read(cls, warehouse: Path) -> Snapshot:
        with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:

            def table(name: str) -> pl.DataFrame:
                return con.sql(f'SELECT * FROM "{name}"').pl()

            runs = table("pipeline_runs").filter(pl.col("status") == "succeeded")
            return cls(
                xref=table("customer_xref"),
                golden=table("golden_customer"),
                history=table("unified_id_history"),
                retired=table("retired_records"),
                lineage=table("field_lineage"),
                run_id=runs.sort("started_at")["run_id"][-1],
            )

    def id_of(self, key: str) -> str:
        source, record = key.split(":", 1)
        row = self.xref.filter(
            (pl.col("source_system") == source) & (pl.col("source_record_id") == record)
        )
        return str(row["unified_id"].item())

    def events_of(self, run_id: str) -> set[tuple[str, str, str | None]]:
        rows = self.history.filter(pl.col("run_id") == run_id)
        return set(rows.select("unified_id", "event", "other_unified_id").iter_rows())


class CrmExport:
    """The samples' CRM CSV as rows we can add to, change and delete from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        self.header, self.rows = rows[0], rows[1:]

    def record(self, **values: str) -> list[str]:
        row = dict.fromkeys(self.header, "")
        row.update(values)
        return [row[h] for h in self.header]

    def write(self) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([self.header, *self.rows])
        self.path.write_text(out.getvalue(), encoding="utf-8")

    def remove(self, record_id: str) -> list[str]:
        index = next(i for i, r in enumerate(self.rows) if r[0] == record_id)
        return self.rows.pop(index)


def person(crm: CrmExport, record_id: str, name: str, **values: str) -> list[str]:
    return crm.record(
        customer_id=record_id, account_type="Person", account_name=name, country="Germany",
        city="Berlin", tier="B", **values,
    )  # fmt: skip


def with_threshold(config: Path, threshold: float) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(f"{text}\nmatching:\n  model:\n    match_threshold: {threshold}\n", "utf-8")


def second_batch(crm: CrmExport) -> tuple[int, int]:
    """About 10% of the samples' rows as new and changed CRM records (seeded)."""
    import random

    rng = random.Random(20261122)
    total = 6_643
    originals = [r for r in crm.rows if r[0].startswith("CRM-0")]
    changed = rng.sample(originals, k=total * 3 // 100)
    email = crm.header.index("email")
    stamp = crm.header.index("last_modified")
    for row in changed:
        if row[email]:
            row[email] = "new." + row[email]
        row[stamp] = "2026-10-30T08:00:00Z"
    new = []
    for i, source in enumerate(rng.sample(originals, k=int(total * NEW_SHARE) - len(changed))):
        copy = list(source)
        copy[0] = f"CRM-8{i:05d}"
        copy[stamp] = "2026-10-31T08:00:00Z"
        new.append(copy)
    crm.rows.extend(new)
    return len(changed), len(new)


@dataclass(frozen=True)
class Scenario:
    first: Snapshot
    second: Snapshot
    third: Snapshot
    deleted: str
    must_link: tuple[str, str]
    override_id: str
    warehouse: Path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("lifecycle")
    samples = root / "samples"
    shutil.copytree(SAMPLES, samples, ignore=shutil.ignore_patterns("truth", "generator", "*.py"))
    warehouse = root / "wh"
    config = samples / "fusion.yaml"
    crm = CrmExport(samples / "crm_customers.csv")
    # Two records of one person that the first run cannot link: no shared e-mail or phone.
    crm.rows.append(person(crm, X_ID, "Anna Kowalczyk", email="anna.kowalczyk@example.org",
                           last_modified="2026-01-05T10:00:00Z"))  # fmt: skip
    crm.rows.append(person(crm, Y_ID, "A. Kowalczyk", phone="+49 1512 3456789",
                           last_modified="2026-01-06T10:00:00Z"))  # fmt: skip
    crm.write()
    run_samples(warehouse, config)
    first = Snapshot.read(warehouse)

    singles = (
        first.xref.group_by("unified_id").agg(pl.col("source_record_id").first(), pl.len())
        .filter((pl.col("len") == 1) & pl.col("source_record_id").str.starts_with("CRM-0"))
        .sort("unified_id")["source_record_id"].to_list()
    )  # fmt: skip
    deleted, linked_a, linked_b = singles[0], singles[1], singles[2]
    store = StewardshipStore(warehouse)
    store.record_link(SPLIT_LEFT, SPLIT_RIGHT, decision="cannot_link", steward="mei",
                      reason="different tax registrations confirmed by phone")  # fmt: skip
    store.record_link(f"crm:{linked_a}", f"crm:{linked_b}", decision="must_link",
                      steward="mei", reason="same company after rebranding")  # fmt: skip
    override_id = first.id_of("crm:CRM-000123")
    store.record_override(override_id, "name", "Steward Corrected Name Ltd", steward="mei",
                          reason="registered name per business licence")  # fmt: skip

    # Second run: a bridge record, a delete, ~10% new and changed records, a lower threshold.
    bridge = person(crm, BRIDGE_ID, "Anna Kowalczyk", email="anna.kowalczyk@example.org",
                    phone="+49 1512 3456789", last_modified="2026-02-01T10:00:00Z")  # fmt: skip
    crm.rows.append(bridge)
    removed = crm.remove(deleted)
    second_batch(crm)
    crm.write()
    with_threshold(config, 0.85)
    run_samples(warehouse, config)
    second = Snapshot.read(warehouse)

    # Third run: the deleted record is back, and the threshold changed again.
    crm.rows.append(removed)
    crm.write()
    config.write_text((SAMPLES / "fusion.yaml").read_text(encoding="utf-8"), "utf-8")
    with_threshold(config, 0.97)
    run_samples(warehouse, config)
    third = Snapshot.read(warehouse)
    return Scenario(first, second, third, deleted, (linked_a, linked_b), override_id, warehouse)


def test_second_batch_keeps_every_id_whose_records_still_belong_together(
    scenario: Scenario,
) -> None:
    before = scenario.first.xref.select(*KEYS, pl.col("unified_id").alias("before"))
    after = scenario.second.xref.select(*KEYS, pl.col("unified_id").alias("after"))
    both = before.join(after, on=KEYS)
    together = both.group_by("before").agg(
        pl.col("after").n_unique().alias("n"), pl.col("after").first()
    )
    intact = together.filter(pl.col("n") == 1)
    # Customers a steward or the bridge deliberately changed are excluded; all others intact.
    assert intact.height > 2_300
    kept = intact.filter(pl.col("before") == pl.col("after")).height
    merged_away = set(
        scenario.second.history.filter(
            (pl.col("run_id") == scenario.second.run_id) & (pl.col("event") == "merged_into")
        )["unified_id"]
    )
    assert kept + intact.filter(pl.col("before").is_in(list(merged_away))).height == intact.height


def test_a_new_record_bridging_two_customers_merges_them_into_the_oldest(
    scenario: Scenario,
) -> None:
    first, second = scenario.first, scenario.second
    x, y = first.id_of(f"crm:{X_ID}"), first.id_of(f"crm:{Y_ID}")
    assert x != y
    assert (
        second.id_of(f"crm:{X_ID}")
        == second.id_of(f"crm:{Y_ID}")
        == second.id_of(f"crm:{BRIDGE_ID}")
    )
    oldest, retired = sorted([x, y])
    assert second.id_of(f"crm:{X_ID}") == oldest
    assert (retired, "merged_into", oldest) in second.events_of(second.run_id)
    resolution = resolve_id(scenario.warehouse, retired)
    assert resolution.live_id == oldest


def test_a_steward_cannot_link_splits_a_customer_and_survives_threshold_changes(
    scenario: Scenario,
) -> None:
    original = scenario.first.id_of(SPLIT_LEFT)
    assert scenario.first.id_of(SPLIT_RIGHT) == original
    for snapshot in (scenario.second, scenario.third):
        left, right = snapshot.id_of(SPLIT_LEFT), snapshot.id_of(SPLIT_RIGHT)
        assert left != right
        assert original in {left, right}
    second = scenario.second
    moved = ({second.id_of(SPLIT_LEFT), second.id_of(SPLIT_RIGHT)} - {original}).pop()
    assert (moved, "split_from", original) in second.events_of(second.run_id)


def test_a_steward_must_link_merges_and_survives_threshold_changes(scenario: Scenario) -> None:
    a, b = scenario.must_link
    assert scenario.first.id_of(f"crm:{a}") != scenario.first.id_of(f"crm:{b}")
    for snapshot in (scenario.second, scenario.third):
        assert snapshot.id_of(f"crm:{a}") == snapshot.id_of(f"crm:{b}")


def test_a_steward_override_wins_survivorship_with_its_own_lineage(scenario: Scenario) -> None:
    for snapshot in (scenario.second, scenario.third):
        golden = snapshot.golden.filter(pl.col("unified_id") == scenario.override_id)
        assert golden["name"].item() == "Steward Corrected Name Ltd"
        lineage = snapshot.lineage.filter(
            (pl.col("unified_id") == scenario.override_id) & (pl.col("field") == "name")
        ).row(0, named=True)
        assert lineage["rule"] == "steward_override"
        assert lineage["source_system"] == "steward"
        assert lineage["source_column"] == "mei"


def test_a_deleted_record_is_retired_and_its_id_resolves_as_retired(scenario: Scenario) -> None:
    first, second = scenario.first, scenario.second
    old_id = first.id_of(f"crm:{scenario.deleted}")
    retired = second.retired.filter(pl.col("source_record_id") == scenario.deleted)
    assert retired.select("source_system", "unified_id", "retired_run_id").row(0) == (
        "crm", old_id, second.run_id,
    )  # fmt: skip
    assert (old_id, "retired", None) in second.events_of(second.run_id)
    assert scenario.deleted not in set(second.xref["source_record_id"])


def test_a_reappearing_record_gets_its_old_id_back(scenario: Scenario) -> None:
    old_id = scenario.first.id_of(f"crm:{scenario.deleted}")
    assert scenario.third.id_of(f"crm:{scenario.deleted}") == old_id
    assert scenario.deleted not in set(scenario.third.retired["source_record_id"])
    assert resolve_id(scenario.warehouse, old_id).live_id == old_id


def test_every_id_ever_issued_resolves(scenario: Scenario) -> None:
    third = scenario.third
    live = set(third.golden["unified_id"])
    for unified_id in third.history["unified_id"].unique().to_list():
        resolution = resolve_id(scenario.warehouse, unified_id)
        assert resolution.live_id is None or resolution.live_id in live


def test_explain_agrees_with_the_evidence_after_batches_and_names_steward_decisions(
    scenario: Scenario,
) -> None:
    """After incremental batches and threshold changes, `fusion explain` still scores
    with what the run used (the stored model, name statistics and TF population)."""
    from pipelines.stewardship.explain import explain_pair
    from pipelines.warehouse import Warehouse

    evidence = Warehouse(scenario.warehouse).read_table("match_evidence")
    assert evidence is not None
    batch = (
        evidence.filter(pl.col("right_source_record_id").str.starts_with("CRM-8"))
        .sort("left_source_system", "left_source_record_id", "right_source_record_id")
        .gather_every(50)
        .head(6)
    )
    assert batch.height == 6
    for row in batch.iter_rows(named=True):
        left = f"{row['left_source_system']}:{row['left_source_record_id']}"
        right = f"{row['right_source_system']}:{row['right_source_record_id']}"
        explained = explain_pair(scenario.warehouse, left, right)
        assert explained.candidate
        assert (explained.match_weight, explained.decision) == (
            row["match_weight"],
            row["decision"],
        ), (left, right)
        for step in explained.steps:
            assert step.weight == row[f"{step.comparison}_weight"], (left, right, step)
    a, b = scenario.must_link
    linked = explain_pair(scenario.warehouse, f"crm:{a}", f"crm:{b}")
    assert (linked.steward_decision, linked.same_unified_id) == ("must_link", True)
    assert linked.verdict() == "merged: a steward must-linked this pair"
    split = explain_pair(scenario.warehouse, SPLIT_RIGHT, SPLIT_LEFT)
    assert (split.steward_decision, split.same_unified_id) == ("cannot_link", False)
    assert split.verdict() == "kept apart: a steward cannot-linked this pair"
