"""Step outputs of a CLI run wait in the run's scratch folder, not in memory.

Dagster's in-process ``mem_io_manager`` keeps every output until the run
ends: at 1M records the source batches (1.4 GiB) and the match result (the
scored pairs, clusters and name vectors) stayed resident through the golden,
release and publish steps, which need only some of them. Pickled beside the
run's scratch folder (``Warehouse.scratch``) as each step ends, an output costs
memory only while a step that reads it runs. The runner removes the folder
when the run ends (``Warehouse.drop_scratch``); one a killed run left goes
with old scratch folders.

The code location (``dagster dev``) keeps Dagster's ``FilesystemIOManager``,
whose outputs outlive a run so that one asset can be re-materialised alone.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from dagster import InputContext, IOManager, OutputContext

from pipelines.memory import release_free_memory
from pipelines.warehouse import Warehouse

# The newest protocol: frames and arrays pickle as their buffers, not element by element.
PICKLE_PROTOCOL = 5


class ScratchIOManager(IOManager):
    """Each asset's output as a pickle in ``WAREHOUSE/.scratch/<run_id>.step_outputs/``."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._last_step: str | None = None

    def _path(self, run_id: str, context: InputContext | OutputContext) -> Path:
        name = "__".join(context.asset_key.path)
        return self.warehouse.step_outputs(run_id) / f"{name}.pickle"

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Write the output where the run's steps read it; the step then drops it."""
        path = self._path(context.run_id, context)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            pickle.dump(obj, file, protocol=PICKLE_PROTOCOL)

    def load_input(self, context: InputContext) -> Any:
        """Read an upstream output of this run back (a fresh copy per reading step)."""
        upstream = context.upstream_output
        if upstream is None:
            msg = f"input {context.name!r} has no upstream output in this run"
            raise ValueError(msg)
        if context.op_def.name != self._last_step:
            # The previous step's frames are gone: its allocators' pages go before the next loads.
            self._last_step = context.op_def.name
            release_free_memory()
        with self._path(upstream.run_id, context).open("rb") as file:
            return pickle.load(file)  # noqa: S301 - written by this run, in its own scratch folder
