"""Dagster resources: the run configuration and the warehouse, chosen explicitly."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dagster import ConfigurableResource

from pipelines.settings import FusionConfig, load_fusion_config
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
    """

    config_path: str
    warehouse_dir: str
    lock_held_by_caller: bool = False
    mode: str = "incremental"

    def config(self) -> FusionConfig:
        """The validated configuration (re-read when the file changes)."""
        path = Path(self.config_path).resolve()
        return _load(str(path), path.stat().st_mtime_ns if path.exists() else 0)

    def warehouse(self) -> Warehouse:
        """The target warehouse."""
        return Warehouse(Path(self.warehouse_dir).resolve())
