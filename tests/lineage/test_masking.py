"""PII masking: table-driven, per field and inside free text."""

from __future__ import annotations

import polars as pl
import pytest

from lineage.masking import mask_field_columns, mask_long_values, mask_text, mask_value


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("email", "zhang.xuanhao22@163.com", "z•••@163.com"),
        ("email", "not-an-email", "no•••"),
        ("phone", "+862172806681", "+86•••81"),
        ("phone", "021-5555", "•••55"),
        ("phone", "12", "•••"),
        ("address", "静安区新华路32号", "静安•••"),
        ("address", "1 Century Avenue, Floor 3", "1 •••"),
        ("contact_name", "Wei Wang", "W•••"),
        ("name", "Acme Ltd", "Acme Ltd"),  # a company name is not masked
        ("city", "上海", "上海"),
        ("email", None, None),
    ],
)
def test_mask_value(field: str, value: str | None, expected: str | None) -> None:
    assert mask_value(field, value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invalid e-mail 'li@acme.cn'", "invalid e-mail 'l•••@acme.cn'"),
        ("phone +86 138 0013 8000 is invalid", "phone +86•••00 is invalid"),
        ("expected 16 fields, found 17 (row 1508)", "expected 16 fields, found 17 (row 1508)"),
        ("column 'tier': unmapped value 'Z'", "column 'tier': unmapped value 'Z'"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_frames() -> None:
    wide = pl.DataFrame({"email": ["li@acme.cn", None], "city": ["上海", "北京"]})
    assert mask_field_columns(wide, ["email", "city", "phone"]).rows() == [
        ("l•••@acme.cn", "上海"),
        (None, "北京"),
    ]
    long = pl.DataFrame(
        {"field": ["email", "name", "phone"], "value": ["a@b.cn", "Acme", "+8613800138000"]}
    )
    assert mask_long_values(long)["value"].to_list() == ["a•••@b.cn", "Acme", "+86•••00"]
    assert mask_long_values(pl.DataFrame()).is_empty()
