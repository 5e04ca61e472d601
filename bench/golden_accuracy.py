"""Golden-field accuracy per customer type, and role diagnostics, for published warehouses.

``fusion evaluate`` scores every golden field over all customers; a survivorship
change aimed at company customers (values by role, issue 26) shows better split by
the true customer type. Two accuracies per field:

- ``accuracy``: every judged customer whose true value is known;
- ``knowable``: only those where at least one of the customer's own source records
  carries a value for the field (``pipelines.evaluation.fields.knowable_fields`` over
  the published ``standardised_records``): a tier no record holds is the data's gap,
  not survivorship's error;
- ``reachable``: only those where one of the customer's own records holds the *true*
  value (``reachable_fields``): a shop nickname is a name on record, but no rule
  can turn it into the full name. This is what survivorship alone answers for.

One more row, ``name_any_spelling``, scores ``name`` with the spellings of one company
name taken as one (``lineage.roles.name_variant_key`` on both sides: the bracketed
city moved to the front, Latin legal forms in one spelling, so ``Royalside Labs
Limited`` = ``Royalside Labs Ltd`` and 宏智管理咨询（广州）有限公司 =
广州宏智管理咨询有限公司). ``name`` stays the strict figure (``fusion evaluate``'s);
the difference is how many golden names are a right name in another spelling than the
truth's, mostly where the records write both spellings equally often and nothing says
which one the register holds.

When the truth has ``contacts.csv`` (the synthetic generator's), contact-person recall
(``bench.contact_recall``: true contacts found in ``customer_contacts`` under the right
company) is reported too. Two role diagnostics need no truth:

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
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from bench.contact_recall import contact_recall
from lineage.roles import looks_like_person_name, name_variant_key, phone_number_type
from pipelines.evaluation.fields import field_accuracy, knowable_fields, reachable_fields
from pipelines.evaluation.results import DEFAULT_FIELDS

FIELDS = tuple(f for f in DEFAULT_FIELDS if f != "customer_type")
ANY_SPELLING = "name_any_spelling"  # ``name`` compared on lineage.roles.name_variant_key
TYPES = ("all", "company", "person")


KEYS = (
    "CAST(source_system AS VARCHAR) AS source_system,"
    " CAST(source_record_id AS VARCHAR) AS source_record_id"
)


@dataclass(frozen=True)
class Tables:
    """What the bench reads of a published warehouse; older warehouses lack the last two."""

    golden: pl.DataFrame
    xref: pl.DataFrame
    standardised: pl.DataFrame | None
    contacts: pl.DataFrame | None


def _read(warehouse: Path) -> Tables:
    """golden_customer, customer_xref, standardised_records' fields, customer_contacts."""
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}

        present = (
            [
                row[0]
                for row in con.execute("DESCRIBE standardised_records").fetchall()
                if row[0] in FIELDS
            ]
            if "standardised_records" in tables
            else []
        )

        def optional(table: str, columns: str) -> pl.DataFrame | None:
            return con.sql(f"SELECT {columns} FROM {table}").pl() if table in tables else None

        return Tables(
            golden=con.sql("SELECT * FROM golden_customer").pl(),
            xref=con.sql(f"SELECT {KEYS}, unified_id FROM customer_xref").pl(),
            standardised=optional(
                "standardised_records",
                ", ".join([KEYS, *(f"CAST({f} AS VARCHAR) AS {f}" for f in present)]),
            ),
            contacts=optional("customer_contacts", "unified_id, name, email, phone"),
        )


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


def _contacts(tables: Tables, records: pl.DataFrame, truth: Path) -> dict[str, object] | None:
    if tables.contacts is None or not (truth / "contacts.csv").exists():
        return None
    true = pl.read_csv(truth / "contacts.csv", infer_schema=False)
    score = contact_recall(tables.contacts, tables.xref, records, true)
    return {
        "judged": score.judged,
        "found": score.found,
        "named": score.named,
        "unfindable": score.unfindable,
        "recall": score.recall,
        "named_recall": score.named_recall,
    }


def _with_any_spelling(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    """``frame`` plus ``name_any_spelling``: its ``name`` as a spelling key."""
    if frame is None or "name" not in frame.columns:
        return frame
    return frame.with_columns(name_variant_key(pl.col("name").cast(pl.String)).alias(ANY_SPELLING))


def measure(warehouse: Path, truth: Path) -> dict[str, object]:
    """Per customer type (true type), per field: correct, total, accuracy; knowable too."""
    tables = _read(warehouse)
    golden = _with_any_spelling(tables.golden)
    standardised = _with_any_spelling(tables.standardised)
    xref = tables.xref
    records = pl.read_csv(truth / "records.csv", infer_schema=False)
    entities = _with_any_spelling(pl.read_csv(truth / "entities.csv", infer_schema=False))
    assert golden is not None
    assert entities is not None
    fields = [f for f in (*FIELDS, ANY_SPELLING) if f in entities.columns]
    subsets: dict[str, pl.DataFrame] = {}
    if standardised is not None:
        subsets["knowable"] = knowable_fields(standardised, records, fields=fields)
        subsets["reachable"] = reachable_fields(standardised, records, entities, fields=fields)
    result: dict[str, object] = {"warehouse": str(warehouse)}
    for kind in TYPES:
        chosen = entities if kind == "all" else entities.filter(pl.col("customer_type") == kind)
        scores = field_accuracy(golden, xref, records, chosen, fields=fields)
        restricted = {
            name: field_accuracy(golden, xref, records, chosen, fields=fields, knowable=marks)
            for name, marks in subsets.items()
        }
        result[kind] = {
            f: {
                "correct": s.correct,
                "total": s.total,
                "accuracy": s.accuracy,
                **{
                    f"{name}_{key}": getattr(scores_[f], key)
                    for name, scores_ in restricted.items()
                    for key in ("correct", "total", "accuracy")
                },
            }
            for f, s in scores.items()
        }
    result["contacts"] = _contacts(tables, records, truth)
    result["diagnostics"] = diagnostics(golden)
    return result


def _cell(value: object) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _format(results: dict[str, dict[str, object]]) -> str:
    labels = list(results)
    lines = []
    for kind in TYPES:
        lines.append(f"\n{kind} customers: accuracy per field (all / knowable / reachable)")
        lines.append(f"{'field':<18}" + "".join(f"{label:>26}" for label in labels))
        fields = list(next(iter(results.values()))[kind])  # type: ignore[call-overload]
        for field in fields:
            cells = []
            for label in labels:
                score = results[label][kind][field]  # type: ignore[index]
                cells.append(
                    " / ".join(
                        _cell(score.get(key))
                        for key in ("accuracy", "knowable_accuracy", "reachable_accuracy")
                    )
                )
            first = results[labels[0]][kind][field]  # type: ignore[index]
            counts = " / ".join(
                str(first.get(key, "n/a")) for key in ("total", "knowable_total", "reachable_total")
            )
            lines.append(f"{field:<18}" + "".join(f"{c:>26}" for c in cells) + f"   (n={counts})")
    lines.append("\ncontact persons of company customers (recall / with full name)")
    for label in labels:
        score = results[label].get("contacts")
        if score is None:
            lines.append(f"{label:<14}n/a (no truth/contacts.csv or no customer_contacts)")
            continue
        lines.append(
            f"{label:<14}{_cell(score['recall'])} / {_cell(score['named_recall'])}"  # type: ignore[index]
            f"   (judged {score['judged']}, unfindable {score['unfindable']})"  # type: ignore[index]
        )
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
