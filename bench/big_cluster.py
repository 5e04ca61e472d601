"""A whole ``fusion run`` in which matching makes one giant cluster: the memory of what follows.

``inputs`` writes a one-source export of ``records`` companies' records and its
config: ``giant`` records (ids ``G...``) with nothing in common, and the rest in
pairs sharing name, e-mail and phone (two records of one company each). ``run``
then runs the real ``fusion run`` in this process with the match stage wrapped:
after the real matching, the giant records are chained by scored pairs that agree
strongly on e-mail and phone (as a run of wrong but corroborated links would), and
the real clustering, ``matching.max_cluster_size`` included, runs again over them.
Everything after matching (unified IDs, survivorship, lineage, contacts, match
evidence, the quality suites, the SQL models, publishing) is the real code on a
cluster of ``giant`` records.

    python -m bench.big_cluster inputs DIR [--records 100000 --giant 50000]
    /usr/bin/time -v python -m bench.big_cluster run DIR    # peak RSS: "Maximum resident"

tests/pipelines/test_big_cluster.py runs it in a child process and holds its peak RSS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SEED = 20261207
GIANT_PREFIX = "G"
LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
CONFIG = """\
run: {{name: big_cluster}}
sources:
  - name: crm
    system: crm
    path: customers.csv
    format: csv
    default_country: CN
    record_id: id
    updated_at: {{column: updated, format: iso}}
    fields:
      customer_type: {{constant: company}}
      name: name
      contact_name: contact
      email: email
      phone: phone
      address: address
      city: city
    trust: {{default: 0.8}}
matching:
  max_cluster_size: {max_cluster_size}
  blocking: {{rules: [email, phone]}}
"""


def _words(rng: np.random.Generator, count: int, length: int) -> pl.Series:
    letters = LETTERS[rng.integers(0, len(LETTERS), size=(count, length))]
    return pl.Series(["".join(row) for row in letters])


def write_inputs(
    folder: Path, *, records: int = 100_000, giant: int = 50_000, max_cluster_size: int = 1_000
) -> Path:
    """The export and ``fusion.yaml`` in ``folder``; returns the config's path."""
    rng = np.random.default_rng(SEED)
    pairs = (records - giant) // 2
    distinct = giant + pairs  # one set of values per giant record and per pair
    word = _words(rng, distinct, 9)
    other = _words(rng, distinct, 7)
    phone = pl.Series(rng.choice(10**8, size=distinct, replace=False)).cast(pl.String).str.zfill(8)
    days = pl.Series(rng.integers(0, 2_000, size=distinct))
    values = (
        pl.DataFrame(
            {
                "name": word.str.to_titlecase() + " Trading Co., Ltd.",
                "contact": other.str.to_titlecase() + " " + word.str.slice(0, 5).str.to_titlecase(),
                "email": other + "@" + word + ".com",
                "phone": "138" + phone,
                "address": (days + 1).cast(pl.String) + " " + word.str.to_titlecase() + " Road",
                "city": pl.Series(rng.choice(["Shanghai", "Beijing", "Hangzhou"], size=distinct)),
                "days": days,
            }
        )
        .with_columns(
            (pl.date(2024, 1, 1) + pl.duration(days=pl.col("days")))
            .cast(pl.String)
            .alias("updated")
        )
        .drop("days")
    )
    ids = pl.concat(
        [
            pl.Series([f"{GIANT_PREFIX}{i:07d}" for i in range(giant)]),
            pl.Series([f"P{i:07d}{side}" for i in range(pairs) for side in "ab"]),
        ]
    )
    rows = pl.concat(
        [values.head(giant), values.slice(giant).select(pl.all().repeat_by(2).explode())]
    )
    folder.mkdir(parents=True, exist_ok=True)
    rows.insert_column(0, ids.alias("id")).write_csv(folder / "customers.csv")
    config = folder / "fusion.yaml"
    config.write_text(CONFIG.format(max_cluster_size=max_cluster_size), encoding="utf-8")
    return config


def _chain_rows(scored: pl.DataFrame, left: np.ndarray, right: np.ndarray) -> pl.DataFrame:
    """Scored pairs in ``scored``'s schema that agree strongly on two comparisons."""
    weights = [c for c in scored.columns if c.endswith("_weight") and c != "match_weight"]
    strong = {"email_weight", "phone_weight"} & set(weights) or set(weights[:2])
    columns: dict[str, Any] = {}
    for name, dtype in scored.schema.items():
        if name in ("left", "right"):
            columns[name] = pl.Series(left if name == "left" else right, dtype=dtype)
        elif name.endswith("_level") and isinstance(dtype, pl.Enum):
            columns[name] = pl.repeat(dtype.categories[0], len(left), dtype=dtype, eager=True)
        elif name in weights:
            columns[name] = pl.repeat(10.0 if name in strong else 0.0, len(left), eager=True)
        elif name == "match_weight":
            columns[name] = pl.repeat(20.0, len(left), eager=True)
        elif name == "match_probability":
            columns[name] = pl.repeat(1.0, len(left), eager=True)
        elif name == "decision":
            columns[name] = pl.repeat("match", len(left), eager=True)
        elif name == "blocking_rules":
            columns[name] = pl.repeat("email", len(left), eager=True)
        else:
            columns[name] = pl.repeat(None, len(left), eager=True)
    return pl.DataFrame(columns).cast(dict(scored.schema))  # type: ignore[arg-type]


def chained(match: Callable[..., Any]) -> Callable[..., Any]:
    """``stages.match`` followed by the giant records' chain and the real clustering again."""
    from matching.linkage import cluster_under_decisions

    def with_giant_chain(std: pl.DataFrame, *, config: Any, **kwargs: Any) -> Any:
        result = match(std, config=config, **kwargs)
        giant = (
            std.filter(pl.col("source_record_id").str.starts_with(GIANT_PREFIX))
            .get_column("record_index")
            .sort()
            .to_numpy()
        )
        scored = result.scored_pairs.drop("steward_decision")
        chain = _chain_rows(scored, giant[:-1], giant[1:])
        scored = pl.concat(
            [scored.join(chain.select("left", "right"), on=["left", "right"], how="anti"), chain]
        )
        clustered = cluster_under_decisions(
            std,
            scored.sort("left", "right"),
            steward_decisions=kwargs.get("decisions"),
            settings=config.matching,
        )
        if isinstance(clustered, tuple):  # a version without matching.max_cluster_size
            return replace(result, scored_pairs=clustered[0], clusters=clustered[1])
        limits = (
            {"oversized_clusters": clustered.oversized_clusters}
            if "oversized_clusters" in {f.name for f in fields(result)}
            else {}
        )
        return replace(
            result, scored_pairs=clustered.scored_pairs, clusters=clustered.clusters, **limits
        )

    return with_giant_chain


def run(folder: Path) -> int:
    """``fusion run`` on ``folder``'s inputs into ``folder/warehouse``, matching wrapped."""
    from pipelines import stages
    from pipelines.cli import main

    stages.match = chained(stages.match)  # type: ignore[assignment]
    arguments = ["run", "--config", str(folder / "fusion.yaml")]
    arguments += ["--warehouse", str(folder / "warehouse"), "--as-of", "2026-12-07"]
    try:
        main(arguments)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["inputs", "run"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--giant", type=int, default=50_000)
    parser.add_argument("--max-cluster-size", type=int, default=1_000)
    args = parser.parse_args(argv)
    if args.step == "inputs":
        write_inputs(
            args.folder,
            records=args.records,
            giant=args.giant,
            max_cluster_size=args.max_cluster_size,
        )
        return 0
    return run(args.folder)


if __name__ == "__main__":
    sys.exit(main())
