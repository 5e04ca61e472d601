"""Learning from labels on the shared sets: a labeller simulated from the truth (issue 25 item 4).

    .venv/bin/python -m bench.label_loop [--sets chicago_childcare,historical_50k]
        [--labels 50] [--batch 5] [--checkpoints 0,10,25,50] [--work /tmp/fusion-labels]
        [--results bench/results-labels.jsonl] [--datasets ../shared/datasets]

Per set (``bench.shared_sets``: the same configs, written from README.md alone, and the
same scoring): ``fusion run`` into a fresh warehouse, then rounds of

    fusion label --list --count BATCH     # the pairs fusion picks (uncertainty sampling)
    (the simulated labeller answers yes when the truth puts both records in one entity)
    fusion label --answers answers.csv
    fusion run --retrain                  # learns the model from the labels

until ``--labels`` answers are recorded. The labeller sees only the pairs fusion chose,
as a person would; nothing else of the truth reaches fusion. The clustering is scored
after 0 labels and at every checkpoint (pairwise and B-cubed F1, the largest cluster),
one JSON line each, and a Markdown table is printed at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import polars as pl

from bench.run import FUSION, ROOT, child_environment
from bench.shared_sets import (
    DEFAULT_DATASETS,
    SETS,
    prepare,
    score_clustering,
    truth_clusters,
    warehouse_xref,
)
from pipelines.evaluation import RECORD_KEY_SEPARATOR

DEFAULT_LABEL_SETS = ("chicago_childcare", "historical_50k")
LABELLER = "simulated-from-truth"


def _fusion(*args: str, log: Path) -> tuple[str, float]:
    """Run ``fusion ARGS``; its stdout and wall seconds (stderr to ``log``). Raises on failure."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(FUSION), *args], cwd=ROOT, env=child_environment(), capture_output=True, text=True
    )
    wall = round(time.perf_counter() - started, 1)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ fusion {' '.join(args)}  ({wall} s, exit {done.returncode})\n")
        handle.write(done.stderr[-4000:])
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [""])[-1]
        msg = f"fusion {args[0]} failed (exit {done.returncode}): {reason}"
        raise RuntimeError(msg)
    return done.stdout, wall


def truth_entities(folder: Path) -> dict[str, str]:
    """'SOURCE:ID' -> entity id, from the set's ``truth_records.csv``."""
    truth = truth_clusters(folder / "truth_records.csv")
    keys = truth["record_key"].str.replace(RECORD_KEY_SEPARATOR, ":", literal=True)
    return dict(zip(keys.to_list(), truth["cluster"].cast(pl.String).to_list(), strict=True))


def simulated_answers(pairs: list[dict[str, Any]], entities: dict[str, str]) -> list[list[str]]:
    """yes when the truth puts both records in one entity, no otherwise, unsure if unknown.

    Example:
        >>> simulated_answers([{"left": "a:1", "right": "a:2"}], {"a:1": "E1", "a:2": "E1"})
        [['a:1', 'a:2', 'yes']]
    """
    answers = []
    for pair in pairs:
        left, right = entities.get(pair["left"]), entities.get(pair["right"])
        answer = "unsure" if left is None or right is None else ("yes" if left == right else "no")
        answers.append([pair["left"], pair["right"], answer])
    return answers


def _score(warehouse: Path, truth: pl.DataFrame, labels: int, wall: float) -> dict[str, Any]:
    xref, quarantined = warehouse_xref(warehouse)
    return {"labels": labels, "run_wall_s": wall, "quarantined": quarantined,
            **score_clustering(xref, truth)}  # fmt: skip


def label_loop(
    name: str, *, work: Path, datasets: Path, labels: int, batch: int, checkpoints: set[int]
) -> list[dict[str, Any]]:
    """The rounds on one set; one scored line per checkpoint (0 always)."""
    shared = SETS[name]
    folder = prepare(shared, work, datasets=datasets)
    truth = truth_clusters(folder / "truth_records.csv")
    entities = truth_entities(folder)
    out = work / name / "labels"
    warehouse = out / "warehouse"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = out / "fusion.log"
    config = str(folder / "fusion.yaml")
    _, wall = _fusion("run", "--config", config, "--warehouse", str(warehouse), log=log)
    lines = [_score(warehouse, truth, 0, wall)]
    print(json.dumps({"set": name, **lines[-1]}), flush=True)
    answered = yes = 0
    while answered < labels:
        upcoming = [c for c in sorted(checkpoints) if c > answered]
        count = min(batch, labels - answered, *(c - answered for c in upcoming[:1]))
        listed, _ = _fusion("label", "--warehouse", str(warehouse), "--list", "--count",
                            str(count), log=log)  # fmt: skip
        pairs = [json.loads(line) for line in listed.splitlines() if line.startswith("{")]
        if not pairs:
            print(json.dumps({"set": name, "note": "no unanswered pairs left"}), flush=True)
            break
        answers = simulated_answers(pairs, entities)
        answers_file = out / f"answers-{answered:03d}.csv"
        with answers_file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["left", "right", "answer"])
            writer.writerows(answers)
        _fusion("label", "--warehouse", str(warehouse), "--answers", str(answers_file),
                "--labeller", LABELLER, log=log)  # fmt: skip
        answered += len(answers)
        yes += sum(a[2] == "yes" for a in answers)
        _, wall = _fusion("run", "--retrain", "--config", config, "--warehouse", str(warehouse),
                          log=log)  # fmt: skip
        if answered in checkpoints or answered >= labels:
            lines.append({**_score(warehouse, truth, answered, wall), "answered_yes": yes})
            print(json.dumps({"set": name, **lines[-1]}), flush=True)
    return lines


def table(lines: list[dict[str, Any]]) -> str:
    """Markdown: one row per (set, labels)."""
    rows = [
        "| set | labels (yes) | pairwise P | R | F1 | B-cubed F1 | largest / largest true |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for line in lines:
        pairwise = line["pairwise"]
        rows.append(
            f"| {line['set']} | {line['labels']} ({line.get('answered_yes', 0)}) | "
            f"{pairwise['precision']:.4f} | {pairwise['recall']:.4f} | {pairwise['f1']:.4f} | "
            f"{line['bcubed']['f1']:.4f} | {line['largest_cluster']} / "
            f"{line['largest_true_cluster']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", default=",".join(DEFAULT_LABEL_SETS), help=f"of {', '.join(SETS)}"
    )
    parser.add_argument("--labels", type=int, default=50)
    parser.add_argument("--batch", type=int, default=5, help="labels per round (then a retrain)")
    parser.add_argument("--checkpoints", default="0,10,25,50")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fusion-labels"))
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results-labels.jsonl")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = parser.parse_args(argv)
    names = [s for s in args.sets.split(",") if s]
    if unknown := [n for n in names if n not in SETS]:
        parser.error(f"unknown set(s) {', '.join(unknown)}; sets are {', '.join(SETS)}")
    checkpoints = {int(c) for c in args.checkpoints.split(",") if c}
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    lines = []
    for name in names:
        produced = label_loop(
            name,
            work=args.work,
            datasets=args.datasets.resolve(),
            labels=args.labels,
            batch=args.batch,
            checkpoints=checkpoints,
        )
        for line in produced:
            line = {"set": name, "git_commit": commit, "batch": args.batch, **line}
            lines.append(line)
            with open(args.results, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")
    print()
    print(table(lines))


if __name__ == "__main__":
    main()
