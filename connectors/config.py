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
import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

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
from connectors.secrets import EnvSecret

SystemKind = Literal["crm", "erp", "ecommerce", "ticketing", "other"]
FileFormat = Literal["csv", "jsonl", "parquet", "excel"]
NAMED_TIMESTAMP_FORMATS = ("iso", "epoch_s", "epoch_ms")
# Epoch numbers count from 1970-01-01T00:00:00Z: a zone would be meaningless.
EPOCH_FORMATS = ("epoch_s", "epoch_ms")
TRUST_DEFAULT_KEY = "default"
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
    """How one canonical field is filled from a source row.

    Exactly one of ``column`` (a column name or dotted JSON path), ``columns``
    (coalesce: the first non-empty one wins) or ``constant``. With ``join``,
    ``columns`` are joined instead: the non-empty ones, in order, with ``join``
    between them (null when all are empty), e.g. a name split into
    ``first_name`` and ``surname``. ``map`` translates
    source codes to canonical values; a non-empty value missing from it
    quarantines the row (a map value of null drops the value on purpose).
    ``present``/``absent`` derive the value from whether the column is filled,
    e.g. ``customer_type`` from a company-name column.

    Example:
        >>> FieldMapping(column="客户等级", map={"VIP": "S"}).source_columns
        ('客户等级',)
        >>> FieldMapping(columns=["first_name", "surname"], join=" ").source_columns
        ('first_name', 'surname')
    """

    column: ColumnName | None = None
    columns: tuple[ColumnName, ...] | None = Field(default=None, min_length=1)
    join: str | None = None
    constant: str | None = None
    map: dict[str, str | None] | None = Field(default=None, min_length=1)
    present: str | None = None
    absent: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldMapping:
        origins = [k for k in ("column", "columns", "constant") if getattr(self, k) is not None]
        if len(origins) != 1:
            found = ", ".join(origins) or "none"
            msg = f"give exactly one of 'column', 'columns', 'constant' (found: {found})"
            raise ValueError(msg)
        derives = self.present is not None or self.absent is not None
        if self.constant is not None and (self.map is not None or derives):
            raise ValueError("'constant' cannot be combined with 'map', 'present' or 'absent'")
        if self.map is not None and derives:
            raise ValueError("'map' cannot be combined with 'present'/'absent'")
        if self.join is not None and self.columns is None:
            raise _KeyedValueError(("join",), "needs 'columns' (the columns to join)")
        return self

    @model_serializer(mode="wrap")
    def _omit_join_when_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No ``join`` key without a join: configuration hashes stay as they were."""
        data = handler(self)
        if isinstance(data, dict) and self.join is None:
            data.pop("join", None)
        return data

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The source columns this mapping reads, in coalesce (or join) order."""
        if self.column is not None:
            return (self.column,)
        return self.columns or ()

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


class UpdatedAtSpec(_Frozen):
    """Where a source's last-modified timestamp lives and how to read it.

    ``format`` is ``iso`` (offsets honoured, naive values in ``timezone``),
    ``epoch_s``, ``epoch_ms`` or a strptime pattern such as ``%Y/%m/%d %H:%M``.

    Example:
        >>> spec = UpdatedAtSpec(column="t", format="%Y/%m/%d %H:%M", timezone="Asia/Shanghai")
        >>> spec.timezone
        'Asia/Shanghai'
    """

    column: ColumnName
    format: str
    timezone: str = "UTC"

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
    trust: dict[TrustKey, Probability]
    credentials: dict[ColumnName, EnvSecret] = Field(default_factory=dict)
    # An export without data rows is an error unless the source may really be empty:
    # loading it as is would retire every customer the source had.
    allow_empty: bool = False
    base_dir: Path
    # Machine-specific folders: not part of the config's JSON or hash.
    data_roots: tuple[Path, ...] = Field(default=(), exclude=True)

    @field_validator("name")
    @classmethod
    def _dagster_name(cls, value: str) -> str:
        # It names the source's Dagster asset, and Dagster names are identifiers.
        if not _SOURCE_NAME.fullmatch(value):
            rule = "use only letters, digits and underscores (it names a Dagster asset)"
            msg = f"{excerpt(value)}: {rule}"
            raise ValueError(msg)
        return value

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
        if TRUST_DEFAULT_KEY not in value:
            raise ValueError(f"needs a {TRUST_DEFAULT_KEY!r} trust for fields not listed")
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

    @model_serializer(mode="wrap")
    def _omit_defaults_added_later(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No ``allow_empty`` key while it is off: configuration hashes stay as they were."""
        data = handler(self)
        if isinstance(data, dict) and not self.allow_empty:
            data.pop("allow_empty", None)
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
        if self.updated_at is not None:
            columns.append(self.updated_at.column)
        for mapping in self.fields.values():
            columns.extend(mapping.source_columns)
        return tuple(dict.fromkeys(columns))

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


def parse_sources(
    raw: Sequence[Any], *, base_dir: Path, data_roots: Sequence[Path] = ()
) -> tuple[SourceConfig, ...]:
    """Validate the ``sources:`` list of a run config.

    Args:
        raw: The parsed YAML/TOML ``sources`` list.
        base_dir: The config file's folder; relative paths resolve against it.
        data_roots: Further folders sources may read from (``run.data_roots``).

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
        reserved = [key for key in ("base_dir", "data_roots") if key in entry]
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
        if source.name in first_index:
            other = first_index[source.name]
            problems.append(f"{label}: key 'name': duplicate source name (also source #{other})")
            continue
        first_index[source.name] = index
        sources.append(source)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"and {len(problems) - len(shown)} more problem(s)")
        raise ConfigError("; ".join(shown))
    return tuple(sources)


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
