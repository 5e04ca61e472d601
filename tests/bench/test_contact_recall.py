"""Contact-person recall (bench.contact_recall): true contacts found under the right company."""

from __future__ import annotations

import polars as pl
import pytest

from bench.contact_recall import ContactRecall, contact_recall

XREF = pl.DataFrame(
    {
        "source_system": ["crm", "erp", "tickets", "crm"],
        "source_record_id": ["1", "2", "3", "4"],
        "unified_id": ["U1", "U1", "U1", "U2"],
    }
)
RECORDS = pl.DataFrame(
    {
        "source_system": ["crm", "erp", "tickets", "crm"],
        "source_record_id": ["1", "2", "3", "4"],
        "entity_id": ["E1", "E1", "E1", "E2"],
    }
)
# E1 has three contacts (one in no export), E2 one.
TRUTH = pl.DataFrame(
    {
        "entity_id": ["E1", "E1", "E1", "E2"],
        "name": ["罗晨", "Peter Stockdale", "赵德新", "Lucy Taylor"],
        "email": ["chen.luo@acme.cn", "pstockdale@acme.com", "dx.zhao@acme.cn", "lucy@b.com"],
        "phone": ["+8613800138000", "+12124353153", "+8613900139000", "+13039275920"],
        "records": ["2", "1", "0", "1"],
    }
)


@pytest.mark.parametrize(
    ("contacts", "expected"),
    [
        pytest.param(
            [("U1", "罗晨", "chen.luo@acme.cn", None), ("U1", "Peter Stockdale", None, None),
             ("U2", "Lucy Taylor", "LUCY@b.com", None)],
            ContactRecall(judged=3, found=3, named=3, unfindable=1),
            id="all-found-by-mail-or-name",
        ),
        pytest.param(
            [("U1", "罗先生", None, "+86 138 0013 8000"), ("U2", "Lucy", "lucy@b.com", None)],
            ContactRecall(judged=3, found=2, named=0, unfindable=1),
            id="found-by-mobile-or-mail-not-named",
        ),
        pytest.param(
            [("U2", "罗晨", "chen.luo@acme.cn", None)],
            ContactRecall(judged=3, found=0, named=0, unfindable=1),
            id="under-the-wrong-company-is-not-found",
        ),
        pytest.param([], ContactRecall(judged=3, found=0, named=0, unfindable=1), id="no-contacts"),
    ],
)  # fmt: skip
def test_contact_recall(
    contacts: list[tuple[str, str | None, str | None, str | None]], expected: ContactRecall
) -> None:
    table = pl.DataFrame(
        contacts,
        schema={"unified_id": pl.String, "name": pl.String, "email": pl.String, "phone": pl.String},
        orient="row",
    )
    assert contact_recall(table, XREF, RECORDS, TRUTH) == expected


def test_recall_shares() -> None:
    score = ContactRecall(judged=4, found=3, named=1, unfindable=2)
    assert (score.recall, score.named_recall) == (0.75, 0.25)
    assert ContactRecall(judged=0, found=0, named=0, unfindable=0).recall is None
