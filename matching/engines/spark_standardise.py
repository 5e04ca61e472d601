"""Standardisation on Spark: the shared ``standardise`` per Arrow batch.

Every standardisation step is row-local (a record's keys depend on that
record alone; ``map_distinct`` only saves work within a batch), so running
``standardise`` on each batch and numbering the records afterwards in
``(source_system, source_record_id)`` order gives the one-machine result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl
import pyarrow as pa

from matching.engines.spark_frames import classic_schema, from_spark, spark_schema, to_spark
from matching.engines.spark_session import spark_session
from matching.settings import SparkSettings
from matching.standardise import STEPS, Step, standardise

RECORD_ORDER = ("source_system", "source_record_id")


def standardise_on_spark(
    records: pl.DataFrame,
    *,
    default_regions: Mapping[str, str],
    settings: SparkSettings,
    steps: tuple[Step, ...] = STEPS,
) -> pl.DataFrame:
    """``matching.standardise.standardise`` with the steps run on Spark executors.

    Example::

        std = standardise_on_spark(records, default_regions={"erp": "CN"},
                                   settings=SparkSettings(master="local[2]"))
    """
    spark = spark_session(settings)
    regions = dict(default_regions)
    like = standardise(records.clear(), default_regions=regions, steps=steps).drop("record_index")
    out_arrow = classic_schema(like.to_arrow().schema)
    in_schema = records.schema

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            # Spark already runs one worker per core: no processes of our own here.
            done = standardise(
                frame.cast(in_schema), default_regions=regions, steps=steps, workers=1
            )
            table = done.drop("record_index").to_arrow().select(out_arrow.names)
            yield from table.cast(out_arrow).to_batches()

    mapped = to_spark(spark, records).mapInArrow(compute, spark_schema(out_arrow))
    collected = from_spark(mapped, like=like)
    return collected.sort(*RECORD_ORDER).with_row_index("record_index")
