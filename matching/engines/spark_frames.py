"""Moving polars frames into and out of Spark through Arrow, types kept.

Polars writes Arrow's large and view string/list types and unsigned integers;
Spark's Arrow bridge reads the classic types and signed integers only. Every
frame crossing the boundary, and every batch a ``mapInArrow`` function
returns, is cast to the classic types here, in one place, so the stage
functions never see the difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


def classic_type(data_type: pa.DataType) -> pa.DataType:
    """The Arrow type Spark reads for ``data_type`` (large/view types made classic)."""
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return pa.binary()
    if pa.types.is_large_list(data_type) or pa.types.is_list_view(data_type):
        return pa.list_(classic_type(data_type.value_type))
    if pa.types.is_list(data_type):
        return pa.list_(classic_type(data_type.value_type))
    if pa.types.is_struct(data_type):
        return pa.struct([f.with_type(classic_type(f.type)) for f in data_type])
    if pa.types.is_dictionary(data_type):
        return classic_type(data_type.value_type)
    if pa.types.is_unsigned_integer(data_type):
        # Spark has no unsigned integers: the next wider signed type holds every value
        # (a 64-bit hash only fits a 20-digit decimal).
        wider = {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.decimal128(20, 0)}
        return wider[data_type.bit_width]
    if pa.types.is_timestamp(data_type):
        # Spark keeps microseconds; a zoned timestamp comes back in the session zone (UTC).
        return pa.timestamp("us", tz=data_type.tz)
    return data_type


def classic_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field in the type Spark reads."""
    return pa.schema([f.with_type(classic_type(f.type)) for f in schema])


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    """A polars frame as an Arrow table Spark accepts."""
    table = frame.to_arrow()
    return table.cast(classic_schema(table.schema))


def spark_schema(schema: pa.Schema) -> StructType:
    """The Spark schema of an Arrow schema."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(classic_schema(schema))


def to_spark(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """A Spark DataFrame holding ``frame`` (schema derived from its Arrow schema)."""
    table = to_arrow(frame)
    return spark.createDataFrame(table, schema=spark_schema(table.schema))


def from_spark(frame: DataFrame, *, like: pl.DataFrame | None = None) -> pl.DataFrame:
    """Collect a Spark DataFrame to polars; cast to the dtypes of ``like`` when given."""
    collected = pl.from_arrow(frame.toArrow())
    assert isinstance(collected, pl.DataFrame)
    if like is None:
        return collected
    return collected.select(like.columns).cast(like.schema)


def batches_as(frames: Iterator[pl.DataFrame], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Record batches of ``frames`` cast to ``schema`` (what a mapInArrow function yields)."""
    for frame in frames:
        table = frame.to_arrow().select(schema.names)
        yield from table.cast(schema).to_batches()


def frames_of(batches: Iterator[pa.RecordBatch]) -> Iterator[pl.DataFrame]:
    """The Arrow batches a mapInArrow function receives, as polars frames."""
    for batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame
