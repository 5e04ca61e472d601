"""Did survivorship pick the right values: normalised comparison of golden and true values."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

import opencc
import polars as pl

from pipelines.evaluation.clusters import require_columns
from pipelines.evaluation.results import (
    DEFAULT_FIELDS,
    PHONE_FIELDS,
    SOURCE_KEYS,
    FieldAccuracy,
)

_KEEP_TEXT = r"[^\p{L}\p{M}\p{N}]"
_SEGMENT = "\n"


# --------------------------------------------------------------------------- normalisation


@cache
def _t2s() -> opencc.OpenCC:
    """One converter per process: loading the dictionaries costs far more than converting."""
    return opencc.OpenCC("t2s")


def _fold_one(text: str) -> str:
    """NFKC -> simplified Chinese -> casefold -> NFKC (casefolding can denormalise)."""
    folded = _t2s().convert(unicodedata.normalize("NFKC", text)).casefold()
    return unicodedata.normalize("NFKC", folded)


def _fold_many(texts: list[str]) -> list[str]:
    """Fold many whitespace-free strings with one call per step instead of one per value.

    The values are joined on a newline (absent from them, since whitespace was removed
    first) and split back; if a step ever changed the separator count, fall back to
    folding one by one rather than misalign values.
    """
    if not texts:
        return []
    parts = _fold_one(_SEGMENT.join(texts)).split(_SEGMENT)
    return parts if len(parts) == len(texts) else [_fold_one(t) for t in texts]


def normalise_text(values: pl.Series) -> pl.Series:
    """Normalise values so that only content differences remain.

    Steps: drop whitespace; Unicode NFKC (full-width -> ASCII, compatibility forms);
    traditional -> simplified Chinese (OpenCC ``t2s``); casefold; then drop everything
    but letters, combining marks and digits (punctuation and symbols go). Thus
    'ACME Co., Ltd' == 'acme co ltd' and '上海星辰貿易有限公司' == '上海星辰贸易有限公司',
    but 'ACME Co., Ltd.' != 'ACME Inc.': the rule forgives formatting, not content
    (abbreviations, legal forms and typos still count as different).

    Python-level work runs once per distinct value, not per row.

    Args:
        values: any dtype; cast to string.

    Returns:
        String series aligned with ``values``; nulls stay null.
    """
    raw = values.cast(pl.String).str.replace_all(r"\s+", "")
    distinct = raw.drop_nulls().unique()
    mapping = pl.DataFrame(
        {"raw": distinct, "folded": pl.Series(_fold_many(distinct.to_list()), dtype=pl.String)}
    ).with_columns(pl.col("folded").str.replace_all(_KEEP_TEXT, ""))
    return (
        raw.to_frame("raw")
        .join(mapping, on="raw", how="left", maintain_order="left")["folded"]
        .alias(values.name)
    )


def normalise_phone(values: pl.Series) -> pl.Series:
    """Keep only the ASCII digits (after NFKC), so '+86 138 0013 8000' == '+8613800138000'.

    A missing country code still differs: that is content, not formatting.
    """
    return normalise_text(values).str.replace_all(r"[^0-9]", "")


# --------------------------------------------------------------------------- field accuracy


def _record_links(xref: pl.DataFrame, truth_records: pl.DataFrame) -> pl.DataFrame:
    """(unified_id, entity_id) per record known to both sides; keys compared as strings."""
    require_columns(xref, (*SOURCE_KEYS, "unified_id"), "xref")
    require_columns(truth_records, (*SOURCE_KEYS, "entity_id"), "truth_records")
    keys = [pl.col(k).cast(pl.String) for k in SOURCE_KEYS]
    left = xref.select(*keys, "unified_id").drop_nulls()
    right = truth_records.select(*keys, "entity_id").drop_nulls()
    return left.join(right, on=list(SOURCE_KEYS), how="inner").select("unified_id", "entity_id")


def _most_records(counts: pl.DataFrame, group: str, pick: str) -> pl.DataFrame:
    """Per ``group``, the ``pick`` sharing most records with it; ties go to the smallest."""
    return (
        counts.sort([group, "n", pick], descending=[False, True, False])
        .unique(subset=group, keep="first", maintain_order=True)
        .select(group, pick)
    )


def entity_golden_pairs(xref: pl.DataFrame, truth_records: pl.DataFrame) -> pl.DataFrame:
    """Decide which golden row is judged against which true entity.

    1. Each unified ID stands for the entity holding the majority of its records
       (ties: smallest entity_id). Entities that stand behind no unified ID were
       absorbed into other customers' clusters (or lost); that is a matching error
       the clustering scores already charge, so field accuracy does not judge them.
    2. Each entity kept is judged against the golden row of the cluster holding most
       of its records (ties: smallest unified_id): the row a user looking the customer
       up would most likely land on. If its records are split, the smaller fragments
       are likewise left to the clustering scores.

    Args:
        xref: ``source_system``, ``source_record_id``, ``unified_id``.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.

    Returns:
        Columns ``entity_id``, ``unified_id``; one row per judged entity, sorted.
    """
    counts = (
        _record_links(xref, truth_records)
        .group_by("unified_id", "entity_id")
        .agg(pl.len().alias("n"))
    )
    represented = _most_records(counts, "unified_id", "entity_id").select("entity_id")
    representative = _most_records(counts, "entity_id", "unified_id")
    return representative.join(represented.unique(), on="entity_id", how="semi").sort("entity_id")


def _is_present(values: pl.Series) -> pl.Series:
    """True where a value is non-null and not blank."""
    return values.cast(pl.String).str.strip_chars().fill_null("") != ""


def _score_field(
    truth: pl.Series, golden: pl.Series, *, phone: bool, knowable: pl.Series | None = None
) -> FieldAccuracy:
    """Compare one field over judged entities; unknown truth is skipped, missing golden is wrong.

    With ``knowable``, entities where it is not true are skipped too.
    """
    normalise = normalise_phone if phone else normalise_text
    judged = _is_present(truth)
    if knowable is not None:
        judged = judged & knowable.fill_null(False)
    equal = (normalise(truth) == normalise(golden)).fill_null(False)
    correct = int((judged & _is_present(golden) & equal).sum())
    total = int(judged.sum())
    return FieldAccuracy(correct=correct, total=total, accuracy=correct / total if total else None)


def knowable_fields(
    values: pl.DataFrame, truth_records: pl.DataFrame, *, fields: Sequence[str]
) -> pl.DataFrame:
    """Per true entity and field: does any of the entity's own records carry a value?

    A golden record can only hold what some source record holds. A customer seen
    only in tickets has no tier in any record, yet the truth knows its tier; scoring
    such a field measures the data, not survivorship. This marks the fields a
    pipeline could have got right: at least one record the truth assigns to the
    entity (matched to it or not) holds a non-blank value. Whether that value is
    the true one is not asked: a record holding only a stale phone still counts,
    so the knowable accuracy still charges survivorship for stale winners.

    Args:
        values: ``source_system``, ``source_record_id`` plus the fields, one row per
            source record (e.g. the published ``standardised_records``); a field
            column it lacks is unknowable everywhere.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.
        fields: the fields to mark.

    Returns:
        ``entity_id`` plus one boolean column per field; entities without any record
        in ``values`` are absent (unknowable).
    """
    require_columns(values, SOURCE_KEYS, "values")
    require_columns(truth_records, (*SOURCE_KEYS, "entity_id"), "truth_records")
    keys = [pl.col(k).cast(pl.String) for k in SOURCE_KEYS]
    present = values.select(
        *keys,
        *[
            (
                pl.col(f).cast(pl.String).str.strip_chars().fill_null("") != ""
                if f in values.columns
                else pl.lit(False)
            ).alias(f)
            for f in fields
        ],
    )
    owners = truth_records.select(*keys, "entity_id").drop_nulls()
    return (
        owners.join(present, on=list(SOURCE_KEYS), how="inner")
        .group_by("entity_id")
        .agg(pl.col(f).any() for f in fields)
        .sort("entity_id")
    )


def reachable_fields(
    values: pl.DataFrame,
    truth_records: pl.DataFrame,
    truth_entities: pl.DataFrame,
    *,
    fields: Sequence[str],
) -> pl.DataFrame:
    """Per true entity and field: does one of the entity's own records hold the *true* value?

    Stricter than :func:`knowable_fields`: a customer whose shop account only holds
    the nickname 快乐的布丁929 has a name on record, but no survivorship rule can
    produce 郭文敏 from it. The accuracy over reachable fields is what survivorship
    alone is answerable for (picking among values that exist), and its complement on
    :func:`knowable_fields` is what the sources never said. Values are compared as
    in :func:`field_accuracy`.

    Args:
        values: ``source_system``, ``source_record_id`` plus the fields, one row per
            source record; a field column it lacks is unreachable everywhere.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.
        truth_entities: ``entity_id`` plus the fields (the true values).
        fields: the fields to mark.

    Returns:
        ``entity_id`` plus one boolean column per field, for entities with records.
    """
    require_columns(values, SOURCE_KEYS, "values")
    require_columns(truth_records, (*SOURCE_KEYS, "entity_id"), "truth_records")
    require_columns(truth_entities, ("entity_id", *fields), "truth_entities")
    keys = [pl.col(k).cast(pl.String) for k in SOURCE_KEYS]
    owned = truth_records.select(*keys, "entity_id").drop_nulls()
    owned = owned.join(values.with_columns(keys), on=list(SOURCE_KEYS), how="inner")
    truth = truth_entities.filter(pl.col("entity_id").is_in(owned["entity_id"].implode()))
    marks = truth.select("entity_id")
    for f in fields:
        normalise = normalise_phone if f in PHONE_FIELDS else normalise_text
        if f not in owned.columns:
            marks = marks.with_columns(pl.lit(False).alias(f))
            continue
        true = truth.select("entity_id", normalise(truth[f]).alias("_true"))
        held = owned.select("entity_id", normalise(owned[f]).alias("_held")).drop_nulls()
        hit = (
            held.join(true.drop_nulls(), on="entity_id", how="inner")
            .filter((pl.col("_held") == pl.col("_true")) & (pl.col("_true") != ""))
            .select("entity_id")
            .unique()
            .with_columns(pl.lit(True).alias(f))
        )
        marks = marks.join(hit, on="entity_id", how="left").with_columns(pl.col(f).fill_null(False))
    return marks.sort("entity_id")


def field_accuracy(
    golden: pl.DataFrame,
    xref: pl.DataFrame,
    truth_records: pl.DataFrame,
    truth_entities: pl.DataFrame,
    *,
    fields: Sequence[str] = DEFAULT_FIELDS,
    knowable: pl.DataFrame | None = None,
) -> dict[str, FieldAccuracy]:
    """Per-field share of judged entities whose golden value is the true current value.

    Which golden row is judged against which entity is decided by
    :func:`entity_golden_pairs`. Values are compared after :func:`normalise_text`
    (digits only for :data:`PHONE_FIELDS`). An empty true value is unknowable and not
    counted; a missing golden value where the truth is known counts as wrong, so a
    pipeline cannot score well by leaving fields blank.

    Args:
        golden: ``unified_id`` plus the fields; a field column it lacks counts as missing.
        xref: ``source_system``, ``source_record_id``, ``unified_id``.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.
        truth_entities: ``entity_id`` plus every field in ``fields``.
        fields: the fields to score.
        knowable: when given (:func:`knowable_fields`), an entity's field is judged
            only where it is true: the *knowable* accuracy, beside the plain one.

    Returns:
        ``{field: FieldAccuracy}`` in ``fields`` order.
    """
    require_columns(golden, ("unified_id",), "golden")
    require_columns(truth_entities, ("entity_id", *fields), "truth_entities")
    golden_values = golden.select(
        "unified_id",
        *[
            (pl.col(f) if f in golden.columns else pl.lit(None)).cast(pl.String).alias(f"g:{f}")
            for f in fields
        ],
    )
    judged = (
        entity_golden_pairs(xref, truth_records)
        .join(truth_entities.select("entity_id", *fields), on="entity_id", how="inner")
        .join(golden_values, on="unified_id", how="left")
    )
    if knowable is None:
        return {
            f: _score_field(judged[f], judged[f"g:{f}"], phone=f in PHONE_FIELDS) for f in fields
        }
    require_columns(knowable, ("entity_id", *fields), "knowable")
    marks = knowable.select("entity_id", *[pl.col(f).alias(f"k:{f}") for f in fields])
    judged = judged.join(marks, on="entity_id", how="left", maintain_order="left")
    return {
        f: _score_field(
            judged[f], judged[f"g:{f}"], phone=f in PHONE_FIELDS, knowable=judged[f"k:{f}"]
        )
        for f in fields
    }
