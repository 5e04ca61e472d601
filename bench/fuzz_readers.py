"""Long fuzzing run of the readers and the standardiser (RELIABILITY.md, "Fuzzing").

The properties are the ones the default test run checks with a fixed seed
(tests/reliability/fuzz_properties.py); here they run with a random (or given)
seed and many more examples, and every outcome is counted instead of stopping
at the first failure, so one run gives the figures RELIABILITY.md reports.

    .venv/bin/python -m bench.fuzz_readers --examples 2000 --seed 1 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.reliability import fuzz_properties as fp


def _csv(document: tuple[bytes, str, str]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        return fp.check_csv_load(document, Path(folder))


def _jsonl(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        return fp.check_jsonl_load(content, Path(folder))


def _standardise(records: Any) -> str:
    fp.check_standardise(records)
    return "kept every record, well-formed"


def _idempotent(records: Any) -> str:
    fp.check_standardise_idempotent(records)
    return "idempotent"


PROPERTIES: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str]]] = {
    "csv_load": (fp.csv_documents(), _csv),
    "jsonl_load": (fp.jsonl_documents(), _jsonl),
    "standardise": (fp.canonical_frames(), _standardise),
    "standardise_idempotent": (fp.canonical_frames(), _idempotent),
}


def run_property(name: str, *, examples: int, run_seed: int) -> dict[str, Any]:
    """Run one property; count outcomes and keep the first few failures."""
    strategy, check = PROPERTIES[name]
    outcomes: Counter[str] = Counter()
    failures: list[str] = []

    @seed(run_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def explore(value: Any) -> None:
        try:
            outcomes[check(value)] += 1
        except AssertionError as error:
            outcomes["FAILED"] += 1
            if len(failures) < 3:
                failures.append(f"{error!s}"[:300] + f" on {value!r}"[:300])
        except Exception:  # an unexpected exception is the finding itself
            outcomes["CRASHED"] += 1
            if len(failures) < 3:
                failures.append(traceback.format_exc(limit=3)[-600:] + f" on {value!r}"[:300])

    started = time.perf_counter()
    explore()
    return {
        "property": name,
        "examples": sum(outcomes.values()),
        "outcomes": dict(outcomes.most_common()),
        "failures": failures,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per property")
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed")
    parser.add_argument("--only", choices=sorted(PROPERTIES), action="append")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    run_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {run_seed}, {args.examples} examples per property")
    results = []
    for name in args.only or PROPERTIES:
        result = run_property(name, examples=args.examples, run_seed=run_seed)
        results.append(result)
        figures = f"{result['examples']:6} examples {result['seconds']:7}s"
        print(f"{name:24} {figures}  {result['outcomes']}")
        for failure in result["failures"]:
            print(f"    {failure}")
    if args.json is not None:
        args.json.write_text(json.dumps({"seed": run_seed, "results": results}, indent=2))
    crashed = any(r["outcomes"].get("CRASHED") for r in results)
    lost = any(
        r["outcomes"].get("FAILED") for r in results if r["property"] != "standardise_idempotent"
    )
    return 1 if crashed or lost else 0


if __name__ == "__main__":
    sys.exit(main())
