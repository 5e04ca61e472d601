"""Releases as Delta versions: time travel, killed commits, unsigned columns, old releases."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable, write_deltalake

from pipelines.cli import main
from pipelines.warehouse import KEPT, RELEASES_KEPT, TableDelta, Warehouse
from pipelines.warehouse.catalog import Manifest, TableVersion, create_views
from pipelines.warehouse.delta import (
    DELTA_ARROW_LEVEL,
    overwrite_table,
    unsigned_columns,
    version_files,
)
from pipelines.warehouse.sql import QueryError, query_warehouse, run_read_only_query

CUSTOMERS = pl.DataFrame({"unified_id": ["FU-1", "FU-2"], "name": ["Ada", "Bo"]})


def _publish(
    warehouse: Warehouse,
    tables: dict[str, object],
    *,
    base: str | None = None,
    release: str | None = None,
) -> str:
    release = release or f"r{len(warehouse.known_releases()):02d}"
    with warehouse.lock():
        warehouse.publish(tables, release=release, base=base)  # type: ignore[arg-type]
    return release


def _names(warehouse: Warehouse, *, as_of: str | None = None) -> list[str]:
    query = "SELECT name FROM golden_customer ORDER BY name"
    if as_of is None:
        return run_read_only_query(warehouse.root, query)["name"].to_list()
    return query_warehouse(warehouse.root, query, as_of=as_of).frame["name"].to_list()


def test_as_of_answers_from_every_published_release_even_pruned_ones(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    releases = []
    for step in range(RELEASES_KEPT + 2):
        rows = CUSTOMERS.with_columns(pl.col("name") + f"-{step}")
        releases.append(_publish(warehouse, {"golden_customer": rows}))
    first = releases[0]
    assert not (warehouse.root / "releases" / first).exists()  # pruned: only its manifest is left
    for step, release in enumerate(releases):
        assert _names(warehouse, as_of=release) == [f"Ada-{step}", f"Bo-{step}"]
    assert _names(warehouse) == [f"Ada-{len(releases) - 1}", f"Bo-{len(releases) - 1}"]
    versions = [warehouse.manifest(r).versions()["golden_customer"] for r in releases]  # type: ignore[union-attr]
    assert versions == list(range(len(releases)))


def test_as_of_through_the_cli_and_an_unknown_release(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    first = _publish(warehouse, {"golden_customer": CUSTOMERS})
    _publish(warehouse, {"golden_customer": CUSTOMERS.head(1)})
    runner = CliRunner()
    query = "SELECT count(*) AS n FROM golden_customer"
    common = ["sql", query, "--warehouse", str(warehouse.root), "--format", "csv"]
    now = runner.invoke(main, common)
    then = runner.invoke(main, [*common, "--as-of", first])
    assert (now.exit_code, then.exit_code) == (0, 0), now.output + then.output
    assert now.stdout.splitlines()[1:] == ["1"]
    assert then.stdout.splitlines()[1:] == ["2"]
    with pytest.raises(QueryError, match=f"no release 'r99'.*{first}"):
        _names(warehouse, as_of="r99")


def test_an_old_release_reads_only_its_own_files(tmp_path: Path) -> None:
    """The analyst door of an older release may read its Delta files, and nothing else."""
    warehouse = Warehouse(tmp_path / "wh")
    first = _publish(warehouse, {"golden_customer": CUSTOMERS})
    _publish(warehouse, {"golden_customer": CUSTOMERS})
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with pytest.raises(QueryError, match="Permission"):
        run_read_only_query(warehouse.root, f"SELECT * FROM read_csv('{tmp_path}/secret.csv')")
    with pytest.raises(QueryError, match="Permission"):
        query_warehouse(warehouse.root, f"FROM read_csv('{tmp_path}/secret.csv')", as_of=first)


def test_a_version_no_release_names_is_never_read_and_is_undone(tmp_path: Path) -> None:
    """A killed run's Delta commit: readers keep the release, the next changes apply to it."""
    warehouse = Warehouse(tmp_path / "wh")
    base = _publish(warehouse, {"golden_customer": CUSTOMERS})
    path = warehouse.lake / "golden_customer"
    stray = pl.DataFrame({"unified_id": ["FU-9"], "name": ["Stray"]})
    write_deltalake(str(path), stray.to_arrow(compat_level=DELTA_ARROW_LEVEL), mode="append")
    assert DeltaTable(str(path)).version() == 1
    assert _names(warehouse) == ["Ada", "Bo"]
    delta = TableDelta(
        ("unified_id",),
        removed=pl.DataFrame({"unified_id": ["FU-2"]}),
        added=pl.DataFrame({"unified_id": ["FU-2", "FU-3"], "name": ["Bob", "Cy"]}),
    )
    _publish(warehouse, {"golden_customer": delta}, base=base)
    assert _names(warehouse) == ["Ada", "Bob", "Cy"]


def test_a_release_from_before_delta_becomes_the_base_of_a_delta_release(tmp_path: Path) -> None:
    """A warehouse published by an older fusion (tables inside golden.duckdb) carries on."""
    root = tmp_path / "wh"
    old = root / "releases" / "r00"
    (old / "parquet").mkdir(parents=True)
    with contextlib.closing(duckdb.connect(str(old / "golden.duckdb"))) as con:
        con.register("rows", CUSTOMERS.to_arrow())
        con.execute("CREATE TABLE golden_customer AS SELECT * FROM rows")
        con.execute("CREATE TABLE name_idf AS SELECT 'ad' AS ngram, 1.5 AS idf")
    (root / "current").symlink_to(Path("releases") / "r00")
    warehouse = Warehouse(root)
    delta = TableDelta(
        ("unified_id",),
        removed=pl.DataFrame({"unified_id": ["FU-1"]}),
        added=pl.DataFrame({"unified_id": ["FU-3"], "name": ["Cy"]}),
    )
    release = _publish(
        warehouse, {"golden_customer": delta, "name_idf": KEPT}, base="r00", release="r01"
    )
    assert _names(warehouse) == ["Bo", "Cy"]
    idf = run_read_only_query(root, "SELECT ngram, idf FROM name_idf")
    assert idf.rows() == [("ad", 1.5)]
    manifest = warehouse.manifest(release)
    assert manifest is not None
    assert set(manifest.tables) == {"golden_customer", "name_idf"}


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pl.Series("h", [0, 2**64 - 1, 2**63], dtype=pl.UInt64), "UBIGINT"),
        (pl.Series("n", [0, 2**32 - 1], dtype=pl.UInt32), "UINTEGER"),
        (pl.Series("s", [0, 2**16 - 1], dtype=pl.UInt16), "USMALLINT"),
        (pl.Series("b", [0, 255], dtype=pl.UInt8), "UTINYINT"),
        (pl.Series("l", [[1, 2**32 - 1], [], None], dtype=pl.List(pl.UInt32)), "UINTEGER[]"),
        (pl.Series("lh", [[2**64 - 1], [], None], dtype=pl.List(pl.UInt64)), "UBIGINT[]"),
        (pl.Series("i", [-1, 2**62]), None),
    ],
)
def test_unsigned_columns_come_back_from_delta_with_their_values_and_types(
    tmp_path: Path, column: pl.Series, expected: str | None
) -> None:
    frame = column.to_frame()
    rows = frame.to_arrow(compat_level=DELTA_ARROW_LEVEL)
    version = overwrite_table(tmp_path / "t", rows)
    unsigned = unsigned_columns(rows.schema)
    assert unsigned.get(column.name) == expected
    table = TableVersion.of(tmp_path / "t", version, unsigned=unsigned)
    with contextlib.closing(duckdb.connect()) as con:
        create_views(con, {"t": table})
        back = con.sql("SELECT * FROM t").pl()
    assert back.equals(frame)
    # The manifest records how to read the column back.
    again = Manifest.from_json(Manifest("r", {"t": table}).to_json())
    assert again.tables["t"] == table


def test_an_empty_table_is_a_release_table_with_its_columns(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    empty = pl.DataFrame(schema={"unified_id": pl.String, "n": pl.UInt32})
    _publish(warehouse, {"golden_customer": CUSTOMERS, "nothing": empty})
    rows = run_read_only_query(warehouse.root, "SELECT * FROM nothing")
    assert rows.schema == empty.schema
    assert rows.height == 0
    mirror = pl.read_parquet(warehouse.parquet_dir / "nothing.parquet")
    assert mirror.columns == ["unified_id", "n"]
    assert mirror.height == 0


def test_a_streamed_table_is_written_batch_by_batch_and_reads_back_equal(tmp_path: Path) -> None:
    """A stream of batches becomes one file with a row group per batch (never one buffer)."""
    produced: list[int] = []
    frame = pl.DataFrame(
        {
            "h": pl.Series(range(3_000), dtype=pl.UInt64) * (2**50),
            "at": pl.datetime_range(
                pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1, 0, 49, 59), "1s",
                time_unit="ns", time_zone="Europe/Berlin", eager=True,
            ),
            "name": [f"n{i}" for i in range(3_000)],
        }
    )  # fmt: skip
    arrow = frame.to_arrow(compat_level=DELTA_ARROW_LEVEL)

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, 3_000, 1_000):
            produced.append(start)
            yield from arrow.slice(start, 1_000).to_batches()

    rows = pa.RecordBatchReader.from_batches(arrow.schema, batches())
    version = overwrite_table(tmp_path / "t", rows)
    assert produced == [0, 1_000, 2_000]
    (file,) = version_files(tmp_path / "t", version)
    assert pq.ParquetFile(file).metadata.num_row_groups == 3
    unsigned = unsigned_columns(rows.schema)
    table = TableVersion.of(tmp_path / "t", version, unsigned=unsigned)
    with contextlib.closing(duckdb.connect()) as con:
        create_views(con, {"t": table})
        back = con.sql("SELECT * FROM t ORDER BY name").pl()
    expected = frame.with_columns(pl.col("at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    assert back["h"].to_list() == expected.sort("name")["h"].to_list()
    assert back["at"].dt.convert_time_zone("UTC").to_list() == expected.sort("name")["at"].to_list()
    assert DeltaTable(str(tmp_path / "t")).to_pyarrow_table().num_rows == 3_000
