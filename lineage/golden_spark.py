"""Survivorship on Spark: the shared ``build_golden_record`` per group of customers.

Survivorship only ever compares records of one unified customer, plus one
run-wide instant (``as_of``, the run clock, which trust ages values
against). So the records are bucketed by a hash of their ``unified_id`` (a
shuffle), each bucket runs ``build_golden_record`` itself with the run's
``as_of``, and the buckets' outputs are stacked. Each bucket's output is sorted
by ``unified_id`` and buckets hold disjoint customers, so a stable sort on
``unified_id`` restores the one-machine order byte for byte.

A grouped Arrow UDF returns one table, survivorship three: each bucket
returns its three frames as Arrow IPC payloads, decoded on the driver (at
cluster scale the executors would write them as Parquet instead;
docs/SCALING.md).
"""

from __future__ import annotations

import io
from datetime import datetime

import polars as pl
import pyarrow as pa

from connectors.canonical import RECORD_KEY_COLUMNS
from lineage.golden import GoldenRecord, build_golden_record, latest_update
from lineage.settings import SurvivorshipSettings
from lineage.trust import Sources
from matching.engines.spark_frames import to_spark
from matching.engines.spark_session import spark_session
from matching.settings import SparkSettings

XREF_PREFIX = "__xref__"
BUCKET = "__bucket"
OUTPUTS = ("golden_customer", "field_candidates")
RECORDS_PER_BUCKET = 20_000


def _ipc(frame: pl.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.write_ipc(sink)
    return sink.getvalue()


def _bucket_golden(
    table: pa.Table,
    *,
    std_columns: list[str],
    xref_columns: list[str],
    schemas: tuple[pl.Schema, pl.Schema],
    sources: Sources,
    settings: SurvivorshipSettings,
    run_id: str,
    as_of: datetime | None,
) -> pa.Table:
    """``build_golden_record`` over one bucket of customers, its three frames as IPC."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    std_schema, xref_schema = schemas
    std = frame.select(std_columns).cast(std_schema)
    xref = frame.select(
        *RECORD_KEY_COLUMNS, *(pl.col(f"{XREF_PREFIX}{c}").alias(c) for c in xref_columns)
    ).cast(xref_schema)
    golden = build_golden_record(
        std, xref, sources=sources, settings=settings, run_id=run_id, as_of=as_of
    )
    payloads = [_ipc(getattr(golden, name)) for name in OUTPUTS]
    return pa.table({"output": list(OUTPUTS), "payload": pa.array(payloads, pa.binary())})


def build_golden_record_spark(
    std_records: pl.DataFrame,
    xref: pl.DataFrame,
    *,
    sources: Sources,
    settings: SurvivorshipSettings,
    run_id: str,
    spark_settings: SparkSettings,
    as_of: datetime | None = None,
) -> GoldenRecord:
    """``lineage.golden.build_golden_record`` with customers spread over Spark executors.

    Inputs ``build_golden_record`` would reject (records and xref disagree) go
    to it directly, so the error is the same one. ``as_of`` as there (the run
    clock; default: the records' latest update).

    Example::

        golden = build_golden_record_spark(std, xref, sources=config.sources,
            settings=config.survivorship, run_id=run_id, spark_settings=SparkSettings())
    """
    keys = list(RECORD_KEY_COLUMNS)
    xref_columns = [c for c in xref.columns if c not in keys]
    joined = std_records.join(
        xref.rename({c: f"{XREF_PREFIX}{c}" for c in xref_columns}), on=keys, how="inner"
    )
    if joined.height == 0 or joined.height != std_records.height or joined.height != xref.height:
        return build_golden_record(
            std_records, xref, sources=sources, settings=settings, run_id=run_id, as_of=as_of
        )
    from pyspark.sql import functions as F

    spark = spark_session(spark_settings)
    buckets = max(spark_settings.shuffle_partitions, joined.height // RECORDS_PER_BUCKET)
    std_columns = std_records.columns
    schemas = (std_records.schema, xref.schema)
    as_of = latest_update(std_records) if as_of is None else as_of

    def golden_of_bucket(table: pa.Table) -> pa.Table:
        return _bucket_golden(
            table.drop_columns([BUCKET]),
            std_columns=std_columns,
            xref_columns=xref_columns,
            schemas=schemas,
            sources=sources,
            settings=settings,
            run_id=run_id,
            as_of=as_of,
        )

    frame = to_spark(spark, joined).withColumn(
        BUCKET, F.pmod(F.xxhash64(F.col(f"{XREF_PREFIX}unified_id")), F.lit(buckets))
    )
    result = (
        frame.groupBy(BUCKET)
        .applyInArrow(golden_of_bucket, schema="output string, payload binary")
        .toArrow()
    )
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in OUTPUTS}
    for name, payload in zip(
        result.column("output").to_pylist(), result.column("payload").to_pylist(), strict=True
    ):
        parts[name].append(pl.read_ipc(io.BytesIO(payload)))
    stacked = {
        name: pl.concat(frames, how="vertical").sort("unified_id", maintain_order=True)
        for name, frames in parts.items()
    }
    return GoldenRecord(**stacked)
