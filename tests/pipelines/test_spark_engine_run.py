"""The Spark engine publishes the warehouse the default engine publishes (issue 8).

One whole run of the Dagster graph on the samples with ``matching.engine:
spark`` (standardisation, comparison levels, clustering and survivorship on a
local Spark session), compared table by table with the default engine's
release: the same clusters, unified IDs, golden values, lineage and match
evidence, and every other table, except the ones that record the settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from matching.settings import SparkSettings
from tests.pipelines.conftest import run_samples
from tests.reliability.conftest import RUN_BOOKKEEPING, read_tables, table_hashes

# Tables holding the configuration itself (its JSON and hash), which names the engine.
SETTINGS_TABLES = frozenset({"run_settings", "pipeline_runs", "run_provenance"})
RUN_SPECIFIC = RUN_BOOKKEEPING | {"result_json"}


@pytest.mark.slow
def test_spark_run_publishes_the_same_warehouse(
    sample_warehouse: Path, samples_copy: Path, tmp_path: Path, spark_settings: SparkSettings
) -> None:
    config_path = samples_copy / "fusion.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("matching", {}).update(
        engine="spark", spark=spark_settings.model_dump(mode="json")
    )
    spark_config = samples_copy / "fusion-spark.yaml"
    spark_config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    run_samples(tmp_path / "spark", spark_config)

    default = table_hashes(sample_warehouse, ignore=RUN_SPECIFIC)
    spark = table_hashes(tmp_path / "spark", ignore=RUN_SPECIFIC)
    assert default.keys() == spark.keys()
    differing = sorted(t for t in default if default[t] != spark[t] and t not in SETTINGS_TABLES)
    assert differing == []
    for table in ("golden_customer", "customer_xref", "field_lineage", "match_evidence"):
        assert read_tables(tmp_path / "spark")[table].height > 0, table
