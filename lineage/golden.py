"""The golden record: standardised records + clusters -> one row per customer, with lineage.

Three frames come out, all sorted so identical inputs give identical bytes:

- ``golden_customer``: one row per unified_id, the surviving value of every field;
- ``field_lineage``: one row per non-null golden value, naming the record and the
  source column it came from, its trust components and the rule that chose it;
- ``field_candidates``: every candidate value, winners and losers, with
  ``lost_because`` for the losers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from connectors.canonical import GOLDEN_FIELDS, RECORD_KEY_COLUMNS
from connectors.repeated_text import with_shared_text
from lineage.inferred_type import with_inferred_type
from lineage.roles import classify_roles
from lineage.settings import LineageError, SurvivorshipSettings
from lineage.survivorship import ranked_candidates
from lineage.trust import (
    CANDIDATE_COLUMNS,
    TRUST_COMPONENTS,
    TRUST_INPUTS,
    Sources,
    authority_table,
    score_candidates,
)

# Standardisation's validation flag for the fields that have one (CONTRACTS.md).
VALIDITY_FLAGS: dict[str, str] = {
    "name": "name_valid",
    "email": "email_valid",
    "phone": "phone_valid",
    "tax_id": "tax_id_valid",
}
# The standardised records' columns survivorship reads: the rest (match keys, Latin
# renderings, hashes; 38 columns in all) need not be read back for the golden record.
GOLDEN_INPUT_COLUMNS: tuple[str, ...] = (
    *RECORD_KEY_COLUMNS,
    "source_updated_at",
    "source_columns",
    *GOLDEN_FIELDS,
    *VALIDITY_FLAGS.values(),
)
# Columns of a handful of values each that survivorship spells out on every row
# (a decay curve's description, a rule's name), stored once per value instead
# (connectors.repeated_text): about 0.3 GiB of text at 1M records. The run ID is
# broadcast from one literal and already shared.
REPEATED_TEXT_COLUMNS = ("decay_curve", "rule", "lost_because", "source_column")
FIELD_ORDER: dict[str, int] = {field: i for i, field in enumerate(GOLDEN_FIELDS)}
KEYS_IN_ERROR = 5  # record keys quoted in an input error; the rest are counted
# Records per range of customers built at once: at 1M records the whole build's
# temporaries held several GiB. A range of 100k still added 0.9 GiB at its peak;
# one of 50k adds half that, for 7% more time (20 ranges instead of 10).
PART_RECORDS = 50_000

GOLDEN_CUSTOMER_COLUMNS: tuple[str, ...] = (
    "unified_id",
    *GOLDEN_FIELDS,
    "source_count",
    "record_count",
    "trust_score",
    "first_seen_at",
    "updated_at",
)
FIELD_LINEAGE_COLUMNS: tuple[str, ...] = (
    "unified_id",
    "field",
    "value",
    "source_system",
    "source_record_id",
    "source_column",
    "source_updated_at",
    "trust_score",
    "rule",
    "run_id",
    *TRUST_COMPONENTS,
    "confirmed_at",
    *TRUST_INPUTS,
)
FIELD_CANDIDATES_COLUMNS: tuple[str, ...] = (
    "unified_id",
    "field",
    "value",
    "source_system",
    "source_record_id",
    "source_column",
    "source_updated_at",
    "confirmed_at",
    *TRUST_COMPONENTS,
    "trust_score",
    "is_winner",
    "lost_because",
    "run_id",
    "rank",
    "rule",
    *TRUST_INPUTS,
)


class LineageInputError(LineageError):
    """The standardised records and the xref do not describe the same set of records."""


# field_lineage in SQL over the same release's field_candidates (see GoldenRecord).
FIELD_LINEAGE_QUERY = (
    f"SELECT {', '.join(FIELD_LINEAGE_COLUMNS)} FROM field_candidates WHERE is_winner"
)


@dataclass(frozen=True)
class GoldenRecord:
    """The outputs of survivorship (columns: ``*_COLUMNS`` of this module).

    ``field_lineage`` is not stored: it is the winning candidates, with the
    lineage columns, in the candidates' order. Held beside the candidates it
    was a second copy of 7.4M rows (1.8 GiB at 1M records); it is computed
    when asked for, from the columns asked for, and published by DuckDB from
    the published candidates (``FIELD_LINEAGE_QUERY``).
    """

    golden_customer: pl.DataFrame
    field_candidates: pl.DataFrame

    @property
    def field_lineage(self) -> pl.DataFrame:
        """One row per golden value: where it came from and why it won."""
        return lineage_of(self.field_candidates)


def lineage_of(candidates: pl.DataFrame, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """The ``field_lineage`` rows of ``candidates`` (its winners), only ``columns`` if given."""
    wanted = FIELD_LINEAGE_COLUMNS if columns is None else tuple(columns)
    unknown = [c for c in wanted if c not in FIELD_LINEAGE_COLUMNS]
    if unknown:
        msg = f"field_lineage has no columns {unknown}"
        raise KeyError(msg)
    return lineage_rows(candidates, wanted).collect()


def lineage_rows(
    candidates: pl.DataFrame | pl.LazyFrame, columns: Sequence[str] = FIELD_LINEAGE_COLUMNS
) -> pl.LazyFrame:
    """``lineage_of`` as a query, to stream (the published table's Parquet mirror)."""
    return candidates.lazy().filter(pl.col("is_winner")).select(columns)


def _quote_keys(frame: pl.DataFrame) -> str:
    keys = frame.select(RECORD_KEY_COLUMNS).unique().sort(RECORD_KEY_COLUMNS)
    shown = ", ".join(f"{s}:{r}" for s, r in keys.head(KEYS_IN_ERROR).rows())
    more = keys.height - KEYS_IN_ERROR
    return f"{shown} (+{more} more)" if more > 0 else shown


def _check_inputs(std_records: pl.DataFrame, xref: pl.DataFrame) -> None:
    """Fail loudly when the two frames break the contract of CONTRACTS.md."""
    needed = {
        "std_records": (std_records, GOLDEN_INPUT_COLUMNS),
        "xref": (xref, (*RECORD_KEY_COLUMNS, "unified_id")),
    }
    for label, (frame, columns) in needed.items():
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            msg = f"{label}: missing columns {missing}"
            raise LineageInputError(msg)
        duplicated = frame.filter(pl.struct(RECORD_KEY_COLUMNS).is_duplicated())
        if duplicated.height:
            msg = f"{label}: duplicate record keys {_quote_keys(duplicated)}"
            raise LineageInputError(msg)
    if xref["unified_id"].null_count():
        missing_ids = xref.filter(pl.col("unified_id").is_null())
        msg = f"xref: null unified_id for {_quote_keys(missing_ids)}"
        raise LineageInputError(msg)
    unmatched = std_records.join(xref, on=RECORD_KEY_COLUMNS, how="anti")
    if unmatched.height:
        msg = f"std_records: records without a unified_id in xref: {_quote_keys(unmatched)}"
        raise LineageInputError(msg)
    orphaned = xref.join(std_records, on=RECORD_KEY_COLUMNS, how="anti")
    if orphaned.height:
        msg = f"xref: records missing from std_records: {_quote_keys(orphaned)}"
        raise LineageInputError(msg)


def extract_candidates(std_records: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    """Unpivot the records into one candidate per non-null golden field value.

    ``source_column`` comes from the record's ``source_columns`` JSON text and
    ``valid`` from the field's validation flag (null for fields without one).
    The loop runs over the fields, building one lazy frame each; rows stay in polars.

    Example::

        extract_candidates(std, xref).columns == list(CANDIDATE_COLUMNS)
    """
    # A source maps its columns the same way on every record: each distinct JSON is read once.
    mappings = (
        std_records.lazy()
        .select(pl.col("source_columns").unique())
        .with_columns(
            pl.col("source_columns").str.json_path_match(f"$.{field}").alias(f"_column_{field}")
            for field in GOLDEN_FIELDS
        )
    )
    records = (
        std_records.lazy()
        .join(
            xref.lazy().select(*RECORD_KEY_COLUMNS, "unified_id"),
            on=RECORD_KEY_COLUMNS,
            how="inner",
        )
        .join(mappings, on="source_columns", how="left", maintain_order="left")
    )
    per_field = [
        records.select(
            "unified_id",
            pl.lit(field, dtype=pl.String).alias("field"),
            pl.col(field).cast(pl.String).alias("value"),
            *RECORD_KEY_COLUMNS,
            pl.col(f"_column_{field}").alias("source_column"),
            "source_updated_at",
            (
                pl.col(VALIDITY_FLAGS[field])
                if field in VALIDITY_FLAGS
                else pl.lit(None, dtype=pl.Boolean)
            ).alias("valid"),
        ).filter(pl.col("value").is_not_null())
        for field in GOLDEN_FIELDS
    ]
    return pl.concat(per_field, how="vertical").select(CANDIDATE_COLUMNS).collect()


def _sorted_by_field(frame: pl.DataFrame, *then: str) -> pl.DataFrame:
    order = pl.col("field").replace_strict(FIELD_ORDER, return_dtype=pl.UInt32)
    return frame.sort(pl.col("unified_id"), order, *then)


def _golden_customer(
    records: pl.DataFrame, winners: pl.DataFrame, *, settings: SurvivorshipSettings
) -> pl.DataFrame:
    """Pivot the winners to one row per customer and add the record-level statistics."""
    values = winners.group_by("unified_id").agg(
        *(pl.col("value").filter(pl.col("field") == f).first().alias(f) for f in GOLDEN_FIELDS),
        pl.col("trust_score").mean().round(settings.trust_decimals),
    )
    stats = records.group_by("unified_id").agg(
        pl.col("source_system").n_unique().cast(pl.Int64).alias("source_count"),
        pl.len().cast(pl.Int64).alias("record_count"),
        pl.col("source_updated_at").min().alias("first_seen_at"),
        pl.col("source_updated_at").max().alias("updated_at"),
    )
    return (
        stats.join(values, on="unified_id", how="left")
        .select(GOLDEN_CUSTOMER_COLUMNS)
        .sort("unified_id")
    )


def latest_update(std_records: pl.DataFrame) -> datetime | None:
    """The run's latest ``source_updated_at``: the instant trust ages values against."""
    latest: datetime | None = std_records.select(pl.col("source_updated_at").max()).item()
    return latest


def build_golden_record(
    std_records: pl.DataFrame,
    xref: pl.DataFrame,
    *,
    sources: Sources,
    settings: SurvivorshipSettings,
    run_id: str,
    as_of: datetime | None = None,
    part_records: int = PART_RECORDS,
) -> GoldenRecord:
    """Score every candidate value, pick the survivors, and record where each came from.

    Args:
        std_records: The standardised canonical frame (CONTRACTS.md): canonical
            columns plus ``email_valid, phone_valid, tax_id_valid``; other columns
            are ignored.
        xref: ``source_system, source_record_id, unified_id`` (plus anything else),
            one row per record of ``std_records``.
        sources: Per-source trust: ``{name: {"default": 0.8, field: trust}}`` or
            objects with ``.name`` and ``.trust_for(field)``.
        settings: The run's survivorship settings.
        run_id: Stamped on every lineage and candidate row.
        as_of: The run clock trust ages values against (``pipelines.clock``; the
            pipeline always gives it). Default: the latest ``source_updated_at`` in
            ``std_records``, for callers outside a run.
        part_records: Customers are built in consecutive ranges of about this many
            records (same output, a fraction of the temporary memory: at 1M
            records the whole build's temporaries held several GiB).

    Returns:
        ``GoldenRecord(golden_customer, field_lineage, field_candidates)``.

    Raises:
        LineageInputError: Missing columns, duplicate keys, or records and xref disagree.
        SourceTrustError: A source in the records has no trust configured.

    Example::

        golden = build_golden_record(std, xref, sources={"crm": {"default": 0.8}},
                                     settings=SurvivorshipSettings(), run_id="run-1")
        golden.golden_customer.select("unified_id", "name", "trust_score")
    """
    parts = list(
        golden_record_parts(
            std_records, xref, sources=sources, settings=settings, run_id=run_id, as_of=as_of,
            part_records=part_records,
        )
    )  # fmt: skip
    if len(parts) == 1:
        return parts[0]
    return GoldenRecord(
        golden_customer=pl.concat([part.golden_customer for part in parts]),
        field_candidates=pl.concat([part.field_candidates for part in parts]),
    )


def golden_record_parts(
    std_records: pl.DataFrame,
    xref: pl.DataFrame,
    *,
    sources: Sources,
    settings: SurvivorshipSettings,
    run_id: str,
    as_of: datetime | None = None,
    part_records: int = PART_RECORDS,
) -> Iterator[GoldenRecord]:
    """``build_golden_record``'s output in consecutive ``unified_id`` ranges, one at a time.

    Stacked in order, the parts are the whole build's frames. A caller that
    writes each part away as it comes (``pipelines.spill``) never holds the
    whole population's candidates. Arguments and errors as ``build_golden_record``;
    the inputs are checked before the first part.
    """
    _check_inputs(std_records, xref)
    as_of = latest_update(std_records) if as_of is None else as_of
    for part_std, part_xref in _customer_ranges(std_records, xref, records=part_records):
        yield _build_part(
            part_std, part_xref, sources=sources, settings=settings, run_id=run_id, as_of=as_of
        )


def _customer_ranges(
    std_records: pl.DataFrame, xref: pl.DataFrame, *, records: int
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """The records and xref in consecutive ``unified_id`` ranges of about ``records`` each.

    Survivorship compares the records of one customer only (plus the run-wide
    ``as_of``), so each range is built alone. Every output is sorted by
    ``unified_id`` first, so the ranges' outputs stacked in order are the
    whole build's, byte for byte; only the temporary frames (several times the
    output) shrink to one range's. Ranges are cut one at a time, so at most one
    range's copy of the records exists beside the whole.
    """
    if std_records.height <= records:
        yield std_records, xref
        return
    sizes = xref.group_by("unified_id").len().sort("unified_id")
    ranges = sizes.select(
        "unified_id", ((pl.col("len").cum_sum() - pl.col("len")) // records).alias("range")
    )
    xref_range = xref.select("unified_id").join(
        ranges, on="unified_id", how="left", maintain_order="left"
    )["range"]
    record_range = std_records.select(RECORD_KEY_COLUMNS).join(
        xref.select(*RECORD_KEY_COLUMNS).with_columns(range=xref_range),
        on=RECORD_KEY_COLUMNS,
        how="left",
        maintain_order="left",
    )["range"]
    for part in ranges["range"].unique().sort().to_list():
        yield std_records.filter(record_range == part), xref.filter(xref_range == part)


def field_authority(sources: Sources) -> dict[str, float]:
    """Field -> the highest configured trust of any source for it (the field's authority).

    Example:
        >>> field_authority({"crm": {"default": 0.8}, "erp": {"default": 0.7, "tier": 0.9}})["tier"]
        0.9
    """
    table = authority_table(sources).group_by("field").agg(pl.col("authority").max())
    return dict(table.sort("field").rows())


def _build_part(
    std_records: pl.DataFrame,
    xref: pl.DataFrame,
    *,
    sources: Sources,
    settings: SurvivorshipSettings,
    run_id: str,
    as_of: datetime | None,
) -> GoldenRecord:
    """``build_golden_record`` on one range of customers, inputs already checked."""
    candidates = extract_candidates(std_records, xref)
    if settings.infer_company_type:
        candidates = with_inferred_type(candidates)
    scored = classify_roles(
        score_candidates(candidates, sources=sources, settings=settings, as_of=as_of),
        settings=settings,
        field_authority=field_authority(sources),
    )
    chosen = with_shared_text(
        _sorted_by_field(
            ranked_candidates(scored, settings=settings).with_columns(
                run_id=pl.lit(run_id, pl.String)
            ),
            "rank",
        ),
        REPEATED_TEXT_COLUMNS,
    )
    winners = chosen.filter(pl.col("is_winner"))
    records = std_records.join(
        xref.select(*RECORD_KEY_COLUMNS, "unified_id"), on=RECORD_KEY_COLUMNS, how="inner"
    )
    return GoldenRecord(
        golden_customer=_golden_customer(records, winners, settings=settings),
        field_candidates=chosen.select(FIELD_CANDIDATES_COLUMNS),
    )
