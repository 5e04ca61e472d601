"""The unified ID ledger: the highest unified ID ever issued in a warehouse, outside every release.

Written atomically before each publish, so no ID is issued twice even when
every release is gone. ``Warehouse`` holds these methods.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from matching.identity import format_unified_id
from pipelines.warehouse.errors import WarehouseError
from pipelines.warehouse.files import error_reason, fsync_folder, utc_now_text

LEDGER_NAME = "unified_id_ledger.json"


class UnifiedIdLedger:
    """The ledger operations of a warehouse folder at ``root``."""

    root: Path

    @property
    def id_ledger(self) -> Path:
        """The ledger of unified IDs: the highest ever issued, outside every release."""
        return self.root / LEDGER_NAME

    def reserved_unified_ids(self) -> int:
        """The highest unified ID sequence number the ledger reserves (0: no ledger yet).

        Raises:
            WarehouseError: the ledger exists but cannot be read; guessing could
                issue an ID twice, so the run stops.
        """
        try:
            document = json.loads(self.id_ledger.read_text(encoding="utf-8"))
            highest = int(document["highest_sequence"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as error:
            msg = (
                f"warehouse {self.root}: {LEDGER_NAME} is unreadable ({error_reason(error)}); "
                "restore it (it holds the highest unified ID ever issued)"
            )
            raise WarehouseError(msg) from None
        return highest

    def reserve_unified_ids(self, highest: int, *, run_id: str) -> None:
        """Raise the ledger to ``highest`` (never lower it), atomically, before a publish.

        Written to a temporary file, flushed to disk and renamed over the
        ledger: a crash leaves the old ledger or the new one, never half.

        Raises:
            WarehouseError: the ledger cannot be written (full disk, permissions).
        """
        if highest <= self.reserved_unified_ids():
            return
        document = {
            "highest_sequence": highest,
            "highest_unified_id": format_unified_id(highest),
            "run_id": run_id,
            "written_at": utc_now_text(),
        }
        temporary = self.id_ledger.with_name(f".{LEDGER_NAME}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(document) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.id_ledger)
            fsync_folder(self.root)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            msg = f"warehouse {self.root}: cannot write {LEDGER_NAME}: {error_reason(error)}"
            raise WarehouseError(msg) from None
