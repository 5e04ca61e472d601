"""Record ids, row order, the four export files and the ground truth.

Byte-for-byte reproducibility lives here: every file is written from sorted
lists with an explicit encoding and explicit line endings.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

from .defects import BAD_BYTES_MARK
from .render import ABSENT, COLUMNS, FIELD_COLUMNS, ID_COLUMN, Record
from .world import Entity, World

FILES = {
    "crm": "crm_customers.csv",
    "erp": "erp_customers.csv",
    "ecommerce": "ecommerce_customers.jsonl",
    "tickets": "tickets.csv",
}
ID_FORMAT = {"crm": "CRM-{:06d}", "erp": "KH{:06d}", "ecommerce": "EC-{:06d}"}
TRUTH_FIELDS = (
    "customer_type",
    "name",
    "contact_name",
    "email",
    "phone",
    "address",
    "postcode",
    "city",
    "region",
    "country",
    "industry",
    "size_band",
    "tax_id",
    "tier",
)
TRUTH_README = """\
# Ground truth for the sample exports

Evaluation only: the pipeline never reads these files. Regenerate with
`python data/samples/generate.py` (see ../README.md).

- `records.csv`: source_system, source_record_id, entity_id; one row per valid source record.
- `entities.csv`: the true current values of each customer, in canonical form
  (official simplified-Chinese or English name, lower-case e-mail, E.164 phone,
  tier S/A/B/C). A field is empty when no valid record of that entity carries it.
- `invalid_rows.csv`: the rows a loader must quarantine, with their defect;
  row_number is the 1-based record ordinal in the file (CSV header not counted,
  a quoted newline does not start a record; JSONL physical line).
- `near_misses.csv`: pairs of distinct entities built to look alike
  (same brand in another city, branch vs parent, people sharing a name).
"""


def assign_ids(rng: random.Random, records: list[Record]) -> dict[str, list[Record]]:
    """Ids in random order (they must not leak the entity), files sorted by id.

    Tickets are numbered in creation order, as helpdesks do. Rows without an id
    and older duplicate saves are dropped in at random places.
    """
    by_source: dict[str, list[Record]] = {s: [] for s in FILES}
    for record in records:
        by_source[record.source].append(record)
    ordered: dict[str, list[Record]] = {}
    for source, rows in by_source.items():
        numbered = [r for r in rows if r.defect not in ("missing_id", "duplicate_id")]
        loose = [r for r in rows if r.defect in ("missing_id", "duplicate_id")]
        if source == "tickets":
            numbered.sort(key=lambda r: (r.ts, r.entity_id))
            number = 1000
            for record in numbered:
                number += rng.randint(1, 3)
                record.record_id = f"T-{number:07d}"
        else:
            rng.shuffle(numbered)
            numbers = sorted(rng.sample(range(1, 10 * len(numbered)), len(numbered)))
            for record, number in zip(numbered, numbers, strict=True):
                record.record_id = ID_FORMAT[source].format(number)
            numbered.sort(key=lambda r: r.record_id)
        for record in loose:
            if record.duplicate_of is not None:
                record.record_id = record.duplicate_of.record_id
            numbered.insert(rng.randrange(len(numbered) + 1), record)
        for record in numbered:
            record.row[ID_COLUMN[source]] = record.record_id
        ordered[source] = numbered
    return ordered


def add_embedded_newlines(rng: random.Random, crm: list[Record], world: World, n: int) -> None:
    """A few CRM streets were typed on two lines; the export keeps the line break."""
    entities = {e.entity_id: e for e in world.entities}
    eligible = []
    for record in crm:
        line2 = entities[record.entity_id].address.line2
        street = record.row["street"]
        if not record.defect and line2 and street.endswith(line2) and "\n" not in street:
            eligible.append((record, line2))
    for record, line2 in rng.sample(eligible, n):
        head = record.row["street"][: -len(line2)].rstrip(", ")
        record.row["street"] = f"{head}\n{line2}"


def _csv_line(values: list[str]) -> str:
    """One CSV record without its terminator (line breaks inside fields get quoted)."""
    buffer = io.StringIO()
    # The csv module only quotes characters of its own line terminator, so keep "\r\n" here.
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()[:-2]


def _csv_fields(record: Record, source: str) -> list[str]:
    """The row's fields in column order, broken the way its defect asks for."""
    values = [str(record.row.get(c, "")) for c in COLUMNS[source]]
    if record.field_count == "split_name":
        name_at = COLUMNS[source].index("account_name")
        name = values[name_at]
        # "Harbor Foods, GmbH" / "上海星辰贸易,有限公司": the legal form lands in the next column.
        cut = name.rfind(" ") if " " in name else name.find("有限")
        cut = cut if cut > 0 else len(name) // 2
        values[name_at : name_at + 1] = [name[:cut].rstrip(), name[cut:].lstrip()]
    elif record.field_count == "cut_short":
        values = values[:-2]
    return values


def write_csv(path: Path, source: str, rows: list[Record], encoding: str, newline: str) -> None:
    """Header + rows, then the invalid GB18030 bytes patched into the encoded text."""
    lines = [_csv_line(list(COLUMNS[source]))]
    lines += [_csv_line(_csv_fields(record, source)) for record in rows]
    text = newline.join(lines) + newline
    data = text.encode(encoding)
    data = data.replace(BAD_BYTES_MARK.encode("ascii"), b"\xff\xfe")
    path.write_bytes(data)


def _nest(row: dict[str, Any]) -> dict[str, Any]:
    """Dotted column paths back into the shop's nested JSON (absent keys left out)."""
    obj: dict[str, Any] = {}
    for column in COLUMNS["ecommerce"]:
        value = row.get(column, ABSENT)
        if value is ABSENT:
            continue
        parts = column.split(".")
        target = obj
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return obj


def write_jsonl(path: Path, rows: list[Record]) -> None:
    lines = []
    for record in rows:
        text = json.dumps(_nest(record.row), ensure_ascii=False)
        if record.truncate_at:
            text = text[: int(len(text) * record.truncate_at)]
        lines.append(text)
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def write_exports(out: Path, exports: dict[str, list[Record]]) -> None:
    write_csv(out / FILES["crm"], "crm", exports["crm"], "utf-8", "\r\n")
    write_csv(out / FILES["erp"], "erp", exports["erp"], "gb18030", "\r\n")
    write_jsonl(out / FILES["ecommerce"], exports["ecommerce"])
    write_csv(out / FILES["tickets"], "tickets", exports["tickets"], "utf-8", "\n")


def _carried(record: Record) -> set[str]:
    """Canonical fields for which this record has a non-empty value."""
    fields = set()
    for fieldname, columns in FIELD_COLUMNS[record.source].items():
        for column in columns:
            value = record.row.get(column)
            if value is not None and value is not ABSENT and str(value).strip():
                fields.add(fieldname)
    fields.add("customer_type")  # tickets: an empty company column means "person"
    return fields


def _truth_values(entity: Entity) -> dict[str, str]:
    company = entity.customer_type == "company"
    return {
        "customer_type": entity.customer_type,
        "name": entity.name.full,
        "contact_name": entity.contact.full if company and entity.contact else "",
        "email": entity.email.lower(),
        "phone": entity.phone,
        "address": entity.address.full,
        "postcode": entity.address.postcode,
        "city": entity.address.city,
        "region": entity.address.region,
        "country": entity.country,
        "industry": entity.industry or "",
        "size_band": entity.size_band or "",
        "tax_id": entity.tax_id or "",
        "tier": entity.tier,
    }


def _write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def write_truth(out: Path, world: World, exports: dict[str, list[Record]]) -> None:
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    valid = [r for rows in exports.values() for r in rows if not r.defect]
    _write_table(
        truth / "records.csv",
        ["source_system", "source_record_id", "entity_id"],
        sorted([r.source, r.record_id, r.entity_id] for r in valid),
    )
    known: dict[str, set[str]] = {}
    for record in valid:
        known.setdefault(record.entity_id, set()).update(_carried(record))
    entity_rows = []
    for entity in world.entities:
        values = _truth_values(entity)
        carried = known.get(entity.entity_id, set())
        entity_rows.append(
            [entity.entity_id] + [values[f] if f in carried else "" for f in TRUTH_FIELDS]
        )
    _write_table(truth / "entities.csv", ["entity_id", *TRUTH_FIELDS], entity_rows)
    invalid_rows = []
    for source, rows in exports.items():
        for number, record in enumerate(rows, start=1):
            if record.defect:
                invalid_rows.append(
                    [source, FILES[source], str(number), record.record_id, record.defect]
                )
    invalid_rows.sort(key=lambda r: (r[0], int(r[2])))
    _write_table(
        truth / "invalid_rows.csv",
        ["source_system", "source_file", "row_number", "source_record_id", "defect"],
        invalid_rows,
    )
    _write_table(
        truth / "near_misses.csv",
        ["entity_a", "entity_b", "kind"],
        [[m.entity_a, m.entity_b, m.kind] for m in world.near_misses],
    )
    (truth / "README.md").write_bytes(TRUTH_README.encode("utf-8"))
