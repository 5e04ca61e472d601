"""The project's exception hierarchy.

Every error a user can provoke with a config or an export derives from
:class:`FusionError`, so the CLI can turn any of them into a one-line reason
and a non-zero exit without catching programming errors by accident.
Messages name the source, the key or column, and the file, e.g.
``source 'erp': column '客户等级' not found in data/samples/erp_customers.csv``.
"""

from __future__ import annotations


class FusionError(Exception):
    """Base class of every error fusion raises on purpose."""


class ConfigError(FusionError):
    """The source config is invalid: names the source and the key path."""


class SchemaDriftError(FusionError):
    """An export no longer carries a column (or JSON path) its config maps."""


class SourceReadError(FusionError):
    """A source's files cannot be found or read at all (not a row-level problem)."""
