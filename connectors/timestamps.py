"""Parse a source's ``updated_at`` text into one UTC instant, vectorised.

Survivorship prefers the most recent value, so every source's idea of "last
modified" must land on the same clock: ``Datetime("us", "UTC")``. Offsets in
the text win; naive wall-clock times are read in the source's time zone.
Anything that is not a real instant (``2023/02/30 10:00``, a time skipped by
a daylight-saving jump) parses to null, which mapping turns into a
quarantine reason naming the column and value.
"""

from __future__ import annotations

import re

import polars as pl

from connectors.config import UpdatedAtSpec

UTC = "UTC"
UTC_DATETIME = pl.Datetime("us", UTC)
# Chrono's `%#z` accepts `Z`, `+08`, `+0800` and `+08:00`; `%.f` accepts no fraction.
_ISO_WITH_OFFSET = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_ISO_DATE_TIME_SPACE = r"^(\d{4}-\d{2}-\d{2})[ t]"
_OFFSET_DIRECTIVE = re.compile(r"%[#:]*z")
_EPOCH_SCALE = {"epoch_s": 1_000_000, "epoch_ms": 1_000}
# 0001-01-01 .. 9999-12-31 in microseconds: beyond that a number is no instant.
_MIN_US, _MAX_US = -62_135_596_800_000_000, 253_402_300_799_999_999


def parse_timestamp(text: pl.Expr, *, spec: UpdatedAtSpec) -> pl.Expr:
    """Trimmed timestamp text -> ``Datetime("us", "UTC")``, null if not an instant.

    Args:
        text: String expression, already trimmed (empty -> null).
        spec: The source's ``updated_at`` entry (format and time zone).

    Example:
        >>> spec = UpdatedAtSpec(column="t", format="%Y/%m/%d %H:%M", timezone="Asia/Shanghai")
        >>> pl.select(parse_timestamp(pl.lit("2024/01/05 10:00"), spec=spec)).item()
        datetime.datetime(2024, 1, 5, 2, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    """
    if spec.format == "iso":
        return _parse_iso(text, timezone=spec.timezone)
    if spec.format in _EPOCH_SCALE:
        return _parse_epoch(text, micros_per_unit=_EPOCH_SCALE[spec.format])
    parsed = text.str.to_datetime(spec.format, strict=False, time_unit="us")
    if _OFFSET_DIRECTIVE.search(spec.format):
        return parsed.dt.convert_time_zone(UTC)
    return _localize(parsed, timezone=spec.timezone)


def _parse_iso(text: pl.Expr, *, timezone: str) -> pl.Expr:
    text = text.str.replace(_ISO_DATE_TIME_SPACE, "${1}T")
    with_offset = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _ISO_WITH_OFFSET]
    naive = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _ISO_NAIVE]
    return pl.coalesce(
        pl.coalesce(with_offset).dt.convert_time_zone(UTC),
        _localize(pl.coalesce(naive), timezone=timezone),
    )


def _parse_epoch(text: pl.Expr, *, micros_per_unit: int) -> pl.Expr:
    micros = (text.cast(pl.Float64, strict=False) * micros_per_unit).round()
    real = micros.is_finite() & micros.is_between(_MIN_US, _MAX_US)
    instant = pl.from_epoch(micros.cast(pl.Int64, strict=False), time_unit="us")
    return pl.when(real).then(instant).dt.replace_time_zone(UTC)


def _localize(naive: pl.Expr, *, timezone: str) -> pl.Expr:
    # Ambiguous wall-clock times (the repeated hour in autumn) take the first
    # occurrence, so the result is deterministic; skipped ones are not instants.
    return naive.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone(UTC)
