"""Dagster resources: the run configuration and the warehouse, chosen explicitly."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource

from pipelines.settings import FusionConfig, load_fusion_config, parse_instant
from pipelines.warehouse import Warehouse


@cache
def _load(path: str, mtime_ns: int) -> FusionConfig:
    return load_fusion_config(path)


class FusionResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where the run configuration and the warehouse live.

    Attributes:
        config_path: The run configuration file (YAML).
        warehouse_dir: The warehouse folder that releases are published to.
        lock_held_by_caller: True when the caller (the CLI) already holds the
            warehouse lock for the whole run; the publish step then does not
            take it again.
        mode: ``incremental`` (reuse the current release's standardised records
            and match model where the configuration is unchanged) or ``full``
            (recompute everything, learn a new model).
        as_of: The run clock pinned for this run (ISO 8601, ``fusion run --as-of``);
            unset: ``run.as_of`` from the config, else the run's start day
            (``pipelines.clock``).
    """

    config_path: str
    warehouse_dir: str
    lock_held_by_caller: bool = False
    mode: str = "incremental"
    as_of: str | None = None

    def config(self) -> FusionConfig:
        """The validated configuration (re-read when the file changes)."""
        path = Path(self.config_path).resolve()
        return _load(str(path), path.stat().st_mtime_ns if path.exists() else 0)

    def pinned_as_of(self) -> datetime | None:
        """The run clock pinned by the caller or the config (None: the run's start day)."""
        if self.as_of is not None:
            return parse_instant(self.as_of)
        return self.config().run.as_of

    def warehouse(self) -> Warehouse:
        """The target warehouse."""
        return Warehouse(Path(self.warehouse_dir).resolve())
