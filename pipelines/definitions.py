"""The Dagster code location: ``dagster dev -m pipelines.definitions``.

Kept at this path because deployments name it (README, workspace files); the
definitions themselves are built in ``pipelines.orchestration.definitions``.
"""

from __future__ import annotations

from pipelines.orchestration.definitions import defs

__all__ = ["defs"]
