"""Parquet reader: typed and nested columns come back as dotted text columns."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl

from connectors.readers.parquet_reader import read_parquet


def test_parquet_round_trip_flattens_and_stringifies(tmp_path: Path) -> None:
    source = pl.DataFrame(
        {
            "id": [101, 102, 103],
            "customer": [
                {"name": "Acme", "contact": {"email": "a@acme.com"}},
                {"name": "Beta", "contact": {"email": None}},
                None,
            ],
            "tags": [["vip", "b2b"], [], None],
            "revenue": [1.5, None, 3.0],
            "active": [True, False, None],
            "updated": [dt.datetime(2024, 1, 5, 10, tzinfo=dt.UTC), None, None],
            "postcode": ["01234", None, ""],
        }
    )
    path = tmp_path / "customers.parquet"
    source.write_parquet(path)

    frame = read_parquet(path)

    assert frame.data.schema == dict.fromkeys(
        [
            "id",
            "customer.name",
            "customer.contact.email",
            "tags",
            "revenue",
            "active",
            "updated",
            "postcode",
        ],
        pl.String(),
    )
    assert frame.data.rows() == [
        (
            "101",
            "Acme",
            "a@acme.com",
            '["vip","b2b"]',
            "1.5",
            "true",
            "2024-01-05 10:00:00.000000+00:00",
            "01234",
        ),
        ("102", "Beta", None, "[]", None, "false", None, None),
        ("103", None, None, None, "3.0", None, None, ""),
    ]
    assert frame.row_number.to_list() == [1, 2, 3]
    first = json.loads(frame.raw[0])
    assert first["customer"] == {"name": "Acme", "contact": {"email": "a@acme.com"}}
    assert (first["id"], first["tags"]) == (101, ["vip", "b2b"])
    assert (frame.rows_in, frame.failures.height) == (3, 0)
