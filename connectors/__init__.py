"""connectors: source exports in, canonical customer records and quarantine out.

A source is a config entry, not a module: :func:`parse_sources` validates the
``sources:`` list of a run config, :func:`load_source` reads one source's
files with the reader for its format and maps them onto the canonical schema
of :mod:`connectors.canonical`.

Example:
    >>> sources = parse_sources(config["sources"], base_dir=config_path.parent)  # doctest: +SKIP
    >>> batch = load_source(sources[0])  # doctest: +SKIP
"""

from connectors.canonical import (
    CANONICAL_SCHEMA,
    FIELD_NAMES,
    IDENTIFYING_FIELDS,
    QUARANTINE_SCHEMA,
)
from connectors.config import FieldMapping, SourceConfig, UpdatedAtSpec, parse_sources
from connectors.errors import ConfigError, FusionError, SchemaDriftError, SourceReadError
from connectors.load import SourceBatch, load_source, source_files

__all__ = [
    "CANONICAL_SCHEMA",
    "FIELD_NAMES",
    "IDENTIFYING_FIELDS",
    "QUARANTINE_SCHEMA",
    "ConfigError",
    "FieldMapping",
    "FusionError",
    "SchemaDriftError",
    "SourceBatch",
    "SourceConfig",
    "SourceReadError",
    "UpdatedAtSpec",
    "load_source",
    "parse_sources",
    "source_files",
]
