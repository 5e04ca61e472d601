"""The Dagster code location, re-exported by ``pipelines.definitions`` (``dagster dev -m``).

The configuration file and warehouse come from ``FUSION_CONFIG`` and
``FUSION_WAREHOUSE`` (defaults: the bundled samples and ``warehouse/``), so a
plain ``dagster dev`` runs on data/samples out of the box.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.orchestration.graph import DEFAULT_CONFIG, DEFAULT_WAREHOUSE, build_definitions

defs = build_definitions(
    Path(os.environ.get("FUSION_CONFIG", DEFAULT_CONFIG)),
    Path(os.environ.get("FUSION_WAREHOUSE", DEFAULT_WAREHOUSE)),
)
