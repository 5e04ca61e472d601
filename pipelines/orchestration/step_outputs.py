"""Step outputs of a CLI run wait in the run's scratch folder, not in memory.

Dagster's in-process ``mem_io_manager`` keeps every output until the run
ends: at 1M records the source batches (1.4 GiB) and the match result (the
scored pairs, clusters and name vectors) stayed resident through the golden,
release and publish steps, which need only some of them. Pickled beside the
run's scratch folder (``Warehouse.scratch``) as each step ends, an output costs
memory only while a step that reads it runs. The runner removes the folder
when the run ends (``Warehouse.drop_scratch``); one a killed run left goes
with old scratch folders.

Polars frames inside an output go to Arrow IPC files of their own beside the
pickle (``pickle``'s persistent IDs): pickled in-band, a frame is first
serialised to one bytes object, and read back from one, so writing and reading
the match result at 1M records each held 0.6 GiB of copies on top of it.

Every run of the jobs uses it, ``fusion run`` and the code location's
(``dagster dev``, the schedule, ``dagster job execute``) alike, on the
in-process executor (``graph.build_definitions``). The run's scratch goes when
the resource is torn down at the end of the run (``scratch_io_manager``), so a
run that no ``fusion run`` wraps and no sensor follows leaves none. Outputs do
not outlive their run: materialising one asset alone in the UI fails with a
line that says so; materialise it with its upstream assets (or run a job).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import polars as pl
from dagster import (
    InitResourceContext,
    InputContext,
    IOManager,
    IOManagerDefinition,
    OutputContext,
    io_manager,
)

from pipelines.memory import collecting_new_objects_only, release_free_memory
from pipelines.warehouse import Warehouse

# The newest protocol: frames and arrays pickle as their buffers, not element by element.
PICKLE_PROTOCOL = 5


class _FramesToFiles(pickle.Pickler):
    """Pickles an object with each Polars frame in it written to an Arrow IPC file of ``folder``."""

    def __init__(self, file: IO[bytes], folder: Path) -> None:
        super().__init__(file, protocol=PICKLE_PROTOCOL)
        self.folder = folder
        self.written: dict[int, str] = {}

    def persistent_id(self, obj: Any) -> str | None:  # noqa: ANN401 - any object of the output
        if not isinstance(obj, pl.DataFrame):
            return None
        if id(obj) not in self.written:
            name = f"{len(self.written)}.arrow"
            self.folder.mkdir(parents=True, exist_ok=True)
            obj.write_ipc(self.folder / name, compression="uncompressed")
            self.written[id(obj)] = name
        return self.written[id(obj)]


class _FramesFromFiles(pickle.Unpickler):
    """Unpickles what :class:`_FramesToFiles` wrote, reading each frame from its file."""

    def __init__(self, file: IO[bytes], folder: Path) -> None:
        super().__init__(file)
        self.folder = folder
        self.read: dict[str, pl.DataFrame] = {}

    def persistent_load(self, pid: Any) -> pl.DataFrame:  # noqa: ANN401 - what persistent_id gave
        # One frame held in two places was written once; it comes back as one frame again.
        name = str(pid)
        if name not in self.read:
            self.read[name] = pl.read_ipc(self.folder / name)
        return self.read[name]


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
            _FramesToFiles(file, _frames_folder(path)).dump(obj)

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
        path = self._path(upstream.run_id, context)
        if not path.exists():
            asset = "/".join(context.asset_key.path)
            msg = (
                f"{asset!r} was not materialised in this run: step outputs last one run, so "
                "materialise it together with the assets it reads (or run a fusion job)"
            )
            raise FileNotFoundError(msg)
        with path.open("rb") as file:
            # Written by this run, in its own scratch folder.
            return _FramesFromFiles(file, _frames_folder(path)).load()


def scratch_io_manager(warehouse: Warehouse) -> IOManagerDefinition:
    """:class:`ScratchIOManager` as a resource that removes the run's scratch when torn down.

    On the in-process executor the resource lives for the whole run, so what
    was alive when it started stays frozen for the run's collections
    (``pipelines.memory.collecting_new_objects_only``), and the teardown comes
    after the last step (the checks that read the spilled tables
    after publishing included). Removing a folder already gone is a no-op, so
    the runner's and the sensors' own clean-up stay harmless.
    """

    # Dagster runs a generator resource's code after ``yield`` at teardown; its
    # annotations name only the plain-function form.
    @io_manager(  # type: ignore[arg-type]
        description="Step outputs in the run's scratch folder, removed when it ends."
    )
    def step_outputs(context: InitResourceContext) -> Iterator[ScratchIOManager]:
        try:
            # As for fusion run (``runner.run_in_process``): the collection each step
            # starts with scans only what the run made, not Dagster's and GX's modules.
            with collecting_new_objects_only():
                yield ScratchIOManager(warehouse)
        finally:
            if context.run_id:
                warehouse.drop_scratch(context.run_id)

    return step_outputs


def _frames_folder(pickle_path: Path) -> Path:
    """Where the frames of the output pickled at ``pickle_path`` wait."""
    return pickle_path.with_suffix(".frames")
