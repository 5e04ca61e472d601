"""Source config: one validated, frozen model per entry of ``sources:``.

Differences between exports are data, not code: an export with odd headers,
another encoding or other tier codes is onboarded by a config entry alone.
Validation happens once, here, so every later step can trust the model; the
vocabularies of :mod:`connectors.canonical` are checked against value maps and
constants instead of being restated. Errors name the source and the key path::

    source 'erp': key 'fields.tier.map.GOLD': value 'Gold' is not allowed for 'tier' ...
"""

from __future__ import annotations

import re
import string
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails

from connectors.canonical import FIELD_NAMES, FIELDS_BY_NAME, IDENTIFYING_FIELDS
from connectors.config_yaml import excerpt
from connectors.errors import ConfigError
from connectors.paths import GLOB_CHARS, pattern_outside_roots
from connectors.readers import text_codec_problem
from connectors.reference import bands_problem
from connectors.secrets import EnvSecret

SystemKind = Literal["crm", "erp", "ecommerce", "ticketing", "other"]
FileFormat = Literal["csv", "jsonl", "parquet", "excel"]
InvalidValuePolicy = Literal["drop", "quarantine"]
NAMED_TIMESTAMP_FORMATS = ("iso", "epoch_s", "epoch_ms")
# Epoch numbers count from 1970-01-01T00:00:00Z: a zone would be meaningless.
EPOCH_FORMATS = ("epoch_s", "epoch_ms")
TRUST_DEFAULT_KEY = "default"
# Trust of a source (or field) the config gives none for: the middle of 0..1, "no
# opinion". Survivorship then decides between such sources by recency and
# completeness alone, and any source the user does rate above 0.5 outranks them.
DEFAULT_TRUST = 0.5
CompareKind = Literal["exact", "levenshtein", "jaro_winkler", "date", "numeric"]
# Fields with reference data (connectors.reference): a code their map lacks is tried
# there before it counts as invalid.
REFERENCE_FIELDS = ("country", "size_band")
ATTRIBUTE_PREFIX = "attribute_"
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SOURCE_NAME = re.compile(r"[A-Za-z0-9_]+")
# A config error is one line: a broken list of sources reports its first problems.
MAX_PROBLEMS_SHOWN = 10


class _KeyedValueError(ValueError):
    """A validation failure that knows the key path below the validated object.

    Pydantic reports errors raised in a model validator at the model's own
    location; carrying the sub-key lets messages point at e.g.
    ``fields.tier.map.GOLD`` instead of just the source.
    """

    def __init__(self, key: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _check_field_name(name: str) -> str:
    if name not in FIELDS_BY_NAME:
        msg = f"unknown canonical field {excerpt(name)} (expected one of {', '.join(FIELD_NAMES)})"
        raise ValueError(msg)
    return name


def _check_trust_key(name: str) -> str:
    return name if name == TRUST_DEFAULT_KEY else _check_field_name(name)


def _check_text_encoding(name: str) -> str:
    problem = text_codec_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


ColumnName = Annotated[str, Field(min_length=1)]
# A codec that turns an export's bytes into text (not rot13, base64, zlib).
TextEncoding = Annotated[str, AfterValidator(_check_text_encoding)]
CanonicalFieldName = Annotated[str, AfterValidator(_check_field_name)]
TrustKey = Annotated[str, AfterValidator(_check_trust_key)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class _Frozen(BaseModel):
    # YAML reads unquoted codes such as `1: S` as numbers; they mean the text.
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class FieldMapping(_Frozen):
    """How one canonical field (or extra attribute) is filled from a source row.

    Exactly one origin: ``column`` (a column name or dotted JSON path),
    ``columns`` (coalesce: the first non-empty one wins; with ``join``, the
    non-empty ones joined by it), ``template`` (``"{given_name} {surname}"``:
    the text between two placeholders appears only between filled parts, and
    runs of spaces collapse) or ``constant``. Then, in this order:

    - ``pattern``: a regex with one group picks a part of the value (no match:
      empty);
    - ``trim`` (default on): surrounding whitespace of each cell and of the
      result is removed; off, a cell's own spacing is kept;
    - ``default_area_code`` (phone only): a local number (not valid alone, valid
      with the area code in the source's ``default_country``) gets it in front;
    - ``map``: source codes to canonical values, forgiving case and space;
    - ``normalise`` (default on): reference data for ``country`` (names and
      codes in English and Chinese to ISO alpha-2) and ``size_band`` (head
      counts to ``bands``; other systems' band labels kept as they are);
    - ``present``/``absent``: derive the value from whether the column is filled.

    A value the field cannot take (``on_invalid``) is dropped from the record
    and listed in ``value_rejections`` (``drop``), or quarantines the row
    (``quarantine``). Identifying fields always quarantine; see
    :func:`invalid_value_policy` for the default.

    Example:
        >>> FieldMapping(column="客户等级", map={"VIP": "S"}).source_columns
        ('客户等级',)
        >>> FieldMapping(columns=["first_name", "surname"], join=" ").source_columns
        ('first_name', 'surname')
        >>> FieldMapping(template="{given_name} {surname}").source_columns
        ('given_name', 'surname')
    """

    column: ColumnName | None = None
    columns: tuple[ColumnName, ...] | None = Field(default=None, min_length=1)
    join: str | None = None
    template: str | None = None
    constant: str | None = None
    pattern: str | None = None
    trim: bool = True
    default_area_code: str | None = None
    map: dict[str, str | None] | None = Field(default=None, min_length=1)
    normalise: bool = True
    bands: tuple[str, ...] | None = Field(default=None, min_length=1)
    present: str | None = None
    absent: str | None = None
    on_invalid: InvalidValuePolicy | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMapping:
        kinds = ("column", "columns", "template", "constant")
        origins = [k for k in kinds if getattr(self, k) is not None]
        if len(origins) != 1:
            found = ", ".join(origins) or "none"
            msg = f"give exactly one of {', '.join(map(repr, kinds))} (found: {found})"
            raise ValueError(msg)
        derives = self.present is not None or self.absent is not None
        if self.constant is not None and (self.map is not None or derives):
            raise ValueError("'constant' cannot be combined with 'map', 'present' or 'absent'")
        if self.map is not None and derives:
            raise ValueError("'map' cannot be combined with 'present'/'absent'")
        if self.join is not None and self.columns is None:
            raise _KeyedValueError(("join",), "needs 'columns' (the columns to join)")
        if self.constant is not None:
            for key in ("pattern", "default_area_code"):
                if getattr(self, key) is not None:
                    raise _KeyedValueError((key,), "has nothing to act on in a 'constant'")
        if self.template is not None:
            template_columns(self.template)
        if self.pattern is not None:
            _check_pattern(self.pattern)
        if self.default_area_code is not None and not _AREA_CODE.fullmatch(self.default_area_code):
            msg = f"expected 1 to 6 digits, got {excerpt(self.default_area_code)}"
            raise _KeyedValueError(("default_area_code",), msg)
        if self.bands is not None:
            problem = bands_problem(self.bands)
            if problem is not None:
                raise _KeyedValueError(("bands",), problem)
        return self

    @model_serializer(mode="wrap")
    def _omit_keys_at_default(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Keys added later are left out at their default: configuration hashes stay."""
        data = handler(self)
        if isinstance(data, dict):
            for key, default in _FIELD_KEY_DEFAULTS.items():
                if data.get(key, default) == default:
                    data.pop(key, None)
        return data

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The source columns this mapping reads, in coalesce (or join, or template) order."""
        if self.column is not None:
            return (self.column,)
        if self.template is not None:
            return template_columns(self.template)
        return self.columns or ()

    @property
    def combines_columns(self) -> bool:
        """Whether every filled column supplies part of the value (``join`` or ``template``)."""
        return self.join is not None or self.template is not None

    @property
    def derives_presence(self) -> bool:
        """Whether the value is ``present``/``absent`` rather than the cell text."""
        return self.present is not None or self.absent is not None

    def fixed_outputs(self) -> tuple[tuple[tuple[str, ...], str], ...]:
        """Every value the config itself can produce, with its key path.

        Used to check vocabularies at load time rather than row by row.
        """
        outputs: list[tuple[tuple[str, ...], str | None]] = [
            (("constant",), self.constant),
            (("present",), self.present),
            (("absent",), self.absent),
            *((("map", code), value) for code, value in (self.map or {}).items()),
        ]
        return tuple((key, value) for key, value in outputs if value is not None)


# Keys of FieldMapping added after configs were hashed, with their defaults.
_FIELD_KEY_DEFAULTS: dict[str, Any] = {
    "join": None,
    "template": None,
    "pattern": None,
    "trim": True,
    "default_area_code": None,
    "normalise": True,
    "bands": None,
    "on_invalid": None,
}
# An area code as dialled within its country, trunk prefix included (312, 010, 020).
_AREA_CODE = re.compile(r"[0-9]{1,6}")


def template_columns(template: str) -> tuple[str, ...]:
    """The columns a template names, in order (each once).

    Example:
        >>> template_columns("{surname}, {given_name} {surname}")
        ('surname', 'given_name')

    Raises:
        ValueError: no placeholder, an empty one, or a format spec or conversion.
    """
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        msg = f"not a template ({error}): {excerpt(template)}"
        raise _KeyedValueError(("template",), msg) from None
    names: list[str] = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name or spec or conversion:
            msg = (
                f"placeholders are column names in braces, like '{{surname}}': {excerpt(template)}"
            )
            raise _KeyedValueError(("template",), msg)
        names.append(name)
    if not names:
        msg = f"names no column (write them in braces, like '{{surname}}'): {excerpt(template)}"
        raise _KeyedValueError(("template",), msg)
    return tuple(dict.fromkeys(names))


def _check_pattern(pattern: str) -> None:
    try:
        groups = re.compile(pattern).groups
    except re.error as error:
        raise _KeyedValueError(("pattern",), f"not a regular expression ({error})") from None
    if groups != 1:
        msg = f"needs exactly one group, the part to keep (found {groups}): {excerpt(pattern)}"
        raise _KeyedValueError(("pattern",), msg)
    try:  # Polars runs it (Rust regex: no look-around or back-references).
        pl.select(pl.lit("").str.extract(pattern, 1))
    except pl.exceptions.ComputeError as error:
        first = str(error).strip().splitlines()[0]
        raise _KeyedValueError(("pattern",), f"not supported: {first}") from None


class AttributeMapping(FieldMapping):
    """An extra attribute: filled like a field, compared with ``compare``.

    Example:
        >>> AttributeMapping(column="birthplace", compare="jaro_winkler").compare
        'jaro_winkler'
    """

    compare: CompareKind


def invalid_value_policy(field: str, mapping: FieldMapping) -> InvalidValuePolicy:
    """What a value ``field`` cannot take does to its row: ``drop`` it, or ``quarantine``.

    An identifying field (name, e-mail, phone) always quarantines: a record
    without it could never be matched. Otherwise ``on_invalid`` decides; by
    default a code missing from a field's own ``map`` quarantines (the export
    holds a code the config does not know yet, and that gap should be seen and
    mapped, as before), and every other invalid value (no country or head count
    the reference data knows, a value outside a closed vocabulary) is dropped
    from a record that is kept.

    Example:
        >>> invalid_value_policy("tier", FieldMapping(column="t", map={"VIP": "S"}))
        'quarantine'
        >>> invalid_value_policy("country", FieldMapping(column="c", map={"中国": "CN"}))
        'drop'
    """
    if field in IDENTIFYING_FIELDS:
        return "quarantine"
    if mapping.on_invalid is not None:
        return mapping.on_invalid
    has_reference = field in REFERENCE_FIELDS and mapping.normalise
    return "quarantine" if mapping.map is not None and not has_reference else "drop"


class UpdatedAtSpec(_Frozen):
    """Where a source's last-modified timestamp lives and how to read it.

    ``format`` is ``iso`` (offsets honoured, naive values in ``timezone``),
    ``epoch_s``, ``epoch_ms`` or a strptime pattern such as ``%Y/%m/%d %H:%M``.
    A value that is no timestamp in that format (``2023-02-30``, ``soon``)
    quarantines its row by default; ``on_invalid: drop`` keeps the record
    without a timestamp (survivorship then gives its values the lowest recency)
    and lists the value in ``value_rejections``.

    Example:
        >>> spec = UpdatedAtSpec(column="t", format="%Y/%m/%d %H:%M", timezone="Asia/Shanghai")
        >>> spec.timezone
        'Asia/Shanghai'
    """

    column: ColumnName
    format: str
    timezone: str = "UTC"
    # An unreadable timestamp quarantines the row (the samples' truth and the README say
    # a loader must); 'drop' keeps the record with its recency unknown, the value listed
    # in value_rejections, as for a timestamp outside the run's window.
    on_invalid: InvalidValuePolicy = "quarantine"

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in NAMED_TIMESTAMP_FORMATS and "%" not in value:
            named = ", ".join(NAMED_TIMESTAMP_FORMATS)
            msg = f"expected {named} or a strptime pattern, got {excerpt(value)}"
            raise ValueError(msg)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            msg = f"unknown IANA time zone {excerpt(value)}"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _epoch_is_utc(self) -> UpdatedAtSpec:
        if self.format in EPOCH_FORMATS and self.timezone != "UTC":
            msg = f"{self.format} timestamps are UTC by definition; remove 'timezone'"
            raise _KeyedValueError(("timezone",), msg)
        return self

    @model_serializer(mode="wrap")
    def _omit_policy_at_default(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No ``on_invalid`` key at its default: configuration hashes stay as they were."""
        data = handler(self)
        if isinstance(data, dict) and data.get("on_invalid") == "quarantine":
            data.pop("on_invalid")
        return data


def _check_source_name(value: str) -> str:
    # It names the source's Dagster asset, and Dagster names are identifiers.
    if not _SOURCE_NAME.fullmatch(value):
        rule = "use only letters, digits and underscores (it names a Dagster asset)"
        msg = f"{excerpt(value)}: {rule}"
        raise ValueError(msg)
    return value


SourceName = Annotated[str, AfterValidator(_check_source_name)]
Trust = dict[TrustKey, Probability]


class SplitTarget(_Frozen):
    """The source one value of a ``split_by`` column becomes: its name and trust (both optional).

    Without ``name`` the source is ``{source}_{slug of the value}``; without
    ``trust`` it has the splitting entry's trust. A ``trust`` given replaces
    the entry's (keys it does not list are 0.5, as on any source).
    """

    name: SourceName | None = None
    trust: Trust | None = None


class SplitBy(_Frozen):
    """``split_by``: one source per distinct value of ``column`` of the entry's file(s).

    ``split_by: Source`` is ``split_by: {column: Source}``. ``sources`` maps
    a value to its :class:`SplitTarget`; values it does not list are named by
    their slug (see :mod:`connectors.split`).

    Example:
        >>> spec = SplitBy.model_validate({"column": "Source", "sources": {"NAEYC": {"name": "n"}}})
        >>> spec.sources["NAEYC"]
        SplitTarget(name='n', trust=None)
    """

    column: ColumnName
    sources: dict[Annotated[str, Field(min_length=1)], SplitTarget] = Field(default_factory=dict)


class SplitPart(_Frozen):
    """Which rows of its file(s) a source made by ``split_by`` takes (set by ``parse_sources``).

    ``value``: the rows whose ``column`` holds it; null for the remainder
    source (named as the entry), which takes the rows whose value is empty or
    unreadable, and quarantines rows whose value is none of ``values`` (it
    appeared in the file after the config was read).
    """

    column: str
    value: str | None
    values: tuple[str, ...]


class SourceConfig(_Frozen):
    """One source export: where it is, how to read it, and how it maps.

    ``path`` keeps the text as written (for messages and ``source_file``);
    ``base_dir`` is the config file's folder it is resolved against. The path
    must stay inside ``base_dir`` or one of ``data_roots`` (see
    :mod:`connectors.paths`). ``credentials`` are ``${ENV:NAME}`` references
    for connectors that need a secret (see :mod:`connectors.secrets`).

    Example:
        >>> src = parse_sources([{
        ...     "name": "crm", "system": "crm", "path": "crm.csv", "format": "csv",
        ...     "record_id": "id", "fields": {"name": "account"}, "trust": {"default": 0.8},
        ... }], base_dir=Path("data"))[0]
        >>> (src.resolved_path.as_posix(), src.trust_for("email"))
        ('data/crm.csv', 0.8)
    """

    name: str
    system: SystemKind
    path: Annotated[str, Field(min_length=1)]
    format: FileFormat
    encoding: TextEncoding = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    default_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    record_id: ColumnName
    updated_at: UpdatedAtSpec | None = None
    fields: dict[CanonicalFieldName, FieldMapping]
    trust: dict[TrustKey, Probability] = Field(
        default_factory=lambda: {TRUST_DEFAULT_KEY: DEFAULT_TRUST}
    )
    attributes: dict[str, AttributeMapping] = Field(default_factory=dict)
    credentials: dict[ColumnName, EnvSecret] = Field(default_factory=dict)
    # An export without data rows is an error unless the source may really be empty:
    # loading it as is would retire every customer the source had.
    allow_empty: bool = False
    base_dir: Path
    # Machine-specific folders: not part of the config's JSON or hash.
    data_roots: tuple[Path, ...] = Field(default=(), exclude=True)
    # Every attribute name of the whole config, in first-mention order (set by
    # parse_sources): each source's records carry them all, null where it lacks one.
    config_attributes: tuple[str, ...] = Field(default=(), exclude=True)
    # One source per value of a column (``parse_sources`` expands the entry into
    # the sources, each with ``split`` set and no ``split_by``).
    split_by: SplitBy | None = None
    split: SplitPart | None = None

    @field_validator("name")
    @classmethod
    def _dagster_name(cls, value: str) -> str:
        return _check_source_name(value)

    @field_validator("split_by", mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        return {"column": value} if isinstance(value, str) else value

    @field_validator("delimiter")
    @classmethod
    def _single_character(cls, value: str) -> str:
        if len(value) != 1 or value in '"\r\n':
            msg = f"expected one character other than a quote or line break, got {excerpt(value)}"
            raise ValueError(msg)
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}

    @field_validator("trust")
    @classmethod
    def _has_default(cls, value: dict[str, float]) -> dict[str, float]:
        return {TRUST_DEFAULT_KEY: DEFAULT_TRUST, **value}

    @field_validator("attributes")
    @classmethod
    def _attribute_names(cls, value: dict[str, AttributeMapping]) -> dict[str, AttributeMapping]:
        for name in value:
            if name in FIELDS_BY_NAME:
                msg = f"{name!r} is a canonical field: map it under 'fields'"
                raise _KeyedValueError((name,), msg)
            if not _ATTRIBUTE_NAME.fullmatch(name):
                rule = "use lower-case letters, digits and underscores, starting with a letter"
                raise _KeyedValueError((name,), f"{excerpt(name)}: {rule}")
        return value

    @model_validator(mode="after")
    def _inside_data_roots(self) -> SourceConfig:
        problem = pattern_outside_roots(self.path, base_dir=self.base_dir, roots=self.allowed_roots)
        if problem is not None:
            # The path in full: refused for where it leads, it is no bulky value.
            raise _KeyedValueError(("path",), f"{self.path!r} {problem}")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> SourceConfig:
        if self.sheet is not None and self.format != "excel":
            raise _KeyedValueError(("sheet",), "only valid with format 'excel'")
        if not set(IDENTIFYING_FIELDS) & set(self.fields):
            msg = f"maps none of {', '.join(IDENTIFYING_FIELDS)}: no record could ever match"
            raise _KeyedValueError(("fields",), msg)
        for name, mapping in self.fields.items():
            self._check_field_keys(name, mapping)
            allowed = FIELDS_BY_NAME[name].allowed
            if allowed is None:
                continue
            for key, value in mapping.fixed_outputs():
                if value not in allowed:
                    vocabulary = ", ".join(allowed)
                    shown = excerpt(value)
                    msg = f"value {shown} is not allowed for {name!r} (allowed: {vocabulary})"
                    raise _KeyedValueError(("fields", name, *key), msg)
        return self

    def _check_field_keys(self, name: str, mapping: FieldMapping) -> None:
        """Keys that only make sense on some fields, or need a source key."""
        key: tuple[str | int, ...] = ("fields", name)
        if mapping.default_area_code is not None:
            if name != "phone":
                raise _KeyedValueError((*key, "default_area_code"), "only valid on 'phone'")
            if self.default_country is None:
                msg = "needs the source's 'default_country' (whose numbers the area code is in)"
                raise _KeyedValueError((*key, "default_area_code"), msg)
        if mapping.bands is not None and name != "size_band":
            raise _KeyedValueError((*key, "bands"), "only valid on 'size_band'")
        if mapping.on_invalid == "drop" and name in IDENTIFYING_FIELDS:
            msg = f"{name!r} identifies the record: a row without a valid one is quarantined"
            raise _KeyedValueError((*key, "on_invalid"), msg)

    @model_serializer(mode="wrap")
    def _omit_defaults_added_later(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No ``allow_empty`` key while it is off: configuration hashes stay as they were."""
        data = handler(self)
        if isinstance(data, dict):
            if not self.allow_empty:
                data.pop("allow_empty", None)
            if not self.attributes:
                data.pop("attributes", None)
            for key in ("split_by", "split"):
                if data.get(key, None) is None:
                    data.pop(key, None)
        return data

    @property
    def resolved_path(self) -> Path:
        """``path`` resolved against the config's folder (absolute paths stay)."""
        return self.base_dir / self.path

    @property
    def is_glob(self) -> bool:
        """Whether ``path`` is a pattern that may match several files."""
        return bool(GLOB_CHARS.search(self.path))

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        """Folders this source may read from: the config's folder and the data roots."""
        return (self.base_dir, *self.data_roots)

    @property
    def referenced_columns(self) -> tuple[str, ...]:
        """Every source column the config reads, first mention first.

        These must exist in each file: their absence is schema drift.
        """
        columns = [self.record_id]
        split_column = self.split_column
        if split_column is not None:
            columns.append(split_column)
        if self.updated_at is not None:
            columns.append(self.updated_at.column)
        for mapping in (*self.fields.values(), *self.attributes.values()):
            columns.extend(mapping.source_columns)
        return tuple(dict.fromkeys(columns))

    @property
    def split_column(self) -> str | None:
        """The column a ``split_by`` entry (or a source made by one) is split on."""
        if self.split is not None:
            return self.split.column
        return self.split_by.column if self.split_by is not None else None

    @property
    def attribute_columns(self) -> tuple[str, ...]:
        """``attribute_<name>`` of every attribute in the config, as its records carry them."""
        names = self.config_attributes or tuple(self.attributes)
        return tuple(f"{ATTRIBUTE_PREFIX}{name}" for name in names)

    def trust_for(self, field: str) -> float:
        """The trust of this source for one canonical field (else the default).

        Example:
            >>> src = SourceConfig.model_validate({
            ...     "name": "erp", "system": "erp", "path": "e.csv", "format": "csv",
            ...     "record_id": "id", "fields": {"name": "n"}, "base_dir": ".",
            ...     "trust": {"default": 0.85, "tier": 0.95},
            ... })
            >>> (src.trust_for("tier"), src.trust_for("name"))
            (0.95, 0.85)
        """
        if field not in FIELDS_BY_NAME:
            msg = f"source {self.name!r}: unknown canonical field {excerpt(field)}"
            raise ConfigError(msg)
        return self.trust.get(field, self.trust[TRUST_DEFAULT_KEY])


# One ``split_by`` entry -> the sources it stands for (connectors.split.split_sources).
SourceSplitter = Callable[["SourceConfig"], tuple["SourceConfig", ...]]


def parse_sources(
    raw: Sequence[Any],
    *,
    base_dir: Path,
    data_roots: Sequence[Path] = (),
    split: SourceSplitter | None = None,
) -> tuple[SourceConfig, ...]:
    """Validate the ``sources:`` list of a run config.

    Args:
        raw: The parsed YAML/TOML ``sources`` list.
        base_dir: The config file's folder; relative paths resolve against it.
        data_roots: Further folders sources may read from (``run.data_roots``).
        split: What an entry with ``split_by`` stands for (``connectors.split.split_sources``:
            it reads the file, through modules that import this one, so it is passed in;
            ``connectors.split.parse_split_sources`` does). None: such an entry is an error.

    Returns:
        One frozen :class:`SourceConfig` per entry, in config order.

    Raises:
        ConfigError: one line naming each bad source and key path, e.g.
            ``source 'erp': key 'fields.tier.map': Input should be a valid dictionary``.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        msg = f"key 'sources': expected a list of source entries, got {excerpt(raw)}"
        raise ConfigError(msg)
    problems: list[str] = []
    sources: list[SourceConfig] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(raw, start=1):
        label = _source_label(entry, index)
        if not isinstance(entry, Mapping):
            problems.append(f"{label}: expected a mapping of keys, got {excerpt(entry)}")
            continue
        reserved = [
            k for k in ("base_dir", "data_roots", "config_attributes", "split") if k in entry
        ]
        if reserved:
            problems.append(f"{label}: key {reserved[0]!r}: unknown key")
            continue
        try:
            source = SourceConfig.model_validate(
                {**entry, "base_dir": base_dir, "data_roots": tuple(data_roots)}
            )
        except ValidationError as exc:
            problems.extend(f"{label}: {_describe(error)}" for error in exc.errors())
            continue
        try:
            expanded = _split_sources(source, split)
        except ConfigError as error:
            problems.append(str(error))
            continue
        for part in expanded:
            if part.name in first_index:
                problems.append(f"{label}: {_duplicate_name(part, other=first_index[part.name])}")
                continue
            first_index[part.name] = index
            sources.append(part)
    problems.extend(_attribute_kind_conflicts(sources))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"and {len(problems) - len(shown)} more problem(s)")
        raise ConfigError("; ".join(shown))
    names = tuple(dict.fromkeys(name for s in sources for name in s.attributes))
    return SourceList(s.model_copy(update={"config_attributes": names}) for s in sources)


def _split_sources(source: SourceConfig, split: SourceSplitter | None) -> tuple[SourceConfig, ...]:
    """The sources an entry stands for: itself, or one per value of its ``split_by`` column."""
    if source.split_by is None:
        return (source,)
    if split is None:
        msg = (
            f"source {source.name!r}: key 'split_by': this reader of the config does not "
            "split sources (connectors.split.parse_split_sources does)"
        )
        raise ConfigError(msg)
    return split(source)


def _duplicate_name(source: SourceConfig, *, other: int) -> str:
    """Why ``source`` cannot take its name: source #``other`` has it."""
    if source.split is None or source.split.value is None:
        return f"key 'name': duplicate source name (also source #{other})"
    return (
        f"key 'split_by': value {excerpt(source.split.value)} makes source {source.name!r}, "
        f"a name already taken (source #{other}); give it another in 'split_by.sources'"
    )


class SourceList(tuple[SourceConfig, ...]):
    """The validated sources of a config, in config order, with what they share.

    Example:
        >>> sources = parse_sources([{
        ...     "name": "crm", "system": "crm", "path": "crm.csv", "format": "csv",
        ...     "record_id": "id", "fields": {"name": "account"},
        ...     "attributes": {"occupation": {"column": "job", "compare": "exact"}},
        ... }], base_dir=Path("data"))
        >>> sources.attribute_kinds()
        {'occupation': 'exact'}
    """

    __slots__ = ()

    def attribute_kinds(self) -> dict[str, str]:
        """Attribute name -> comparison kind, in first-mention order (config order).

        Every source's records carry an ``attribute_<name>`` column for each of
        them (null where a source does not map it).
        """
        return attribute_kinds(self)


def attribute_kinds(sources: Sequence[SourceConfig]) -> dict[str, str]:
    """Attribute name -> comparison kind over ``sources``, first mention first."""
    kinds: dict[str, str] = {}
    for source in sources:
        for name, mapping in source.attributes.items():
            kinds.setdefault(name, mapping.compare)
    return kinds


def _attribute_kind_conflicts(sources: Sequence[SourceConfig]) -> list[str]:
    """One problem per source that compares an attribute unlike the source that named it first."""
    first: dict[str, tuple[str, str]] = {}
    problems = []
    for source in sources:
        for name, mapping in source.attributes.items():
            other_source, kind = first.setdefault(name, (source.name, mapping.compare))
            if kind != mapping.compare:
                problems.append(
                    f"source {source.name!r}: key 'attributes.{name}.compare': {mapping.compare!r}"
                    f" differs from {kind!r} in source {other_source!r} (one kind per attribute)"
                )
    return problems


def _source_label(entry: Any, index: int) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return f"source {excerpt(name)}" if isinstance(name, str) and name else f"source #{index}"


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as ``key 'a.b[0]': message`` in the user's vocabulary."""
    loc: tuple[str | int, ...] = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _KeyedValueError):
        loc, message = (*loc, *cause.key), cause.message
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    else:
        message = error["msg"].removeprefix("Value error, ")
        # Our own value errors quote the value already; pydantic's type errors do not.
        if error["type"] != "value_error" and not isinstance(error["input"], Mapping | list):
            message += f" (got {excerpt(error['input'])})"
    key = _format_key(loc)
    return f"key {excerpt(key)}: {message}" if key else message


def _format_key(loc: tuple[str | int, ...]) -> str:
    """``('fields', 'name', 'columns', 0)`` -> ``fields.name.columns[0]``."""
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
