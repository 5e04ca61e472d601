"""PII masking for reports shared outside the audit team.

Masked: e-mail addresses (first character of the mailbox and the domain stay),
phone numbers (country code and last two digits stay), street addresses (first
two characters stay) and contact names (first character stays). Enough remains
for a reader to tell that two values differ or to recognise a company's domain,
not enough to contact anyone. Free text (quarantine reasons) has anything that
looks like an e-mail address or a phone number masked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import polars as pl

MASK = "•••"
EMAIL_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_TEXT = re.compile(r"\+?\d[\d\s().-]{5,}\d")
MIN_PHONE_DIGITS = 7  # shorter digit runs in free text are counts and row numbers
KEPT_PHONE_DIGITS = 2


def mask_email(value: str) -> str:
    """Keep the mailbox's first character and the domain.

    Example:
        >>> mask_email("zhang.xuanhao22@163.com")
        'z•••@163.com'
    """
    mailbox, at, domain = value.partition("@")
    if not at:
        return mask_generic(value)
    return f"{mailbox[:1]}{MASK}@{domain}"


def mask_phone(value: str) -> str:
    """Keep an E.164 country code (when there is one) and the last two digits.

    Example:
        >>> mask_phone("+862172806681"), mask_phone("021-5555")
        ('+86•••81', '•••55')
    """
    digits = re.sub(r"\D", "", value)
    if len(digits) <= KEPT_PHONE_DIGITS:
        return MASK
    prefix = f"+{digits[:2]}" if value.startswith("+") else ""
    return f"{prefix}{MASK}{digits[-KEPT_PHONE_DIGITS:]}"


def mask_generic(value: str, *, keep: int = 2) -> str:
    """Keep the first ``keep`` characters.

    Example:
        >>> mask_generic("滨江区友谊路24号"), mask_generic("Wei Wang", keep=1)
        ('滨江•••', 'W•••')
    """
    return f"{value[:keep]}{MASK}"


FIELD_MASKS: dict[str, Callable[[str], str]] = {
    "email": mask_email,
    "phone": mask_phone,
    "address": mask_generic,
    "contact_name": lambda value: mask_generic(value, keep=1),
}
PII_FIELDS: tuple[str, ...] = tuple(FIELD_MASKS)


def mask_value(field: str, value: object) -> object:
    """The masked form of a value of a canonical field (others are returned unchanged).

    Example:
        >>> mask_value("email", "li@acme.cn"), mask_value("city", "上海"), mask_value("phone", None)
        ('l•••@acme.cn', '上海', None)
    """
    if value is None or field not in FIELD_MASKS:
        return value
    return FIELD_MASKS[field](str(value))


def _mask_phone_match(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(re.sub(r"\D", "", text)) < MIN_PHONE_DIGITS:
        return text
    return mask_phone(text)


def mask_text(text: str) -> str:
    """Mask e-mail addresses and phone-like digit runs inside free text.

    Example:
        >>> mask_text("invalid e-mail 'li@acme.cn', phone +86 138 0013 8000, row 12")
        "invalid e-mail 'l•••@acme.cn', phone +86•••00, row 12"
    """
    text = EMAIL_TEXT.sub(lambda m: mask_email(m.group(0)), text)
    return PHONE_TEXT.sub(_mask_phone_match, text)


def _masked_column(frame: pl.DataFrame, column: str, field: str) -> pl.Series:
    mask = FIELD_MASKS[field]
    return frame[column].map_elements(mask, return_dtype=pl.String, skip_nulls=True)


def mask_field_columns(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Mask wide columns named after canonical fields (``email``, ``phone``, ...).

    Runs row by row in Python, which is fine for a report (one customer, or a
    handful of examples), never for a pipeline step.
    """
    masked = [
        _masked_column(frame, c, c).alias(c)
        for c in columns
        if c in FIELD_MASKS and c in frame.columns
    ]
    return frame.with_columns(masked) if masked else frame


def mask_long_values(
    frame: pl.DataFrame, *, field_column: str = "field", value_column: str = "value"
) -> pl.DataFrame:
    """Mask a long frame's value column according to the field named on each row."""
    if frame.is_empty() or value_column not in frame.columns:
        return frame
    pairs = zip(frame[field_column].to_list(), frame[value_column].to_list(), strict=True)
    masked = [mask_value(field, value) for field, value in pairs]
    return frame.with_columns(pl.Series(value_column, masked, dtype=pl.String))
