"""The match stage: score the candidate pairs and cluster the standardised records."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from lineage.golden import (
    GOLDEN_INPUT_COLUMNS,
)
from matching.incremental import (
    IndexedMatchResult,
    match_in_full,
    match_incrementally,
    supports_incremental,
)
from matching.spark_indexed import match_in_full_on_spark, pairs_on_spark_unsupported
from matching.standardise.attributes import attribute_column
from pipelines.incremental import (
    Baseline,
)
from pipelines.settings import FusionConfig

LOGGER = logging.getLogger(__name__)

# What matching reads of the standardised records (22 of 38 columns): the record keys,
# the compared and blocked fields with their keys and validity flags, and the content
# hash an incremental run tells changed records by. The rest (provenance, the fields
# only survivorship reads) were 70 MiB of the match step's frame at 1M records, plus
# the allocator's share of reading them.
MATCHING_COLUMNS = (
    "record_index", "source_system", "source_record_id", "customer_type",
    "name", "name_key", "name_latin", "name_latin_sorted", "contact_latin_sorted",
    "email", "email_valid", "phone", "phone_valid", "tax_id",
    "address", "address_key", "postcode", "city", "city_key",
    "birth_date", "birth_date_valid", "company_domain", "content_hash",
)  # fmt: skip


def matching_columns(config: FusionConfig) -> tuple[str, ...]:
    """``MATCHING_COLUMNS`` and the columns of the config's extra attributes."""
    return (*MATCHING_COLUMNS, *(attribute_column(name) for name in config.matching.attributes))


# What assigning unified IDs reads of the standardised records.
IDENTITY_COLUMNS = ("record_index", "source_system", "source_record_id")
# What the golden step reads of them: survivorship's inputs, and the content hash by which an
# incremental run tells the customers it carries over (23 of 38 columns).
GOLDEN_STEP_COLUMNS = (*GOLDEN_INPUT_COLUMNS, "content_hash")


def match(
    std: pl.DataFrame,
    *,
    config: FusionConfig,
    decisions: pl.DataFrame | None = None,
    baseline: Baseline | None = None,
    labels: pl.DataFrame | None = None,
    pairs_dir: Path | None = None,
) -> IndexedMatchResult:
    """Block, compare, score and cluster the standardised records under steward decisions.

    A run with a stored model scores with it and with the name statistics
    stored beside it; an incremental run whose release kept its blocking index
    matches only what its new, changed and deleted records reach
    (``matching.incremental``). The first run and ``--retrain`` fit both, the
    model from ``labels`` (``fusion label`` answers) and the steward decisions too.

    A full match with ``engine: spark`` keeps the candidate pairs on Spark
    (``matching.spark_indexed``), writing them to ``pairs_dir``, unless no
    ``pairs_dir`` is given or steward decisions or labels are in force: those
    runs hold the pairs on the driver and say why in a warning; incremental runs
    (``match_incrementally``) hold them there too.
    """
    settings = config.matching
    model = None if baseline is None else baseline.model
    # None: fitted on this run's names (with their vectors) by match_in_full.
    statistics = None if baseline is None or model is None else baseline.statistics
    incremental = statistics is not None and supports_incremental(settings.blocking)
    index = baseline.load_index() if incremental and baseline is not None else None
    if model is not None and statistics is not None and index is not None:
        return match_incrementally(
            std,
            previous=index,
            settings=settings,
            statistics=statistics,
            model=model,
            steward_decisions=decisions,
        )
    if settings.engine == "spark":
        reason = "no folder for the pairs" if pairs_dir is None else None
        reason = reason or pairs_on_spark_unsupported(std, decisions=decisions, labels=labels)
        if reason is None and pairs_dir is not None:
            LOGGER.info("matching on Spark with the candidate pairs kept there (match_on_spark)")
            return match_in_full_on_spark(
                std, settings=settings, statistics=statistics, model=model, pairs_dir=pairs_dir
            )
        LOGGER.warning(
            "engine spark: the candidate pairs are held on the driver (match_records): %s", reason
        )
    return match_in_full(
        std,
        settings=settings,
        statistics=statistics,
        model=model,
        steward_decisions=decisions,
        labels=labels,
    )
