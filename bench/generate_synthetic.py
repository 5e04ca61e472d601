"""Seeded synthetic customer sets for the benchmark: 10k, 100k or 1M records.

The world behind the records (``bench/synthetic/``) holds the patterns real
B2B/B2C customer data shows, at realistic frequencies:

1. A company has one to five contacts (mean 2.4), each with an own name,
   mobile and mailbox on the company's domain; the company has a main line.
   CRM files its first contact, ERP its second, tickets come from any of them.
2. Tickets name a company by its short name (鑫迅新能 for
   鑫迅新能源(上海)有限公司) in half of their rows and leave it blank in a
   quarter; requesters are 张先生 / 王女士, pinyin, a given name or a nickname.
3. Company names are written in full, with the city in parentheses, in
   English or pinyin, with typos, IME homophones or in traditional script.
4. 15% of companies are another company's same brand in another city,
   subsidiary or 分公司 branch: different customers, tax IDs and phones.
5. Person names follow published surname shares and common given names, so
   namesakes are common; 10% of people live with another customer; shop
   accounts carry nicknames; a quarter of parcels go to someone else.
6. Phones, e-mails, addresses and tiers change over time; older records
   hold the older value.

Everything is vectorised (numpy draws, polars expressions); Python loops run
over vocabularies and distinct values, never over rows.

Output (``--out DIR``): ``crm.csv``, ``erp.csv``, ``web.csv``, ``tickets.csv``
with canonical column names, ``fusion.yaml`` for ``fusion run``, and
``truth/records.csv`` (``source_system, source_record_id, entity_id``) and
``truth/entities.csv`` (the current clean values of every customer) and
``truth/contacts.csv`` (each company's true contact persons: ``entity_id``,
``contact_no``, ``name``, ``email``, ``phone`` (the mobile) and ``records``, how
many of the company's records are filed on or written by that contact; a contact
with none is in no export and cannot be found).

    python -m bench.generate_synthetic --records 100k --out /tmp/syn100k
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bench.synthetic import render, world
from bench.synthetic.draw import Draw
from bench.synthetic.people import full_name

SOURCES: tuple[str, ...] = world.SOURCES
CANONICAL_COLUMNS: tuple[str, ...] = render.CANONICAL_COLUMNS
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
DEFAULT_SEED = 20261121


def parse_size(text: str) -> int:
    """'10k' / '100k' / '1m' / '2500' -> number of records.

    >>> parse_size("100k")
    100000
    """
    key = text.strip().lower()
    if key in SIZES:
        return SIZES[key]
    if key.endswith("k"):
        return int(float(key[:-1]) * 1_000)
    if key.endswith("m"):
        return int(float(key[:-1]) * 1_000_000)
    return int(key)


@dataclass(frozen=True)
class SyntheticSet:
    """Records per source plus the truth (record -> entity), the clean entities and contacts."""

    records: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    entities: pl.DataFrame
    contacts: pl.DataFrame


def _entity_id(column: str) -> pl.Expr:
    return pl.format("E{}", pl.col(column).cast(pl.String).str.zfill(7))


def _entities(customers: world.World) -> pl.DataFrame:
    """The current clean values of every customer (what a perfect golden record holds)."""
    firms = customers.firms.select(
        _entity_id("entity").alias("entity_id"),
        pl.lit("company").alias("customer_type"),
        pl.when("chinese")
        .then(
            pl.col("name_city") + pl.col("brand") + pl.col("term") + pl.col("legal")
            + pl.col("branch")
        )
        .otherwise(pl.col("en_brand") + " " + pl.col("en_word") + " " + pl.col("en_legal"))
        .alias("name"),
        pl.lit(None, pl.String).alias("contact_name"),
        pl.lit(None, pl.String).alias("email"),
        pl.col("main_line").alias("phone"),
        "address", "postcode", "city", "region", "country", "industry", "size_band", "tax_id",
        "tier",
    )  # fmt: skip
    persons = customers.persons.select(
        _entity_id("entity").alias("entity_id"),
        pl.lit("person").alias("customer_type"),
        pl.when(pl.col("chinese"))
        .then(pl.col("family") + pl.col("given"))
        .otherwise(pl.col("given") + " " + pl.col("family"))
        .alias("name"),
        pl.lit(None, pl.String).alias("contact_name"),
        "email", "phone", "address", "postcode", "city", "region", "country",
        pl.lit(None, pl.String).alias("industry"),
        pl.lit(None, pl.String).alias("size_band"),
        pl.lit(None, pl.String).alias("tax_id"),
        "tier",
    )  # fmt: skip
    return pl.concat([firms, persons]).sort("entity_id")


def _contacts(customers: world.World) -> pl.DataFrame:
    """Each company's true contact persons, with how many records carry each one."""
    filed = (
        customers.records.filter(pl.col("contact") >= 0)
        .group_by("contact")
        .agg(pl.len().cast(pl.Int64).alias("records"))
    )
    entity = customers.firms["entity"].gather(customers.contacts["company"])
    return (
        customers.contacts.with_row_index("contact")
        .with_columns(pl.col("contact").cast(pl.Int64), entity=entity)
        .join(filed, on="contact", how="left")
        .select(
            _entity_id("entity").alias("entity_id"),
            "contact_no",
            full_name().alias("name"),
            "email",
            pl.col("mobile").alias("phone"),
            pl.col("records").fill_null(0),
        )
        .sort("entity_id", "contact_no")
    )


def generate(n_records: int, *, seed: int = DEFAULT_SEED) -> SyntheticSet:
    """Build a synthetic set of ``n_records`` records (seeded, deterministic).

    >>> data = generate(300, seed=1)
    >>> sum(frame.height for frame in data.records.values())
    300
    """
    draw = Draw(seed)
    customers = world.build(draw, n_records)
    recs = customers.records
    company = recs["company"].to_numpy()
    rec = pl.concat(
        [
            render.companies(draw, customers, recs.filter(pl.Series(company))),
            render.persons(draw, customers, recs.filter(pl.Series(~company))),
        ]
    )
    rec = rec[draw.rng.permutation(rec.height)].with_columns(
        pl.int_range(pl.len()).over("source").alias("seq")
    )
    rec = rec.with_columns(
        (pl.col("source").str.to_uppercase() + "-" + (pl.col("seq") + 1).cast(pl.String)
         .str.zfill(7)).alias("record_id"),
        _entity_id("entity").alias("entity_id"),
        pl.from_epoch("at", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("updated_at"),
    )  # fmt: skip
    records = {
        source: rec.filter(pl.col("source") == source)
        .sort("seq")
        .select("record_id", *CANONICAL_COLUMNS, "updated_at")
        for source in SOURCES
    }
    truth = rec.select(
        pl.col("source").alias("source_system"),
        pl.col("record_id").alias("source_record_id"),
        "entity_id",
    ).sort("source_system", "source_record_id")
    return SyntheticSet(
        records=records,
        truth=truth,
        entities=_entities(customers),
        contacts=_contacts(customers),
    )


FUSION_YAML = """# fusion run configuration for a synthetic benchmark set (bench/).
run:
  name: synthetic
sources:
{sources}
"""
SOURCE_YAML = """  - name: {name}
    system: {system}
    path: {name}.csv
    format: csv
    encoding: utf-8
    delimiter: ","
    default_country: CN
    record_id: record_id
    updated_at: {{column: updated_at, format: iso}}
    fields: {{{fields}}}
    trust: {{default: {trust}}}
"""
SYSTEMS = {"crm": "crm", "erp": "erp", "web": "ecommerce", "tickets": "ticketing"}
TRUST = {"crm": 0.8, "erp": 0.85, "web": 0.7, "tickets": 0.6}


def write(dataset: SyntheticSet, out: Path) -> None:
    """Write the source CSVs, fusion.yaml and the truth (records, entities, contacts)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    fields = ", ".join(f"{c}: {c}" for c in CANONICAL_COLUMNS)
    for source, frame in dataset.records.items():
        frame.write_csv(out / f"{source}.csv")
    (out / "fusion.yaml").write_text(
        FUSION_YAML.format(
            sources="".join(
                SOURCE_YAML.format(name=s, system=SYSTEMS[s], fields=fields, trust=TRUST[s])
                for s in SOURCES
            )
        ),
        encoding="utf-8",
    )
    dataset.truth.write_csv(out / "truth" / "records.csv")
    dataset.entities.write_csv(out / "truth" / "entities.csv")
    dataset.contacts.write_csv(out / "truth" / "contacts.csv")


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m bench.generate_synthetic --records 1m --out DIR [--seed N]``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", default="10k", help="10k, 100k, 1m or a number")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    dataset = generate(parse_size(args.records), seed=args.seed)
    write(dataset, args.out)
    print(f"wrote {sum(f.height for f in dataset.records.values()):,} records to {args.out}")


if __name__ == "__main__":
    main()
