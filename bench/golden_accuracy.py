"""Golden-field accuracy per customer type, and role diagnostics, for published warehouses.

``fusion evaluate`` scores every golden field over all customers; a survivorship
change aimed at company customers (values by role, issue 26) shows better split by
the true customer type, beside two role diagnostics that need no truth:

- ``person-looking names``: share of company customers whose golden ``name`` looks
  like a person's (``lineage.roles.looks_like_person_name``: 郭明, 王女士, 小王);
- ``mobile phones``: share of company customers whose golden ``phone`` is a mobile
  number (``lineage.roles.phone_number_type``).

Several warehouses side by side (e.g. before and after a change)::

    python -m bench.golden_accuracy --truth data/samples/truth \\
        --warehouse before=/tmp/before --warehouse after=/tmp/after

The truth folder holds ``records.csv`` and ``entities.csv`` (the samples' and the
synthetic generator's, ``python -m bench.generate_synthetic``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import polars as pl

from lineage.roles import looks_like_person_name, phone_number_type
from pipelines.evaluation.fields import field_accuracy
from pipelines.evaluation.results import DEFAULT_FIELDS

FIELDS = tuple(f for f in DEFAULT_FIELDS if f != "customer_type")
TYPES = ("all", "company", "person")


def _read(warehouse: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        golden = con.sql("SELECT * FROM golden_customer").pl()
        xref = con.sql(
            "SELECT CAST(source_system AS VARCHAR) AS source_system,"
            " CAST(source_record_id AS VARCHAR) AS source_record_id, unified_id"
            " FROM customer_xref"
        ).pl()
    return golden, xref


def diagnostics(golden: pl.DataFrame) -> dict[str, float | None]:
    """Shares of company customers with a person-looking golden name or a mobile phone."""
    companies = golden.filter(pl.col("customer_type") == "company")
    if companies.is_empty():
        return {"person_looking_names": None, "mobile_phones": None}
    person_like = companies.select(looks_like_person_name(pl.col("name")).mean()).item()
    phones = companies["phone"].drop_nulls()
    kinds = phone_number_type(phones.to_list())
    mobiles = sum(kinds[p] == "mobile" for p in phones.to_list())
    return {
        "person_looking_names": round(float(person_like), 4),
        "mobile_phones": round(mobiles / len(phones), 4) if len(phones) else None,
    }


def measure(warehouse: Path, truth: Path) -> dict[str, object]:
    """Per customer type (true type), per field: correct, total and accuracy."""
    golden, xref = _read(warehouse)
    records = pl.read_csv(truth / "records.csv", infer_schema=False)
    entities = pl.read_csv(truth / "entities.csv", infer_schema=False)
    fields = [f for f in FIELDS if f in entities.columns]
    result: dict[str, object] = {"warehouse": str(warehouse)}
    for kind in TYPES:
        chosen = entities if kind == "all" else entities.filter(pl.col("customer_type") == kind)
        scores = field_accuracy(golden, xref, records, chosen, fields=fields)
        result[kind] = {
            f: {"correct": s.correct, "total": s.total, "accuracy": s.accuracy}
            for f, s in scores.items()
        }
    result["diagnostics"] = diagnostics(golden)
    return result


def _format(results: dict[str, dict[str, object]]) -> str:
    labels = list(results)
    lines = []
    for kind in TYPES:
        lines.append(f"\n{kind} customers: accuracy per field")
        lines.append(f"{'field':<14}" + "".join(f"{label:>14}" for label in labels))
        fields = list(next(iter(results.values()))[kind])  # type: ignore[call-overload]
        for field in fields:
            cells = []
            for label in labels:
                score = results[label][kind][field]  # type: ignore[index]
                cells.append("n/a" if score["accuracy"] is None else f"{score['accuracy']:.4f}")
            total = results[labels[0]][kind][field]["total"]  # type: ignore[index]
            lines.append(f"{field:<14}" + "".join(f"{c:>14}" for c in cells) + f"   (n={total})")
    lines.append("\ncompany customers (golden values, no truth needed)")
    for name in ("person_looking_names", "mobile_phones"):
        cells = [results[label]["diagnostics"][name] for label in labels]  # type: ignore[index]
        text = "".join(f"{'n/a' if c is None else f'{c:.4f}':>14}" for c in cells)
        lines.append(f"{name:<14}{text}" if len(name) <= 14 else f"{name}\n{'':<14}{text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", type=Path, required=True, help="folder with records/entities")
    parser.add_argument(
        "--warehouse",
        action="append",
        required=True,
        help="LABEL=DIR or DIR (a published warehouse); repeat to compare",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document instead")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, object]] = {}
    for entry in args.warehouse:
        label, _, path = entry.rpartition("=")
        results[label or Path(path).name] = measure(Path(path), args.truth)
    print(json.dumps(results, indent=1) if args.json else _format(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
