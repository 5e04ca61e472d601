"""Render ``bench.run`` JSON lines as the Markdown table of BENCHMARKS.md.

.venv/bin/python -m bench.report results.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SYSTEM_NAMES = {
    "fusion_match": "fusion matching (standardise + match_records)",
    "fusion_run": "fusion run (whole pipeline, publish)",
    "splink": "Splink 5.0 DuckDB (train + predict + cluster)",
}
DATASET_ORDER = ("febrl3", "febrl4", "synthetic-10k", "synthetic-100k", "synthetic-1m")


def _prf(line: dict[str, object], key: str) -> str:
    scores = line.get(key)
    if not isinstance(scores, dict):
        return "n/a | n/a | n/a"
    return " | ".join(f"{scores[k]:.4f}" for k in ("precision", "recall", "f1"))


def _tree(line: dict[str, object]) -> str:
    tree = line.get("peak_tree_rss_mib")
    return f"{tree:.0f}" if isinstance(tree, int | float) else "n/a"


def table(lines: list[dict[str, object]]) -> str:
    """The results table, one row per data set and system."""
    header = (
        "| data set | system | wall s | process s | peak RSS MiB | tree RSS MiB | candidate pairs "
        "| pairwise P | R | F1 | B-cubed P | R | F1 |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []

    def order(line: dict[str, object]) -> tuple[int, str]:
        dataset = str(line["dataset"])
        rank = DATASET_ORDER.index(dataset) if dataset in DATASET_ORDER else 99
        return rank, str(line["system"])

    for line in sorted(lines, key=order):
        if "error" in line:
            rows.append(f"| {line['dataset']} | {line['system']} | failed: {line['error'][:80]} |")
            continue
        pairs = line.get("candidate_pairs")
        rows.append(
            f"| {line['dataset']} | {line['system']} | {line['wall_s']} | "
            f"{line['process_wall_s']} | {line['peak_rss_mib']:.0f} | {_tree(line)} | "
            f"{pairs:,} | {_prf(line, 'pairwise')} | {_prf(line, 'bcubed')} |"
        )
    return "\n".join([header, *rows])


def main(argv: list[str] | None = None) -> None:
    """Print the table for the JSON lines file given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    lines = [json.loads(x) for x in Path(args[0]).read_text().splitlines() if x.startswith("{")]
    print(table([x for x in lines if "system" in x]))


if __name__ == "__main__":
    main()
