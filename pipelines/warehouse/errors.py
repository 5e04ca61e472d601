"""The warehouse's error: its folder cannot be read, locked or written."""

from __future__ import annotations

from connectors.errors import FusionError


class WarehouseError(FusionError):
    """The warehouse folder cannot be read, locked or written."""
