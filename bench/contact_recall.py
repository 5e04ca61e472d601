"""Contact-person recall: are a company's true contacts found under the right customer?

Issue 26 asks for >= 0.95 of true contact persons in ``customer_contacts`` under the
company they act for. The synthetic generator writes them (``truth/contacts.csv``:
``entity_id, contact_no, name, email, phone, records``). A true contact counts when

- it appears in some export (``records`` > 0: a contact no record names cannot be
  found by anyone), and
- its company is judged (``pipelines.evaluation.fields.entity_golden_pairs``: the
  company stands behind some unified ID; an absorbed company is a matching error the
  clustering scores charge);

it is *found* when a ``customer_contacts`` row of that unified ID holds its e-mail,
its mobile or its full name (after the field-accuracy normalisation: an ERP record
often names the contact but gives the company's info@ mailbox and main line), and
*named* when such a row holds its full name (a row holding only its e-mail under
张先生 or 'zhang wei' is found, not named).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.evaluation.clusters import require_columns
from pipelines.evaluation.fields import entity_golden_pairs, normalise_phone, normalise_text

TRUTH_CONTACT_COLUMNS = ("entity_id", "name", "email", "phone", "records")


@dataclass(frozen=True)
class ContactRecall:
    """How many true contacts were judged, found and found under their full name."""

    judged: int
    found: int
    named: int
    unfindable: int

    @property
    def recall(self) -> float | None:
        """Share of judged contacts found under their company."""
        return self.found / self.judged if self.judged else None

    @property
    def named_recall(self) -> float | None:
        """Share of judged contacts found with their full name."""
        return self.named / self.judged if self.judged else None


def _norm(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.with_columns(
        normalise_text(frame["name"]).alias(f"{prefix}name"),
        normalise_text(frame["email"]).alias(f"{prefix}email"),
        normalise_phone(frame["phone"]).alias(f"{prefix}phone"),
    )


def contact_recall(
    contacts: pl.DataFrame,
    xref: pl.DataFrame,
    truth_records: pl.DataFrame,
    truth_contacts: pl.DataFrame,
) -> ContactRecall:
    """Score ``customer_contacts`` against the true contacts (see the module docstring).

    Args:
        contacts: ``unified_id``, ``name``, ``email``, ``phone`` (``customer_contacts``).
        xref: ``source_system``, ``source_record_id``, ``unified_id``.
        truth_records: ``source_system``, ``source_record_id``, ``entity_id``.
        truth_contacts: ``entity_id``, ``name``, ``email``, ``phone``, ``records``.
    """
    require_columns(contacts, ("unified_id", "name", "email", "phone"), "contacts")
    require_columns(truth_contacts, TRUTH_CONTACT_COLUMNS, "truth_contacts")
    seen = truth_contacts.with_columns(pl.col("records").cast(pl.Int64))
    unfindable = int((seen["records"] <= 0).sum())
    true = _norm(
        seen.filter(pl.col("records") > 0)
        .with_row_index("_contact")
        .join(entity_golden_pairs(xref, truth_records), on="entity_id", how="inner"),
        "t_",
    )
    rows = _norm(contacts.select("unified_id", "name", "email", "phone"), "c_")
    pairs = true.join(rows, on="unified_id", how="left")
    named = (pl.col("t_name") == pl.col("c_name")).fill_null(False)
    same = (
        (pl.col("t_email") == pl.col("c_email")).fill_null(False)
        | ((pl.col("t_phone") == pl.col("c_phone")) & (pl.col("t_phone") != "")).fill_null(False)
        | named
    )
    per_contact = pairs.group_by("_contact").agg(
        same.any().alias("found"), named.any().alias("named")
    )
    return ContactRecall(
        judged=true.height,
        found=int(per_contact["found"].sum()),
        named=int(per_contact["named"].sum()),
        unfindable=unfindable,
    )
