"""The run configuration: sources plus the settings of every stage, in one file.

``load_fusion_config`` reads the YAML file named on the command line, validates
every section and returns one frozen object. Its JSON form is stored with each
run and its hash identifies the configuration in ``pipeline_runs``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from connectors.config import SourceConfig, attribute_kinds
from connectors.config_yaml import read_config_yaml
from connectors.errors import ConfigError
from connectors.facts import FactConfig, parse_facts
from connectors.split import parse_split_sources
from connectors.time_window import DEFAULT_FLOOR, DEFAULT_MAX_FUTURE, TimestampWindow
from lineage.settings import SurvivorshipSettings
from matching.aliases import load_name_aliases
from matching.settings import MatchSettings

TOP_LEVEL_KEYS = frozenset({"run", "sources", "facts", "matching", "survivorship", "models_dir"})


def _utc_instant(value: Any) -> Any:
    """A date (or ISO 8601 text of one) is its midnight UTC; a datetime without a zone is UTC.

    Example:
        >>> _utc_instant("2026-11-22T08:00:00+08:00").isoformat()
        '2026-11-22T08:00:00+08:00'
    """
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UtcInstant = Annotated[AwareDatetime, BeforeValidator(_utc_instant)]


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or instant as an aware datetime (``--as-of``), as ``run.as_of`` reads it.

    Raises:
        ConfigError: the text is neither.

    Example:
        >>> parse_instant("2026-11-22").isoformat()
        '2026-11-22T00:00:00+00:00'
    """
    value = _utc_instant(text)
    if not isinstance(value, datetime):
        msg = f"as_of: {text[:40]!r} is not an ISO 8601 date or instant (e.g. 2026-11-22)"
        raise ConfigError(msg)
    aware: datetime = value
    return aware


class TimestampSettings(BaseModel):
    """Which source timestamps a run believes (``connectors.time_window``).

    Attributes:
        max_future_days: A timestamp later than the run clock plus this many
            days is rejected (the clock is the start of the run's UTC day, so
            2 leaves at least one day of drift past the moment the run began).
        floor: A timestamp at or before this instant is rejected (epoch zero and
            the zero dates of Excel and SQL Server are sentinels, not times).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_future_days: float = Field(default=DEFAULT_MAX_FUTURE / timedelta(days=1), ge=0)
    floor: UtcInstant = DEFAULT_FLOOR

    def window(self, *, as_of: datetime) -> TimestampWindow:
        """The window of a run whose clock reads ``as_of``."""
        return TimestampWindow(
            as_of=as_of, max_future=timedelta(days=self.max_future_days), floor=self.floor
        )


class RunSettings(BaseModel):
    """Settings of the run itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "fusion"
    landing_dir: str | None = None
    # Folders besides the config's own that sources may read from (relative to the config).
    data_roots: tuple[str, ...] = ()
    # The run clock, pinned (reruns, tests); unset: the start of the run's UTC day
    # (pipelines.clock). `fusion run --as-of` pins it for one run without editing the file.
    as_of: UtcInstant | None = None
    timestamps: TimestampSettings = Field(default_factory=TimestampSettings)
    # The retirement guard (pipelines.warehouse.retirement): the largest share of a source's
    # published records, and of all published customers, one run may retire unless
    # run with --allow-retire. A bad export (empty, truncated, wrong codec) retires
    # far more than the few customers a real export loses from one run to the next.
    max_retire_share: float = Field(default=0.05, ge=0, le=1)
    max_customer_retire_share: float = Field(default=0.05, ge=0, le=1)

    @model_serializer(mode="wrap")
    def _omit_defaults_added_later(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No ``as_of`` or ``timestamps`` key while unset: configuration hashes stay."""
        data = handler(self)
        if isinstance(data, dict):
            if self.as_of is None:
                data.pop("as_of", None)
            if self.timestamps == TimestampSettings():
                data.pop("timestamps", None)
            for key in ("max_retire_share", "max_customer_retire_share"):
                if getattr(self, key) == RunSettings.model_fields[key].default:
                    data.pop(key, None)
        return data


@dataclass(frozen=True)
class FusionConfig:
    """Everything a run needs besides the data; immutable for the run's duration."""

    path: Path
    run: RunSettings
    sources: tuple[SourceConfig, ...]
    matching: MatchSettings
    survivorship: SurvivorshipSettings
    # Transactions keyed by the sources' record IDs (connectors.facts); optional.
    facts: tuple[FactConfig, ...] = ()
    # The analysts' SQL model folders (``models_dir:``), read beside dbt_like_models/.
    # Not in ``to_json``: the hash decides whether records and the match model are
    # reused, which no model changes.
    models_dirs: tuple[Path, ...] = ()

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the config are resolved against."""
        return self.path.parent

    @property
    def landing_dir(self) -> Path | None:
        """Folder watched by the new-file sensor, resolved."""
        if self.run.landing_dir is None:
            return None
        return (self.base_dir / self.run.landing_dir).resolve()

    def to_json(self) -> str:
        """Canonical JSON of the whole configuration (stable key order)."""
        document = {
            "run": self.run.model_dump(mode="json"),
            "sources": [s.model_dump(mode="json", exclude={"base_dir"}) for s in self.sources],
            "matching": self.matching.model_dump(mode="json"),
            "survivorship": self.survivorship.model_dump(mode="json"),
        }
        if self.facts:  # absent: the same JSON (and hash) as before facts existed
            document["facts"] = [
                f.model_dump(mode="json", exclude={"base_dir"}) for f in self.facts
            ]
        return json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)

    @property
    def config_hash(self) -> str:
        """Short SHA-256 of the canonical JSON: identifies the configuration of a run."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @property
    def default_regions(self) -> dict[str, str]:
        """Source name -> the country used to read its national phone numbers."""
        return {s.name: s.default_country for s in self.sources if s.default_country}


def _section(model: type[BaseModel], raw: Any, key: str, path: Path) -> Any:
    try:
        return model.model_validate(raw or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = f"{path}: key '{key}.{where}': {first['msg']}"
        raise ConfigError(msg) from None


def _matching(raw: Any, path: Path) -> MatchSettings:
    """The ``matching:`` section; ``name_aliases`` names a CSV relative to the config file."""
    table = raw.get("name_aliases") if isinstance(raw, dict) else None
    if isinstance(table, str):
        try:
            aliases = load_name_aliases(path.parent / table, source=table)
        except ConfigError as error:
            msg = f"{path}: key 'matching.name_aliases': {error}"
            raise ConfigError(msg) from None
        raw = {**raw, "name_aliases": aliases}
    return _section(MatchSettings, raw, "matching", path)


def _data_roots(document: dict[str, Any], path: Path) -> tuple[Path, ...]:
    run = _section(RunSettings, document.get("run"), "run", path)
    return tuple((path.parent / root).resolve() for root in run.data_roots)


def _facts(document: dict[str, Any], path: Path) -> tuple[FactConfig, ...]:
    """The ``facts:`` section; called after ``sources`` validated, so their names are real."""
    names = [s["name"] for s in document["sources"]]
    return parse_facts(
        document.get("facts"),
        base_dir=path.parent,
        source_names=names,
        data_roots=_data_roots(document, path),
    )


def _models_dirs(raw: Any, path: Path) -> tuple[Path, ...]:
    """``models_dir:``: one folder or a list, relative to the config file; each must exist."""
    if raw is None:
        return ()
    entries = [raw] if isinstance(raw, str) else raw
    if not isinstance(entries, list) or not all(isinstance(e, str) and e for e in entries):
        msg = f"{path}: key 'models_dir': expected a folder or a list of folders"
        raise ConfigError(msg)
    folders = tuple((path.parent / entry).resolve() for entry in entries)
    for entry, folder in zip(entries, folders, strict=True):
        if not folder.is_dir():
            msg = f"{path}: key 'models_dir': folder {entry!r} not found ({folder})"
            raise ConfigError(msg)
    return folders


def load_fusion_config(path: Path | str) -> FusionConfig:
    """Read and validate a run configuration file.

    Raises:
        ConfigError: naming the file, the source and the key that is wrong.

    Example:
        >>> config = load_fusion_config("data/samples/fusion.yaml")  # doctest: +SKIP
        >>> [s.name for s in config.sources]  # doctest: +SKIP
        ['crm', 'erp', 'ecommerce', 'tickets']
    """
    path = Path(path).resolve()
    if not path.is_file():
        msg = f"config file not found: {path}"
        raise ConfigError(msg)
    # Strict: duplicate keys, alias bombs and parse errors are one-line ConfigErrors.
    document = read_config_yaml(path)
    if not isinstance(document, dict):
        msg = f"{path}: expected a mapping with a 'sources' list at the top"
        raise ConfigError(msg)
    unknown = sorted(set(document) - TOP_LEVEL_KEYS)
    if unknown:
        msg = f"{path}: unknown top-level key(s) {unknown}; known: {sorted(TOP_LEVEL_KEYS)}"
        raise ConfigError(msg)
    if not document.get("sources"):
        msg = f"{path}: key 'sources' must list at least one source"
        raise ConfigError(msg)
    sources = parse_split_sources(
        document["sources"], base_dir=path.parent, data_roots=_data_roots(document, path)
    )
    matching = _matching(document.get("matching"), path)
    return FusionConfig(
        path=path,
        run=_section(RunSettings, document.get("run"), "run", path),
        sources=sources,
        # The sources' extra attributes are compared like fields (matching.attributes).
        matching=matching.model_copy(update={"attributes": attribute_kinds(sources)}),
        survivorship=_section(
            SurvivorshipSettings, document.get("survivorship"), "survivorship", path
        ),
        facts=_facts(document, path),
        models_dirs=_models_dirs(document.get("models_dir"), path),
    )
