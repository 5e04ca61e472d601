"""Comparison levels of record pairs, computed on Spark executors.

Spark does the data movement: each pair is joined (a shuffle) with the
columns its comparisons read for the left and the right record, and each Arrow
batch of joined pairs is handed to the *same* ``comparison_levels`` the
one-machine engine calls. Inside a batch the two sides are laid out as a small
standardised frame (left records, then right records) with a ``PairFrame``
over it, so a comparison cannot tell a batch from the whole run: there is no
second implementation of any comparison.

Which columns travel is found by probing each comparison once on the driver
(``columns_read``), so a new comparison needs no change here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa
import scipy.sparse as sp

from matching.comparisons import Comparison, PairFrame, comparison_levels
from matching.engines.spark_frames import classic_schema, from_spark, spark_schema, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

VECTOR_INDEX = "__vec_index"
VECTOR_VALUE = "__vec_value"
POSITION = "__position"


@dataclass(frozen=True)
class _ColumnProbe(PairFrame):
    """A PairFrame that notes every column a comparison reads through it."""

    read: set[str] = field(default_factory=set)

    def sides(self, column: str | pl.Expr) -> tuple[pl.Series, pl.Series]:
        expr = pl.col(column) if isinstance(column, str) else column
        self.read.update(expr.meta.root_names())
        return super().sides(column)


def columns_read(
    std: pl.DataFrame, comparisons: tuple[Comparison, ...], *, name_vectors: object
) -> list[str]:
    """The standardised columns the comparisons read, in ``std`` column order."""
    if std.height == 0:
        return []
    index = np.zeros(1, dtype=np.int64)
    probe = _ColumnProbe(std, index, index, name_vectors)
    for comparison in comparisons:
        comparison.levels(probe)
    return [c for c in std.columns if c in probe.read]


def level_columns(comparisons: tuple[Comparison, ...]) -> list[str]:
    """Names of the per-comparison level columns in Spark frames."""
    return [f"__level_{k}" for k in range(len(comparisons))]


def _vector_columns(vectors: object) -> tuple[pa.Array, pa.Array | None]:
    """Each record's name vector as Arrow lists (sparse: values and indices; dense: values)."""
    if sp.issparse(vectors):
        csr = sp.csr_matrix(vectors)
        offsets = pa.array(csr.indptr.astype(np.int32))
        indices = pa.ListArray.from_arrays(offsets, pa.array(csr.indices.astype(np.int32)))
        values = pa.ListArray.from_arrays(offsets, pa.array(csr.data))
        return values, indices
    dense = np.asarray(vectors)
    rows, width = dense.shape
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(dense.ravel())), None


def _vectors_of(table: pa.Table, *, sparse_width: int | None) -> object:
    """Rebuild the name vectors of a batch's records from their Arrow lists."""
    values = table.column(VECTOR_VALUE).combine_chunks()
    offsets = values.offsets.to_numpy()
    data = values.values.to_numpy(zero_copy_only=False)
    if sparse_width is None:
        width = int(offsets[1] - offsets[0]) if len(offsets) > 1 else 0
        return data.reshape(len(table), width)
    indices = table.column(VECTOR_INDEX).combine_chunks().values.to_numpy(zero_copy_only=False)
    return sp.csr_matrix((data, indices, offsets), shape=(len(table), sparse_width))


@dataclass(frozen=True)
class RecordSide:
    """The records as Spark sees them for comparison: key, compared columns, name vector."""

    frame: DataFrame
    columns: list[str]
    sparse_width: int | None


def record_side(
    spark: SparkSession,
    std: pl.DataFrame,
    *,
    comparisons: tuple[Comparison, ...],
    name_vectors: object,
) -> RecordSide:
    """A cached Spark frame of every record's compared columns and name vector."""
    columns = columns_read(std, comparisons, name_vectors=name_vectors)
    values, indices = _vector_columns(name_vectors)
    table = std.select(pl.col("record_index").cast(pl.Int64), *columns).to_arrow()
    table = table.append_column(VECTOR_VALUE, values)
    if indices is not None:
        table = table.append_column(VECTOR_INDEX, indices)
    table = table.cast(classic_schema(table.schema))
    sparse_width = int(name_vectors.shape[1]) if indices is not None else None  # type: ignore[attr-defined]
    frame = spark.createDataFrame(table, schema=spark_schema(table.schema)).cache()
    return RecordSide(frame, columns, sparse_width)


def joined_pairs(pairs: DataFrame, records: RecordSide) -> DataFrame:
    """Pairs with the left record's columns as ``l__*`` and the right's as ``r__*``."""
    from pyspark.sql import functions as F

    side_columns = [c for c in records.frame.columns if c != "record_index"]
    left = records.frame.select(
        F.col("record_index").alias("left"), *(F.col(c).alias(f"l__{c}") for c in side_columns)
    )
    right = records.frame.select(
        F.col("record_index").alias("right"), *(F.col(c).alias(f"r__{c}") for c in side_columns)
    )
    return pairs.join(left, on="left").join(right, on="right")


def levels_of_batch(
    table: pa.Table,
    *,
    columns: list[str],
    sparse_width: int | None,
    comparisons: tuple[Comparison, ...],
    std_schema: pl.Schema,
) -> np.ndarray:
    """Level matrix of one batch of joined pairs, by the shared ``comparison_levels``."""
    n = len(table)
    sides = []
    for prefix in ("l__", "r__"):
        names = [c for c in table.column_names if c.startswith(prefix)]
        sides.append(table.select(names).rename_columns([c[3:] for c in names]))
    both = pa.concat_tables(sides, promote_options="default")
    local = pl.from_arrow(both.select(columns))
    assert isinstance(local, pl.DataFrame)
    local = local.cast({c: std_schema[c] for c in columns}).with_row_index("record_index")
    vectors = _vectors_of(both, sparse_width=sparse_width)
    pairs = PairFrame.build(local, np.arange(n), np.arange(n, 2 * n), name_vectors=vectors)
    return comparison_levels(pairs, comparisons)


def levels_on_spark(
    spark: SparkSession,
    pairs: PairFrame,
    records: RecordSide,
    *,
    comparisons: tuple[Comparison, ...],
) -> np.ndarray:
    """The level matrix of ``pairs`` (rows in pair order), computed by Spark executors."""
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import ByteType, LongType, StructField, StructType

    level_names = level_columns(comparisons)
    if len(pairs) == 0:
        return comparison_levels(pairs, comparisons)
    frame = pl.DataFrame(
        {
            POSITION: np.arange(len(pairs), dtype=np.int64),
            "left": pairs.left_index.astype(np.int64),
            "right": pairs.right_index.astype(np.int64),
        }
    )
    schema = StructType(
        [
            StructField(POSITION, LongType(), nullable=False),
            *(StructField(c, ByteType(), nullable=False) for c in level_names),
        ]
    )
    arrow_out = to_arrow_schema(schema)
    # The closure travels to the executors: plain values only, never a Spark object.
    compared, sparse_width, std_schema = records.columns, records.sparse_width, pairs.std.schema

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            levels = levels_of_batch(
                table,
                columns=compared,
                sparse_width=sparse_width,
                comparisons=comparisons,
                std_schema=std_schema,
            )
            columns = [table.column(POSITION)]
            columns += [pa.array(levels[:, k], type=pa.int8()) for k in range(levels.shape[1])]
            out = pa.Table.from_arrays(columns, names=[POSITION, *level_names])
            yield from out.cast(arrow_out).to_batches()

    joined = joined_pairs(to_spark(spark, frame), records)
    collected = from_spark(joined.mapInArrow(compute, schema)).sort(POSITION)
    return collected.select(level_names).to_numpy().astype(np.int8)
