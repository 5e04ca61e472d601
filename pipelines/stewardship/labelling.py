"""What ``fusion label`` does without the CLI: pick informative pairs, keep the answers.

The answers live in ``DIR/labels.csv`` beside the releases (like the stewards'
``stewardship.duckdb``): append-only, one line per answer with both records'
source keys, the answer (yes / no / unsure), who answered and when. The latest
answer on a pair wins; older ones stay as the trail. A run that learns its model
(the first run, ``fusion run --retrain``) learns from them (``matching.labels``).

Which pairs to ask about is uncertainty sampling (dedupe's active learning): the
current release's scored pairs whose match weight (log2 odds) is closest to 0,
i.e. probability closest to 0.5, skipping pairs already answered or decided by a
steward. Uncertain pairs come in runs of one level pattern and of one record (a
record with many near-duplicates); asking about each would spend the labeller's
answers on one question (to the model, pairs with the same levels are one pair),
so a batch takes the most uncertain pair of each level pattern before any
pattern's second, and never shows one record twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from connectors.errors import FusionError
from matching.labels import ANSWERS, LABEL_SCHEMA, NO, UNSURE, YES
from pipelines.stewardship.store import StewardshipStore, parse_record_key
from pipelines.warehouse import Warehouse

LABELS_NAME = "labels.csv"
KEYS = (
    "left_source_system", "left_source_record_id",
    "right_source_system", "right_source_record_id",
)  # fmt: skip
SHORT_ANSWERS = {"y": YES, "n": NO, "u": UNSURE, "1": YES, "0": NO, "true": YES, "false": NO}
POOL_PER_PAIR = 50
"""How many of the most uncertain pairs are read per pair asked for (the rest are skipped)."""
# What a labeller sees of each record, in this order, when the release holds it.
SHOWN_FIELDS = (
    "customer_type", "name", "contact_name", "email", "phone", "tax_id", "birth_date",
    "address", "postcode", "city", "region", "country",
)  # fmt: skip


class LabelError(FusionError):
    """An answer names something that does not exist, or says something unknown."""


def normalise_answer(text: str) -> str:
    """'y' / 'Yes' / '1' -> 'yes'; 'n' -> 'no'; 'u' -> 'unsure'.

    Example:
        >>> normalise_answer(" Y ")
        'yes'
    """
    answer = text.strip().lower()
    answer = SHORT_ANSWERS.get(answer, answer)
    if answer not in ANSWERS:
        msg = f"answer {text!r}: expected yes, no or unsure (y/n/u)"
        raise LabelError(msg)
    return answer


@dataclass(frozen=True)
class LabelStore:
    """The labels file of one warehouse folder."""

    root: Path

    @property
    def path(self) -> Path:
        """``DIR/labels.csv``."""
        return self.root / LABELS_NAME

    def read(self) -> pl.DataFrame:
        """Every answer, oldest first (an empty frame before the first)."""
        if not self.path.exists():
            return pl.DataFrame(schema=LABEL_SCHEMA)
        frame = pl.read_csv(self.path, infer_schema=False)
        return frame.select(
            *KEYS,
            "answer",
            "labeller",
            pl.col("labelled_at").str.to_datetime(time_zone="UTC", time_unit="us"),
        ).sort("labelled_at", maintain_order=True)

    def append(self, rows: pl.DataFrame) -> None:
        """Append answers (``LABEL_SCHEMA``); the header is written with the first."""
        self.root.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        text = rows.select(LABEL_SCHEMA.keys()).write_csv(include_header=new)
        with self.path.open("a", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()


def answered_pairs(warehouse_dir: Path) -> pl.DataFrame:
    """Both orders of every pair answered or decided by a steward (``KEYS``)."""
    root = Path(warehouse_dir).resolve()
    done = pl.concat(
        [
            LabelStore(root).read().select(KEYS),
            StewardshipStore(root).link_decisions().select(KEYS),
        ]
    )
    swapped = done.select(
        pl.col("right_source_system").alias("left_source_system"),
        pl.col("right_source_record_id").alias("left_source_record_id"),
        pl.col("left_source_system").alias("right_source_system"),
        pl.col("left_source_record_id").alias("right_source_record_id"),
    )
    return pl.concat([done, swapped]).unique()


def most_uncertain(warehouse_dir: Path, *, pool: int) -> pl.DataFrame:
    """The ``pool`` scored pairs of the current release nearest p = 0.5 not answered yet.

    Ordered by |match weight| (log2 odds), then by the pair's keys (stable), each
    level pattern's nearest pair before any pattern's second nearest.
    """
    warehouse = Warehouse(Path(warehouse_dir).resolve())
    done = answered_pairs(warehouse_dir)
    release = warehouse.current_release()
    columns = (
        []
        if release is None
        else warehouse.table_columns(release=release).get("match_evidence", [])
    )
    if not columns:
        msg = f"no published warehouse with table 'match_evidence' at {warehouse_dir}"
        raise FusionError(msg)
    keys = ", ".join(f'e."{k}"' for k in KEYS)
    levels = ", ".join(f'e."{c}"' for c in columns if c.endswith("_level")) or "NULL"
    # Pairs with the same levels are one question to the model: each level pattern's
    # most uncertain pair comes first, then each one's second, and so on.
    sql = f"""
        SELECT e.*
        FROM match_evidence e
        ANTI JOIN answered a USING ({", ".join(KEYS)})
        ORDER BY row_number() OVER (PARTITION BY {levels} ORDER BY abs(e.match_weight), {keys}),
                 abs(e.match_weight), {keys}
        LIMIT {int(pool)}
    """
    found = warehouse.query(sql, frames={"answered": done})
    assert found is not None  # the table exists: read above
    return found


def diverse(candidates: pl.DataFrame, *, count: int) -> pl.DataFrame:
    """Up to ``count`` pairs in the given order, each record at most once, patterns spread.

    The first pass takes one pair per level pattern; later passes allow a pattern
    again. A record already shown is never shown again in the batch.

    Example:
        >>> pairs = pl.DataFrame({"left_source_system": ["a"] * 3,
        ...     "left_source_record_id": ["1", "1", "2"], "right_source_system": ["a"] * 3,
        ...     "right_source_record_id": ["2", "3", "4"], "name_level": ["exact"] * 3})
        >>> diverse(pairs, count=3)["right_source_record_id"].to_list()
        ['2']
    """
    levels = [c for c in candidates.columns if c.endswith("_level")]
    rows = candidates.select(
        pl.format("{}:{}", "left_source_system", "left_source_record_id").alias("_l"),
        pl.format("{}:{}", "right_source_system", "right_source_record_id").alias("_r"),
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in levels], separator="|")
        if levels
        else pl.lit(""),
    ).rows()
    chosen: list[int] = []
    seen_records: set[str] = set()
    pattern_uses: dict[str, int] = {}
    for allowed in range(1, count + 1):
        for i, (left, right, pattern) in enumerate(rows):
            if len(chosen) >= count:
                break
            if left in seen_records or right in seen_records:
                continue
            if pattern_uses.get(pattern, 0) >= allowed:
                continue
            chosen.append(i)
            seen_records.update((left, right))
            pattern_uses[pattern] = pattern_uses.get(pattern, 0) + 1
        if len(chosen) >= count:
            break
    return candidates[sorted(chosen)]


def next_pairs(warehouse_dir: Path, *, count: int) -> pl.DataFrame:
    """The ``count`` most informative unanswered pairs: keys, probability, weight, levels."""
    candidates = most_uncertain(warehouse_dir, pool=max(count, 1) * POOL_PER_PAIR)
    picked = diverse(candidates, count=count)
    levels = [c for c in picked.columns if c.endswith("_level")]
    return picked.select(*KEYS, "match_probability", "match_weight", *levels)


def records_of(warehouse_dir: Path, pairs: pl.DataFrame) -> dict[tuple[str, str], dict[str, str]]:
    """(source, record id) -> the standardised values a labeller sees, both sides of ``pairs``."""
    warehouse = Warehouse(Path(warehouse_dir).resolve())
    wanted = pl.concat(
        [
            pairs.select(
                pl.col(f"{side}_source_system").alias("source_system"),
                pl.col(f"{side}_source_record_id").alias("source_record_id"),
            )
            for side in ("left", "right")
        ]
    ).unique()
    records = warehouse.query(
        "SELECT s.* FROM standardised_records s SEMI JOIN wanted w "
        "USING (source_system, source_record_id)",
        frames={"wanted": wanted},
    )
    if records is None:
        return {}
    fields = [f for f in SHOWN_FIELDS if f in records.columns]
    out: dict[tuple[str, str], dict[str, str]] = {}
    for row in records.select("source_system", "source_record_id", *fields).iter_rows(named=True):
        key = (str(row.pop("source_system")), str(row.pop("source_record_id")))
        out[key] = {k: "" if v is None else str(v) for k, v in row.items()}
    return out


def pair_key(left: str, right: str) -> dict[str, str]:
    """The four key columns of a pair of 'SOURCE:ID' keys."""
    (ls, lr), (rs, rr) = parse_record_key(left), parse_record_key(right)
    if (ls, lr) == (rs, rr):
        msg = f"record {left!r} cannot be labelled against itself"
        raise LabelError(msg)
    return dict(zip(KEYS, (ls, lr, rs, rr), strict=True))


def answers_frame(
    answers: Iterable[tuple[str, str, str]], *, labeller: str, at: datetime | None = None
) -> pl.DataFrame:
    """``LABEL_SCHEMA`` rows of (left 'SOURCE:ID', right 'SOURCE:ID', answer)."""
    if not labeller.strip():
        msg = "--labeller is required: every answer says who gave it"
        raise LabelError(msg)
    when = at or datetime.now(UTC)
    rows = [
        {**pair_key(left, right), "answer": normalise_answer(answer), "labeller": labeller,
         "labelled_at": when}
        for left, right, answer in answers
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=LABEL_SCHEMA)


def read_answers_file(path: Path) -> list[tuple[str, str, str]]:
    """(left, right, answer) from a CSV with columns ``left,right,answer``.

    ``left`` and ``right`` are 'SOURCE:ID' keys (as ``fusion label --list`` prints
    them); ``answer`` is yes / no / unsure (or y / n / u, 1 / 0).
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        msg = f"answers file {path}: {error.strerror or error}"
        raise LabelError(msg) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"left", "right", "answer"} - set(reader.fieldnames or ())
    if missing:
        msg = f"answers file {path}: missing column(s) {', '.join(sorted(missing))}"
        raise LabelError(msg)
    return [(row["left"], row["right"], row["answer"]) for row in reader]


def _require_records(warehouse_dir: Path, answers: pl.DataFrame) -> None:
    warehouse = Warehouse(Path(warehouse_dir).resolve())
    xref = warehouse.read_table("customer_xref", columns=["source_system", "source_record_id"])
    if xref is None:
        msg = f"no published warehouse at {warehouse_dir}"
        raise FusionError(msg)
    for side in ("left", "right"):
        unknown = answers.select(
            pl.col(f"{side}_source_system").alias("source_system"),
            pl.col(f"{side}_source_record_id").alias("source_record_id"),
        ).join(xref, on=["source_system", "source_record_id"], how="anti")
        if unknown.height:
            source, record = unknown.row(0)
            msg = f"record '{source}:{record}' is not in the published warehouse"
            raise LabelError(msg)


def record_answers(warehouse_dir: Path, answers: pl.DataFrame) -> int:
    """Validate that every record exists, then append the answers (under the warehouse lock)."""
    if not answers.height:
        return 0
    _require_records(warehouse_dir, answers)
    warehouse = Warehouse(Path(warehouse_dir).resolve())
    with warehouse.lock():
        LabelStore(warehouse.root).append(answers)
    return answers.height
