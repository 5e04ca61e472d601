"""bench.golden_accuracy on a hand-made warehouse: plain, knowable and reachable accuracy."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from bench.golden_accuracy import measure


def _warehouse(root: Path, *, with_std: bool) -> Path:
    tables = {
        "golden_customer": pl.DataFrame(
            {
                "unified_id": ["U1", "U2"],
                "customer_type": ["company", "person"],
                "name": ["瑞凯软件(上海)有限公司", "老王"],
                "phone": ["+862172806681", "+8613800138000"],
                "tier": ["B", None],
            }
        ),
        "customer_xref": pl.DataFrame(
            {
                "source_system": ["erp", "tickets", "tickets"],
                "source_record_id": ["1", "2", "3"],
                "unified_id": ["U1", "U1", "U2"],
            }
        ),
        "customer_contacts": pl.DataFrame(
            {"unified_id": ["U1"], "name": ["郭明"], "email": [None], "phone": [None]},
            schema_overrides={"email": pl.String, "phone": pl.String},
        ),
    }
    if with_std:
        tables["standardised_records"] = pl.DataFrame(
            {
                "source_system": ["erp", "tickets", "tickets"],
                "source_record_id": ["1", "2", "3"],
                "name": ["瑞凯软件(上海)有限公司", "瑞凯", "老王"],
                "phone": ["+862172806681", None, "+8613800138000"],
                "tier": ["B", None, None],
            }
        )
    root.mkdir()
    with duckdb.connect(str(root / "golden.duckdb")) as con:
        for name, frame in tables.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    return root


def _truth(root: Path) -> Path:
    root.mkdir()
    pl.DataFrame(
        {
            "source_system": ["erp", "tickets", "tickets"],
            "source_record_id": ["1", "2", "3"],
            "entity_id": ["E1", "E1", "E2"],
        }
    ).write_csv(root / "records.csv")
    pl.DataFrame(
        {
            "entity_id": ["E1", "E2"],
            "customer_type": ["company", "person"],
            "name": ["上海瑞凯软件有限公司", "王大明"],
            "phone": ["+862172806681", "+8613800138000"],
            "tier": ["A", "C"],
        }
    ).write_csv(root / "entities.csv")
    pl.DataFrame(
        {
            "entity_id": ["E1", "E1"],
            "contact_no": [0, 1],
            "name": ["郭明", "郭静"],
            "email": ["m.guo@rk.cn", "j.guo@rk.cn"],
            "phone": ["+8613900139000", "+8613700137000"],
            "records": [1, 0],
        }
    ).write_csv(root / "contacts.csv")
    return root


def test_three_accuracies_and_contact_recall(tmp_path: Path) -> None:
    result = measure(_warehouse(tmp_path / "wh", with_std=True), _truth(tmp_path / "truth"))
    every = result["all"]
    assert isinstance(every, dict)
    # name: E1's golden is the bracketed spelling of its name, E2's the nickname; no
    # record holds 王大明 nor the truth's spelling of E1's name.
    assert (every["name"]["accuracy"], every["name"]["knowable_accuracy"]) == (0.0, 0.0)
    assert every["name"]["reachable_total"] == 0
    # with spellings of one name as one, E1 is right and reachable
    spelled = every["name_any_spelling"]
    assert (spelled["accuracy"], spelled["knowable_accuracy"]) == (0.5, 0.5)
    assert (spelled["reachable_total"], spelled["reachable_accuracy"]) == (1, 1.0)
    # tier: E1's records hold a stale B, E2's none.
    assert (every["tier"]["total"], every["tier"]["knowable_total"]) == (2, 1)
    assert every["tier"]["reachable_total"] == 0
    assert result["contacts"] == {
        "judged": 1,
        "found": 1,
        "named": 1,
        "unfindable": 1,
        "recall": 1.0,
        "named_recall": 1.0,
    }


def test_an_older_warehouse_without_standardised_records(tmp_path: Path) -> None:
    result = measure(_warehouse(tmp_path / "wh", with_std=False), _truth(tmp_path / "truth"))
    every = result["all"]
    assert isinstance(every, dict)
    assert every["name"] == {"correct": 0, "total": 2, "accuracy": 0.0}
    assert every["name_any_spelling"] == {"correct": 1, "total": 2, "accuracy": 0.5}
