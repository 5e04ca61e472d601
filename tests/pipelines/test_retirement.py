"""The retirement guard's arithmetic, the readable IDs of rejected rows, and the guard settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from connectors.errors import ConfigError
from connectors.mapping import _record_id_in_object, _record_id_in_row
from pipelines.settings import load_fusion_config
from pipelines.warehouse.retirement import (
    RetirementCounts,
    RetirementGuard,
    RetirementGuardError,
    check_retirement,
    retirement_counts,
)

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "data" / "samples" / "fusion.yaml"
GUARD = RetirementGuard(max_source_share=0.05, max_customer_share=0.05)


@pytest.mark.parametrize(
    ("records", "customers", "expected"),
    [
        ({"crm": (100, 5)}, (100, 5), None),  # exactly the share passes
        ({"crm": (100, 6)}, (100, 1),
         "source 'crm': this run would retire 6 of 100 published records (6.0%, limit 5.0%)"),
        ({"crm": (1000, 0), "erp": (10, 1)}, (900, 1), "'erp': this run would retire 1 of 10"),
        ({"crm": (100, 0)}, (0, 0), None),
        ({"crm": (1000, 40), "erp": (1000, 40)}, (100, 6),
         "this run would retire 6 of 100 published customers (6.0%"),
        ({"crm": (391, 391)}, (391, 391),
         "source 'crm': this run would retire 391 of 391 published records (100.0%"),
    ],
)  # fmt: skip
def test_the_guard_stops_past_its_share_in_one_line(
    records: dict[str, tuple[int, int]], customers: tuple[int, int], expected: str | None
) -> None:
    counts = RetirementCounts(
        records=records, published_customers=customers[0], retired_customers=customers[1]
    )
    if expected is None:
        check_retirement(counts, guard=GUARD)
        return
    with pytest.raises(RetirementGuardError) as info:
        check_retirement(counts, guard=GUARD)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert "--allow-retire" in message
    allowed = RetirementGuard(max_source_share=0.05, max_customer_share=0.05, allow=True)
    check_retirement(counts, guard=allowed)


def test_counts_take_records_per_source_and_customers_left_without_records() -> None:
    previous = pl.DataFrame(
        {
            "source_system": ["crm", "crm", "crm", "erp"],
            "source_record_id": ["C1", "C2", "C3", "E1"],
            "unified_id": ["FU-1", "FU-1", "FU-2", "FU-3"],
        }
    )
    retired = previous.filter(pl.col("source_record_id").is_in(["C2", "C3"]))
    events = pl.DataFrame(
        {"unified_id": ["FU-2", "FU-4"], "event": ["retired", "created"], "other_unified_id": None}
    )
    counts = retirement_counts(previous, newly_retired=retired, events=events)
    # FU-1 keeps C1: one record gone from it retires no customer.
    assert counts == RetirementCounts(
        records={"crm": (3, 2), "erp": (1, 0)}, published_customers=3, retired_customers=1
    )
    assert retirement_counts(None, newly_retired=retired, events=events).records == {}


@pytest.mark.parametrize(
    ("raw", "position", "expected"),
    [
        ('CRM-1,Person,"Wang,,a@b.cn', 0, "CRM-1"),  # a stray quote after the ID
        ('Person,"Wang,CRM-1,a@b.cn', 2, None),  # a stray quote before it: cells shifted
        ('"CRM-1,Person,Wang', 0, None),  # the ID cell itself opens the quote
        ('["CRM-1","Person","Wang","a@b.cn"]', 0, "CRM-1"),
        ('["Person","Wang","CRM-1","a@b.cn"]', 2, "CRM-1"),  # full row of cells
        ('["Person","Wang","CRM-1"]', 2, None),  # a short row: no telling which cell moved
        ('["CRM-1","\\xd0\\xed","x","y"]', 0, "CRM-1"),  # undecodable bytes shown as \\xNN
        ('[" CRM-1 ","a","b","c"]', 0, "CRM-1"),
        ('["","a","b","c"]', 0, None),
        (None, 0, None),
    ],
)
def test_a_rejected_rows_id_is_read_only_where_certain(
    raw: str | None, position: int, expected: str | None
) -> None:
    assert _record_id_in_row(raw, position=position, width=4, delimiter=",") == expected


@pytest.mark.parametrize(
    ("raw", "path", "expected"),
    [
        # Found by tests/reliability/test_corruption_property.py: a JSON Lines row with one
        # byte not valid UTF-8 was quarantined with no ID, so its record was retired.
        ('{"id": "EC-1", "customer": {"name": "A\\xe9"}}', "id", "EC-1"),
        ('\ufeff{"id": " EC-1\u200b", "x": {"y": {}}}', "id", "EC-1"),  # BOM, invisible
        ('{"buyer": {"id": "EC-1"}, "a": [1]}', "buyer.id", "EC-1"),
        ('{"id": 123, "x": "\\xff"}', "id", "123"),  # numbers are their JSON text
        ('{"id": "EC-1", "customer": {"name": "A"', "id", None),  # cut: not an object
        ('{"id": "EC-\\xe9", "x": 1}', "id", None),  # undecodable bytes in the ID
        ('{"id": {"n": 1}}', "id", None),
        ('{"id": true}', "id", None),
        ("[1, 2]", "id", None),
        ("[" * 100_000 + "]" * 100_000, "id", None),
        (None, "id", None),
    ],
)
def test_a_rejected_json_lines_rows_id_is_read_while_it_is_an_object(
    raw: str | None, path: str, expected: str | None
) -> None:
    assert _record_id_in_object(raw, path=path) == expected


def test_guard_shares_are_settings_that_keep_the_config_hash(tmp_path: Path) -> None:
    default = load_fusion_config(SAMPLE_CONFIG)
    assert (default.run.max_retire_share, default.run.max_customer_retire_share) == (0.05, 0.05)
    assert "max_retire_share" not in default.to_json()
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    for value, valid in (("0.2", True), ("1.5", False)):
        config = tmp_path / f"share-{value}.yaml"
        config.write_text(
            text.replace("run:\n", f"run:\n  max_retire_share: {value}\n", 1), encoding="utf-8"
        )
        for export in SAMPLE_CONFIG.parent.glob("*.*"):
            if not (tmp_path / export.name).exists():
                shutil.copy(export, tmp_path / export.name)
        if valid:
            loaded = load_fusion_config(config)
            assert loaded.run.max_retire_share == 0.2
            assert loaded.config_hash != default.config_hash
        else:
            with pytest.raises(ConfigError, match="run.max_retire_share"):
                load_fusion_config(config)
