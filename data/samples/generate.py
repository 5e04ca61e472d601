"""Generate the bundled sample exports and their ground truth.

Usage (from the repository root)::

    python data/samples/generate.py --out data/samples --seed 20261122

The output is a pure function of the seed: every random draw comes from
``random.Random`` streams derived from it, and all timestamps are relative to
a fixed "as of" instant (2026-11-01T00:00:00Z), never the wall clock.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generator.defects import make_invalid  # noqa: E402
from generator.facts import write_facts  # noqa: E402
from generator.output import (  # noqa: E402
    FILES,
    add_embedded_newlines,
    assign_ids,
    write_exports,
    write_truth,
)
from generator.plan import plan_records  # noqa: E402
from generator.render import Renderer  # noqa: E402
from generator.world import build_world  # noqa: E402

DEFAULT_SEED = 20261122
DEFAULT_OUT = Path(__file__).resolve().parent


def _stream(seed: int, stage: str) -> random.Random:
    """One independent random stream per stage, so tuning one stage leaves the others alone."""
    return random.Random(f"{seed}:{stage}")


def generate(out: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the four exports, the two fact files and truth/ into ``out``; return row counts."""
    world = build_world(_stream(seed, "world"))
    plans = plan_records(_stream(seed, "plan"), world.registry, world.entities)
    renderer = Renderer(_stream(seed, "render"))
    valid = [renderer.render(plan) for plan in plans]
    invalid = make_invalid(_stream(seed, "defects"), world, valid)
    exports = assign_ids(_stream(seed, "ids"), valid + invalid)
    add_embedded_newlines(_stream(seed, "newlines"), exports["crm"], world, n=4)
    out.mkdir(parents=True, exist_ok=True)
    write_exports(out, exports)
    write_truth(out, world, exports)
    counts = {FILES[s]: len(rows) for s, rows in exports.items()}
    # Facts last, from their own stream: the customer exports do not change.
    counts.update(write_facts(_stream(seed, "facts"), out, world, exports))
    counts["entities"] = len(world.entities)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    counts = generate(args.out, args.seed)
    for name, count in counts.items():
        print(f"{name}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
