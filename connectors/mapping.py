"""Raw frame + source config -> canonical records, and the rows that cannot be.

Everything a source does differently is in its config; this module turns
that config into Polars expressions (trim, empty -> null, coalesce or join,
constants, value maps, present/absent, timestamps) and runs them over the
whole file at once. Quarantine rules derive from :mod:`connectors.canonical`
(identifying fields, closed vocabularies) instead of restating them.

The intermediate "mapped frame" is the canonical frame plus ``raw`` and
``reason`` (null for good rows): one frame per file keeps every input row in
one place until :func:`split_mapped`, which is what makes
``rows_in == records + quarantine`` hold by construction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from connectors.canonical import (
    CANONICAL_SCHEMA,
    FIELD_NAMES,
    FIELDS_BY_NAME,
    IDENTIFYING_FIELDS,
    MAX_VALUE_CHARS,
    QUARANTINE_SCHEMA,
    SIZE_BANDS,
)
from connectors.config import (
    ATTRIBUTE_PREFIX,
    REFERENCE_FIELDS,
    FieldMapping,
    SourceConfig,
    invalid_value_policy,
)
from connectors.errors import SchemaDriftError
from connectors.expressions import complete_local_phone, extract_part, fill_template
from connectors.readers import RawFrame
from connectors.record_ids import normalise_record_id, normalised_record_id
from connectors.reference import normalise_country, normalise_head_count
from connectors.time_window import UPDATED_AT_FIELD
from connectors.timestamps import UTC_DATETIME, parse_timestamp
from connectors.value_maps import apply_value_map

# Per row, the values dropped from it (connectors.config.invalid_value_policy).
REJECTIONS = "rejections"
REJECTIONS_DTYPE = pl.List(
    pl.Struct(
        {"source_column": pl.String, "field": pl.String, "value": pl.String, "reason": pl.String}
    )
)
MAPPED_SCHEMA: dict[str, pl.DataType] = {
    **CANONICAL_SCHEMA,
    "raw": pl.String(),
    "reason": pl.String(),
    REJECTIONS: REJECTIONS_DTYPE,
}
# `source_columns` names a constant's origin with this marker, not a column.
CONSTANT_ORIGIN = "(constant)"
# How `source_columns` names the columns of a joined field: "first_name+surname".
JOINED_COLUMNS = "+"
# `source_columns` key of the record ID as read, when normalising changed it.
RAW_RECORD_ID_KEY = "raw_source_record_id"
REASON_SEPARATOR = "; "
# Working column with the cell-level problems of a row; a NUL cannot start a
# CSV header name, and the name is checked against the mapped columns anyway.
_CELL_PROBLEMS = "\x00cell_problems"
_RAW_RECORD_ID = "\x00raw_record_id"
_UNTRIMMED_PREFIX = "\x00untrimmed:"
# C0 controls other than tab, line feed and carriage return, and DEL: no name,
# address or e-mail holds them; a cell that does is binary data or a broken export.
_CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# How ``connectors.readers.show_undecodable`` writes a byte it could not decode.
_SHOWN_BYTE = re.compile(r"\\x([0-9a-f]{2})")
# Formats whose dotted column names come from flattening nested objects.
_NESTED_FORMATS = ("jsonl", "parquet")


@dataclass(frozen=True)
class _FieldExprs:
    """One field's value, where it came from, and what is wrong with it.

    ``problem`` is why the value is invalid (null when it is not); ``text`` is
    the value as read, ``column`` the column(s) it was read from, for a
    ``value_rejections`` row.
    """

    value: pl.Expr
    origin_json: pl.Expr
    reasons: tuple[pl.Expr, ...]
    problem: pl.Expr | None = None
    text: pl.Expr | None = None
    column: pl.Expr | None = None
    json_key: str = ""

    def entry(self, value: pl.Expr) -> pl.Expr:
        """``"field":"column"`` of ``source_columns`` where the (final) value is filled."""
        if self.text is None:  # a constant
            return self.origin_json
        prefix = pl.lit(f"{self.json_key}:")
        return pl.when(value.is_not_null()).then(pl.concat_str(prefix, self.origin_json))


def mapped_schema(source: SourceConfig) -> dict[str, pl.DataType]:
    """``MAPPED_SCHEMA`` with the config's ``attribute_<name>`` columns after the fields."""
    attributes = {name: pl.String() for name in source.attribute_columns}
    return {**CANONICAL_SCHEMA, **attributes, **MAPPED_SCHEMA}


def check_schema_drift(raw: RawFrame, *, source: SourceConfig, source_file: str) -> None:
    """Fail before any row is mapped if a column the config reads is gone.

    A file with neither header nor rows (an empty export) has nothing to check.

    Raises:
        SchemaDriftError: e.g. ``source 'erp': column '客户等级' not found in
            data/samples/erp_customers.csv``.
    """
    if raw.data.width == 0 and raw.row_number.len() == 0:
        return
    missing = [c for c in source.referenced_columns if c not in raw.data.columns]
    if not missing:
        return
    file = (source.base_dir / source_file).as_posix()
    # JSON Lines has no header: a path is missing only if no row carries it.
    noun, where = (
        ("path", f"in any row of {file}") if source.format == "jsonl" else ("column", f"in {file}")
    )
    plural = "s" if len(missing) > 1 else ""
    names = ", ".join(map(repr, missing))
    msg = f"source {source.name!r}: {noun}{plural} {names} not found {where}"
    nested = [n for c in missing for n in _nested_paths(raw.data, c, source=source)]
    if nested:
        msg += f" (found nested objects instead: {', '.join(map(repr, nested[:3]))})"
    raise SchemaDriftError(msg)


def map_to_canonical(raw: RawFrame, *, source: SourceConfig, source_file: str) -> pl.DataFrame:
    """Map one file's raw frame to a mapped frame (``MAPPED_SCHEMA``).

    Reader failures are included as rows with their reason, so the result has
    exactly one row per input row, ordered by ``row_number``.

    Args:
        raw: What the reader got from the file.
        source: The source's config.
        source_file: The file as named in records and quarantine.

    Raises:
        SchemaDriftError: see :func:`check_schema_drift`.
    """
    check_schema_drift(raw, source=source, source_file=source_file)
    schema = mapped_schema(source)
    failures = raw.failures.with_columns(
        source_system=pl.lit(source.name),
        source_file=pl.lit(source_file),
        source_record_id=readable_failure_cells(raw, column=source.record_id, source=source),
    )
    if raw.data.width == 0:
        mapped = pl.DataFrame(schema=schema)
    else:
        stages = _Stages()
        canonical = _canonical_exprs(source, source_file=source_file, stages=stages)
        cleaned = raw.data.lazy().select(
            *(_clean(c).alias(c) for c in source.referenced_columns),
            *(_not_blank(c).alias(_untrimmed(c)) for c in _untrimmed_columns(source)),
            _cell_problems(raw.data, source=source).alias(_CELL_PROBLEMS),
            pl.col(source.record_id).alias(_RAW_RECORD_ID),
        )
        mapped = (
            stages.apply(cleaned)
            .select(canonical)
            .collect()
            .with_columns(row_number=raw.row_number, raw=raw.raw)
        )
    return (
        pl.concat([mapped, failures], how="diagonal")
        .select(pl.col(name).cast(dtype) for name, dtype in schema.items())
        .sort("row_number")
    )


def readable_failure_cells(raw: RawFrame, *, column: str, source: SourceConfig) -> pl.Series:
    """The cell ``column`` of each row the reader rejected, where the row still shows it.

    A rejected row of a published record must keep its customer, so its key
    (the record ID) matters, as does the value a ``split_by`` source is chosen
    by. Read only where it is certain: a CSV row given as its cells with a full
    record's worth of them (or the cell first), or a line whose cells up to the
    cell hold no quote (a stray quote shifts every cell after it). Anything
    else gives null, never a guess.
    """
    failures = raw.failures.get_column("raw")
    if source.format == "jsonl":
        ids = [_record_id_in_object(text, path=column) for text in failures.to_list()]
        return pl.Series("source_record_id", ids, dtype=pl.String)
    if source.format != "csv" or column not in raw.data.columns:
        return pl.Series("source_record_id", [None] * failures.len(), dtype=pl.String)
    position = raw.data.columns.index(column)
    width = raw.data.width
    ids = [
        _record_id_in_row(text, position=position, width=width, delimiter=source.delimiter)
        for text in failures.to_list()
    ]
    return pl.Series("source_record_id", ids, dtype=pl.String)


def _record_id_in_row(text: str | None, *, position: int, width: int, delimiter: str) -> str | None:
    """The cell at ``position`` of one rejected CSV row (see ``readable_failure_cells``)."""
    if text is None:
        return None
    cells = _json_cells(text)
    if isinstance(cells, list):
        certain = len(cells) == width or position == 0
        cell = cells[position] if certain and position < len(cells) else None
    else:
        parts = text.split(delimiter)
        certain = len(parts) > position and not any('"' in p for p in parts[: position + 1])
        cell = parts[position] if certain else None
    value = cell.strip() if isinstance(cell, str) else None
    return value or None


def _record_id_in_object(text: str | None, *, path: str) -> str | None:
    """The record ID of one rejected JSON Lines row, when the line is still a JSON object.

    A line rejected for what one of its values holds (bytes the codec rejects, a
    nesting too deep, an object where a value belongs) still names its record;
    a line that is no JSON object (cut, a stray quote) gives null. ``path`` is
    the dotted path the reader flattens to; an ID shown with undecodable bytes
    (``\\xNN``) is no key.

    Example:
        >>> _record_id_in_object('{"id": "EC-1", "customer": {"name": "A\\\\xe9"}}', path="id")
        'EC-1'
        >>> _record_id_in_object('{"id": "EC-1", "customer": {"name": "A"', path="id") is None
        True
    """
    try:
        value = _json_cells(text.lstrip(" \t\ufeff")) if text else None
    except RecursionError:  # nested past what json reads: no telling
        return None
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or _SHOWN_BYTE.search(value):
        return None
    return normalise_record_id(value)


def _json_cells(text: str) -> object:
    """A row given as JSON, also when undecodable bytes show in it as ``\\xNN``."""
    for candidate in (text, _SHOWN_BYTE.sub(r"\\\\x\1", text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def quarantine_duplicates(mapped: pl.DataFrame) -> pl.DataFrame:
    """Keep one good row per ``source_record_id``; give the others a reason.

    The kept row has the latest ``source_updated_at`` (a null time loses);
    on a tie the later row wins, as a later line of an export usually
    corrects an earlier one. Call it once per source, over all its files.

    Example:
        A record ``C1`` at rows 2 and 5 with equal times keeps row 5; row 2
        gets ``duplicate source_record_id 'C1' (kept row 5)``.
    """
    ordinal = "_ordinal"
    key = pl.when(pl.col("reason").is_null()).then(pl.col("source_record_id"))

    def kept(column: str) -> pl.Expr:
        latest_first = pl.col(column).sort_by(
            ["source_updated_at", ordinal], descending=[True, True], nulls_last=True
        )
        return latest_first.first().over(key)

    same_file = pl.col("source_file") == kept("source_file")
    kept_row = kept("row_number").cast(pl.String)
    where = (
        pl.when(same_file)
        .then(kept_row)
        .otherwise(pl.concat_str(kept_row, pl.lit(" of "), kept("source_file")))
    )
    duplicate = pl.concat_str(
        pl.lit("duplicate source_record_id '"),
        pl.col("source_record_id"),
        pl.lit("' (kept row "),
        where,
        pl.lit(")"),
    )
    is_loser = pl.col("reason").is_null() & (pl.col(ordinal) != kept(ordinal))
    return (
        mapped.with_row_index(ordinal)
        .with_columns(reason=pl.when(is_loser).then(duplicate).otherwise(pl.col("reason")))
        .drop(ordinal)
    )


def split_mapped(mapped: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a mapped frame into (canonical records, quarantine rows)."""
    good = pl.col("reason").is_null()
    attributes = [c for c in mapped.columns if c.startswith(ATTRIBUTE_PREFIX)]
    records = mapped.filter(good).select(*CANONICAL_SCHEMA, *attributes)
    quarantine = mapped.filter(~good).select(QUARANTINE_SCHEMA.keys())
    return records, quarantine


def _nested_paths(data: pl.DataFrame, column: str, *, source: SourceConfig) -> list[str]:
    """Flattened paths below ``column`` (it held an object in some row)."""
    if source.format not in _NESTED_FORMATS:
        return []
    return [c for c in data.columns if c.startswith(f"{column}.")]


def _cell_problems(data: pl.DataFrame, *, source: SourceConfig) -> pl.Expr:
    """Per row, what is wrong with the raw cells of the mapped columns, or null.

    A cell too long to be a value (``MAX_VALUE_CHARS``), one holding control
    characters (binary data), and, for nested formats, a path that holds an
    object where the config expects a value.
    """
    if _CELL_PROBLEMS in source.referenced_columns:
        msg = f"source {source.name!r}: column name {_CELL_PROBLEMS!r} is reserved"
        raise SchemaDriftError(msg)
    problems: list[pl.Expr] = []
    for column in source.referenced_columns:
        cell = pl.col(column)
        length = cell.str.len_chars()
        too_long = pl.concat_str(
            pl.lit(f"column {column!r}: value is "),
            length.cast(pl.String),
            pl.lit(f" characters long (limit {MAX_VALUE_CHARS})"),
        )
        problems.append(pl.when(length > MAX_VALUE_CHARS).then(too_long))
        binary = f"column {column!r}: holds control characters (binary data?)"
        problems.append(pl.when(cell.str.contains(_CONTROL_CHARACTERS)).then(pl.lit(binary)))
        nested = _nested_paths(data, column, source=source)
        if nested:
            shown = ", ".join(map(repr, nested[:3]))
            message = f"path {column!r}: holds an object ({shown}), not a value"
            has_object = pl.any_horizontal(pl.col(n).is_not_null() for n in nested)
            problems.append(pl.when(cell.is_null() & has_object).then(pl.lit(message)))
    joined = pl.concat_str(problems, separator=REASON_SEPARATOR, ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text != "").then(text)


def _not_blank(column: str) -> pl.Expr:
    return pl.when(pl.col(column).str.strip_chars() != "").then(pl.col(column))


def _untrimmed(column: str) -> str:
    """Working name of a column's cells as written (``trim: false``); blank cells are null."""
    return f"{_UNTRIMMED_PREFIX}{column}"


def _untrimmed_columns(source: SourceConfig) -> tuple[str, ...]:
    mappings = (*source.fields.values(), *source.attributes.values())
    return tuple(dict.fromkeys(c for m in mappings if not m.trim for c in m.source_columns))


class _Stages:
    """Working columns computed before the canonical select, in dependency order.

    A field's value is referenced many times (its reference data, its
    rejection, its lineage entry, the identifying check); as one nested
    expression Polars evaluates the shared part again at each reference, and a
    head count behind a value map took seconds. Materialised once, it is a
    column lookup.
    """

    LEVELS = 3

    def __init__(self) -> None:
        self._levels: list[dict[str, pl.Expr]] = [{} for _ in range(self.LEVELS)]

    def put(self, level: int, name: str, expr: pl.Expr) -> pl.Expr:
        """Compute ``expr`` as working column ``name`` at ``level``; returns a reference to it."""
        column = f"\x00{level}:{name}"
        self._levels[level][column] = expr
        return pl.col(column)

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        for level in self._levels:
            if level:
                frame = frame.with_columns(**level)
        return frame


def _canonical_exprs(source: SourceConfig, *, source_file: str, stages: _Stages) -> list[pl.Expr]:
    # Canonical field order, not the config's: ``source_columns`` (and so the content hash)
    # must not change when a config lists its fields in another order.
    mappings: dict[str, FieldMapping] = {
        **{name: source.fields[name] for name in FIELD_NAMES if name in source.fields},
        **{f"{ATTRIBUTE_PREFIX}{n}": m for n, m in source.attributes.items()},
    }
    fields = {
        name: _field_exprs(name, mapping, source=source, stages=stages)
        for name, mapping in mappings.items()
    }
    rejections: list[pl.Expr] = []
    values: dict[str, pl.Expr] = {}
    policy_reasons: list[pl.Expr] = []
    for name, exprs in fields.items():
        value = exprs.value
        if exprs.problem is not None:
            field = name.removeprefix(ATTRIBUTE_PREFIX) if name not in source.fields else name
            if invalid_value_policy(field, mappings[name]) == "quarantine":
                policy_reasons.append(exprs.problem)
            else:
                value = pl.when(exprs.problem.is_null()).then(value)
                rejections.append(_rejection(name, exprs))
        values[name] = value
    for name in (*FIELD_NAMES, *source.attribute_columns):
        values.setdefault(name, pl.lit(None, pl.String))
    record_id = normalised_record_id(pl.col(source.record_id))
    reasons: list[pl.Expr] = [
        pl.when(record_id.is_null()).then(
            pl.lit(f"missing record id (column {source.record_id!r})")
        ),
        pl.col(_CELL_PROBLEMS),
        pl.when(pl.all_horizontal(values[name].is_null() for name in IDENTIFYING_FIELDS)).then(
            pl.lit(f"none of {', '.join(IDENTIFYING_FIELDS)} present")
        ),
    ]
    updated_at = pl.lit(None, UTC_DATETIME)
    if source.updated_at is not None:
        spec = source.updated_at
        text = pl.col(spec.column)
        updated_at = parse_timestamp(text, spec=spec)
        bad_time = _quoted_reason(
            f"column {spec.column!r}: ", text, f" is not a valid timestamp (format {spec.format!r})"
        )
        problem = pl.when(text.is_not_null() & updated_at.is_null()).then(bad_time)
        if spec.on_invalid == "quarantine":
            reasons.append(problem)
        else:
            # on_invalid: drop: the record stays, its recency unknown (as for a timestamp
            # outside the run's window, connectors.time_window).
            entry = pl.struct(
                pl.lit(spec.column, pl.String).alias("source_column"),
                pl.lit(UPDATED_AT_FIELD, pl.String).alias("field"),
                text.alias("value"),
                problem.alias("reason"),
            )
            rejections.append(pl.when(problem.is_not_null()).then(entry))
    reasons.extend(policy_reasons)
    entries = [exprs.entry(values[name]) for name, exprs in fields.items()]
    entries.append(_raw_record_id_entry(record_id, stripped=pl.col(source.record_id)))
    reason = pl.concat_str(reasons, separator=REASON_SEPARATOR, ignore_nulls=True)
    source_columns = pl.concat_str(
        pl.lit("{"), pl.concat_str(entries, separator=",", ignore_nulls=True), pl.lit("}")
    )
    return [
        pl.lit(source.name, pl.String).alias("source_system"),
        record_id.alias("source_record_id"),
        pl.lit(source_file, pl.String).alias("source_file"),
        updated_at.alias("source_updated_at"),
        source_columns.alias("source_columns"),
        *(values[name].alias(name) for name in (*FIELD_NAMES, *source.attribute_columns)),
        pl.when(reason != "").then(reason).alias("reason"),
        _rejection_list(rejections).alias(REJECTIONS),
    ]


def _rejection(name: str, exprs: _FieldExprs) -> pl.Expr:
    """One ``value_rejections`` entry (a struct) where the field's value is invalid."""
    assert exprs.problem is not None
    assert exprs.text is not None
    assert exprs.column is not None
    entry = pl.struct(
        exprs.column.alias("source_column"),
        pl.lit(name, pl.String).alias("field"),
        exprs.text.alias("value"),
        exprs.problem.alias("reason"),
    )
    return pl.when(exprs.problem.is_not_null()).then(entry)


def _rejection_list(rejections: list[pl.Expr]) -> pl.Expr:
    if not rejections:
        return pl.lit(None, REJECTIONS_DTYPE)
    listed = pl.concat_list(rejections).list.drop_nulls()
    return pl.when(listed.list.len() > 0).then(listed).cast(REJECTIONS_DTYPE)


def _raw_record_id_entry(record_id: pl.Expr, *, stripped: pl.Expr) -> pl.Expr:
    """``"raw_source_record_id": "<as read>"`` when the ID held invisible characters, else null.

    The key is kept normalised (``connectors.record_ids``); the text the export
    really held stays with the record's lineage, so an auditor can see why
    ``\ufeffCRM-1`` and ``CRM-1`` are one record. Surrounding space alone is
    not recorded: padded IDs are common, and every record would get its own
    ``source_columns`` text (see ``connectors.load.REPEATED_RECORD_TEXT``).
    """
    raw_id = pl.col(_RAW_RECORD_ID)
    as_json = pl.struct(raw_id.alias(RAW_RECORD_ID_KEY)).struct.json_encode()
    entry = as_json.str.strip_prefix("{").str.strip_suffix("}")
    return pl.when(record_id.is_not_null() & (stripped != record_id)).then(entry)


def _field_exprs(
    name: str, mapping: FieldMapping, *, source: SourceConfig, stages: _Stages
) -> _FieldExprs:
    """Expressions for one mapped field (or attribute); source columns are already cleaned.

    The value is read (column, coalesce, join or template), a part picked
    (``pattern``), trimmed, then translated (``map``, reference data,
    ``present``/``absent``). ``problem`` is why a value is invalid for the
    field; what that does to the row is :func:`invalid_value_policy`'s call,
    applied by the caller.
    """
    json_key = json.dumps(name)
    if mapping.constant is not None:
        value = pl.lit(mapping.constant, pl.String)
        entry = pl.lit(f"{json_key}:{json.dumps(CONSTANT_ORIGIN)}")
        return _FieldExprs(value, entry, ())
    columns = mapping.source_columns
    cells = [pl.col(c if mapping.trim else _untrimmed(c)) for c in columns]
    if mapping.template is not None:
        chosen = fill_template(mapping.template, dict(zip(columns, cells, strict=True)))
    elif mapping.join is None:
        chosen = pl.coalesce(cells)
    else:
        joined = pl.concat_str(cells, separator=mapping.join, ignore_nulls=True)
        chosen = pl.when(joined != "").then(joined)
    if mapping.pattern is not None:
        chosen = extract_part(chosen, mapping.pattern)
    if mapping.trim:
        chosen = chosen.str.strip_chars()
    chosen = pl.when(chosen.str.strip_chars() != "").then(chosen)
    if mapping.default_area_code is not None and source.default_country is not None:
        chosen = complete_local_phone(
            chosen, area_code=mapping.default_area_code, region=source.default_country
        )
    chosen = stages.put(0, name, chosen)

    def origin(label: Callable[[str], str]) -> pl.Expr:
        """The label of the column that supplied the value (first non-empty).

        With ``join`` or a template, every non-empty column supplied part of
        it: their labels are joined with ``+`` (``first_name+surname``).
        """
        supplied = [
            pl.when(cell.is_not_null()).then(pl.lit(label(c)))
            for cell, c in zip(cells, columns, strict=True)
        ]
        if not mapping.combines_columns:
            return pl.coalesce(supplied)
        labels = pl.concat_str(supplied, separator=JOINED_COLUMNS, ignore_nulls=True)
        return pl.when(labels != "").then(labels)

    if not mapping.combines_columns:
        origin_json = origin(lambda c: json.dumps(c, ensure_ascii=False))
    else:
        # One JSON string naming every part: the column names' escaped text inside quotes.
        inner = origin(lambda c: json.dumps(c, ensure_ascii=False)[1:-1])
        origin_json = pl.concat_str(pl.lit('"'), inner, pl.lit('"'))
    problem: pl.Expr | None = None
    if mapping.derives_presence:
        value = (
            pl.when(chosen.is_not_null())
            .then(pl.lit(mapping.present))
            .otherwise(pl.lit(mapping.absent))
        )
        # An empty column decides `absent` too: name the first column read.
        origin_json = origin_json.fill_null(pl.lit(json.dumps(columns[0], ensure_ascii=False)))
    else:
        value, problem = _translate(name, mapping, chosen, origin(repr), stages=stages)
        value = stages.put(2, name, value)
        if problem is not None:
            problem = stages.put(2, f"problem:{name}", problem)
    column = origin(str)
    return _FieldExprs(value.cast(pl.String), origin_json, (), problem, chosen, column, json_key)


def _translate(
    name: str, mapping: FieldMapping, chosen: pl.Expr, column: pl.Expr, *, stages: _Stages
) -> tuple[pl.Expr, pl.Expr | None]:
    """``(value, problem)``: the cell text through the map and the field's reference data."""
    unmapped: pl.Expr | None = None
    value = chosen
    if mapping.map is not None:
        value, unmapped = apply_value_map(chosen, mapping.map)
    unmapped_reason = pl.concat_str(
        pl.lit("column "), column, pl.lit(": unmapped value '"), chosen, pl.lit("'")
    )
    if mapping.normalise and name in REFERENCE_FIELDS:
        # A code the map lacks is tried in the reference data before it is invalid.
        text = value if unmapped is None else pl.when(unmapped).then(chosen).otherwise(value)
        text = stages.put(1, name, text)
        if name == "country":
            value = normalise_country(text)
            invalid = text.is_not_null() & value.is_null()
            what = " is not a country name or code known to ISO 3166 (English or Chinese)"
        else:
            value, invalid = normalise_head_count(text, bands=mapping.bands or SIZE_BANDS)
            what = " is neither a head count nor a band like '10-49' or '1000+'"
        reason = pl.concat_str(pl.lit("column "), column, pl.lit(": '"), text, pl.lit(f"'{what}"))
        return value, pl.when(invalid).then(reason)
    if unmapped is not None:
        return value, pl.when(unmapped).then(unmapped_reason)
    return value, _outside_vocabulary(name, value, column)


def _outside_vocabulary(name: str, value: pl.Expr, column: pl.Expr) -> pl.Expr | None:
    """A reason when a passed-through value is outside the field's vocabulary.

    Mapped, constant and present/absent values were checked against the
    vocabulary when the config was validated; only raw cells need a row check.
    """
    allowed = FIELDS_BY_NAME[name].allowed if name in FIELDS_BY_NAME else None
    if allowed is None:
        return None
    outside = value.is_not_null() & ~value.is_in(allowed)
    message = _quoted_reason(f"field {name!r}: ", value, f" is not one of {', '.join(allowed)}")
    return pl.when(outside).then(pl.concat_str(message, pl.lit(" (column "), column, pl.lit(")")))


def _quoted_reason(prefix: str, value: pl.Expr, suffix: str) -> pl.Expr:
    """``prefix + 'value' + suffix`` as an expression."""
    return pl.concat_str(pl.lit(f"{prefix}'"), value, pl.lit(f"'{suffix}"))
