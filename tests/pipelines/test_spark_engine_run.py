"""The Spark engine publishes the warehouse the default engine publishes (issues 8, 30).

One whole run of the Dagster graph on the samples with ``matching.engine:
spark`` (standardisation, candidate generation, levels, EM pattern counts,
scoring, clustering and survivorship on a local Spark session, the candidate
pairs kept there: ``matching.spark_indexed``), compared table by table with the
default engine's release: the same clusters, unified IDs, golden values,
lineage and match evidence, and every other table, except the ones that
record the settings.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module
from pathlib import Path

import pytest
import yaml

from matching.settings import SparkSettings
from matching.spark_indexed import PairsOnSparkResult
from pipelines.settings import load_fusion_config
from tests.matching.engines.test_spark_indexed import must_link
from tests.matching.engines.test_spark_standalone import samples_std
from tests.pipelines.conftest import SAMPLE_CONFIG, run_samples
from tests.reliability.conftest import RUN_BOOKKEEPING, read_tables, table_hashes

# The module, not the function ``pipelines.stages`` exports under the same name.
match_stage = import_module("pipelines.stages.match")
# Tables holding the configuration itself (its JSON and hash), which names the engine.
SETTINGS_TABLES = frozenset({"run_settings", "pipeline_runs", "run_provenance"})
RUN_SPECIFIC = RUN_BOOKKEEPING | {"result_json"}


@pytest.mark.slow
def test_spark_run_publishes_the_same_warehouse(
    sample_warehouse: Path,
    samples_copy: Path,
    tmp_path: Path,
    spark_settings: SparkSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run takes the pairs-on-Spark path: ``match_in_full`` (which gathers the
    pairs on the driver) is made to fail, and the Spark path's result is recorded."""
    on_spark: list[PairsOnSparkResult] = []
    match_in_full_on_spark = match_stage.match_in_full_on_spark

    def pairs_on_spark(*args: object, **kwargs: object) -> PairsOnSparkResult:
        result = match_in_full_on_spark(*args, **kwargs)  # type: ignore[arg-type]
        on_spark.append(result)
        return result

    def on_the_driver(*args: object, **kwargs: object) -> None:
        raise AssertionError("engine spark gathered the candidate pairs on the driver")

    monkeypatch.setattr(match_stage, "match_in_full_on_spark", pairs_on_spark)
    monkeypatch.setattr(match_stage, "match_in_full", on_the_driver)
    config_path = samples_copy / "fusion.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config.setdefault("matching", {}).update(
        engine="spark", spark=spark_settings.model_dump(mode="json")
    )
    spark_config = samples_copy / "fusion-spark.yaml"
    spark_config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    run_samples(tmp_path / "spark", spark_config)
    assert len(on_spark) == 1
    assert on_spark[0].scored_pairs.height == 0  # no pair was held on the driver

    default = table_hashes(sample_warehouse, ignore=RUN_SPECIFIC)
    spark = table_hashes(tmp_path / "spark", ignore=RUN_SPECIFIC)
    assert default.keys() == spark.keys()
    differing = sorted(t for t in default if default[t] != spark[t] and t not in SETTINGS_TABLES)
    assert differing == []
    published = read_tables(tmp_path / "spark")
    for table in ("golden_customer", "customer_xref", "field_lineage", "match_evidence"):
        assert published[table].height > 0, table
    assert published["match_evidence"].height == on_spark[0].candidate_pairs


def test_decisions_keep_the_pairs_on_the_driver_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With steward link decisions in force, engine spark matches with ``match_in_full``
    (labelled candidates and constraints are made on the driver) and warns why."""
    config = load_fusion_config(SAMPLE_CONFIG)
    config = replace(config, matching=config.matching.model_copy(update={"engine": "spark"}))
    std, _ = samples_std()
    taken: list[str] = []
    monkeypatch.setattr(match_stage, "match_in_full", lambda *a, **k: taken.append("driver"))
    monkeypatch.setattr(
        match_stage, "match_in_full_on_spark", lambda *a, **k: taken.append("spark")
    )
    match_stage.match(std, config=config, decisions=must_link(std), pairs_dir=tmp_path)
    assert taken == ["driver"]
    assert "steward link decisions" in caplog.text
    match_stage.match(std, config=config, decisions=None, pairs_dir=tmp_path)
    assert taken == ["driver", "spark"]
