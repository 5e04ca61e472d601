"""A file split by a column into sources runs end to end as ordinary sources.

One export lists three programmes in a ``Source`` column; ``split_by`` makes
each a source with its own name and trust. The run must publish every row
under its programme's ``source_system`` (or quarantine it), and survivorship
must weigh the programmes' trust like that of separate exports.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.warehouse import Warehouse
from tests.pipelines.conftest import run_samples

EXPORT = (
    "Id,Source,Site name,Email,Phone,Address,Zip,City\n"
    "1,Family Child Care,Little Stars Daycare,hello@littlestars.org,+1 312 555 0101,"
    "1 Oak St,60601,Chicago\n"
    "2,Head Start,Little Stars Day Care Center,hello@littlestars.org,+1 312 555 0101,"
    "1 Oak Street,60601,Chicago\n"
    "3,NAEYC,Little Stars Daycare,hello@littlestars.org,+1 312 555 0101,1 Oak St,60601,Chicago\n"
    "4,Family Child Care,Bright Horizons,info@brighthorizons.com,+1 773 555 0142,"
    "20 Elm Ave,60614,Chicago\n"
    "5,Head Start,Sunny Days Preschool,office@sunnydays.org,+1 312 555 0177,"
    "300 Lake Dr,60611,Chicago\n"
    "6,NAEYC,Maple Tree Learning,contact@mapletree.edu,+1 773 555 0190,9 Maple Rd,60625,Chicago\n"
    "7,Head Start,,,,12 Pine St,60601,Chicago\n"  # no name, e-mail or phone: quarantined
)
CONFIG = """
sources:
  - name: centres
    system: other
    path: centres.csv
    format: csv
    default_country: US
    record_id: Id
    split_by:
      column: Source
      sources:
        Family Child Care: {name: family_cc, trust: {default: 0.6}}
        Head Start: {name: head_start, trust: {default: 0.95}}
    fields:
      customer_type: {constant: company}
      name: Site name
      email: Email
      phone: Phone
      address: Address
      postcode: Zip
      city: City
    trust: {default: 0.8}
"""
ROWS_IN = 7


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("split")
    (folder / "centres.csv").write_text(EXPORT, encoding="utf-8")
    (folder / "fusion.yaml").write_text(CONFIG, encoding="utf-8")
    target = folder / "warehouse"
    run_samples(target, folder / "fusion.yaml")
    return target


def table(warehouse: Path, name: str) -> pl.DataFrame:
    frame = Warehouse(warehouse).read_table(name)
    assert frame is not None, name
    return frame


@pytest.mark.slow
def test_every_row_is_published_under_its_programme_or_quarantined(warehouse: Path) -> None:
    xref = table(warehouse, "customer_xref").sort(pl.col("source_record_id").cast(pl.Int64))
    quarantine = table(warehouse, "quarantine")
    assert xref.select("source_system", "source_record_id").rows() == [
        ("family_cc", "1"),
        ("head_start", "2"),
        ("centres_naeyc", "3"),
        ("family_cc", "4"),
        ("head_start", "5"),
        ("centres_naeyc", "6"),
    ]
    assert quarantine.select("source_system", "source_record_id").rows() == [("head_start", "7")]
    assert xref.height + quarantine.height == ROWS_IN
    quality = table(warehouse, "source_quality").sort("source_system")
    assert quality.select("source_system", "rows_in").rows() == [
        ("centres_naeyc", 2),
        ("family_cc", 2),
        ("head_start", 3),
    ]


@pytest.mark.slow
def test_the_most_trusted_programme_gives_the_name(warehouse: Path) -> None:
    xref = table(warehouse, "customer_xref")
    little_stars = xref.filter(pl.col("source_record_id").is_in(["1", "2", "3"]))
    assert little_stars["unified_id"].n_unique() == 1
    unified_id = little_stars["unified_id"][0]
    golden = table(warehouse, "golden_customer").filter(pl.col("unified_id") == unified_id)
    lineage = table(warehouse, "field_lineage").filter(
        (pl.col("unified_id") == unified_id) & (pl.col("field") == "name")
    )
    assert golden["name"].to_list() == ["Little Stars Day Care Center"]
    assert lineage.select("source_system", "source_record_id").rows() == [("head_start", "2")]


@pytest.mark.slow
def test_the_empty_remainder_is_validated_without_a_row_count_warning(warehouse: Path) -> None:
    # Every row names its programme, so the remainder source 'centres' holds none.
    results = table(warehouse, "quality_results")
    remainder = results.filter(pl.col("suite") == "source_centres")
    assert remainder.height > 0
    assert "expect_table_row_count_to_be_between" not in remainder["expectation"].to_list()
    assert remainder.filter(~pl.col("success")).is_empty()
    programme = results.filter(pl.col("suite") == "source_head_start")
    assert "expect_table_row_count_to_be_between" in programme["expectation"].to_list()
