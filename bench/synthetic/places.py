"""Addresses in Chinese and US cities, with the codes phones and tax IDs use.

A Chinese address is district + street + number (+ building and floor); its
postcode is the city's prefix, the district's digit and two more. Pick-up
points (菜鸟驿站, parcel lockers, forwarding warehouses) are few per district,
so many customers' parcels share one address.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from bench import vocab
from bench.synthetic.draw import Draw, pick

PLACE_COLUMNS = (
    "address", "postcode", "city", "city_latin", "region", "country", "area_code", "admin_code",
)  # fmt: skip


def _cn_cities() -> tuple[Any, ...]:
    return tuple(vocab.sample_vocab().CN_CITIES)


def city_draw(draw: Draw, n: int) -> np.ndarray:
    """Indices into the Chinese cities, the big ones more often."""
    cities = _cn_cities()
    return draw.index(n, len(cities), np.array([c.weight for c in cities]))


def city_columns(index: np.ndarray) -> pl.DataFrame:
    """The city, its pinyin, region, phone area code and admin code per index."""
    cities = _cn_cities()
    return pl.DataFrame(
        {
            "city": pick([c.name for c in cities], index),
            "city_latin": pick([c.latin for c in cities], index),
            "region": pick([c.region for c in cities], index),
            "area_code": pick([c.area_code for c in cities], index),
            "admin_code": pick([c.admin_prefix for c in cities], index),
            "postcode_prefix": pick([c.postcode_prefix for c in cities], index),
        }
    )


def _districts(draw: Draw, city_i: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    cities = _cn_cities()
    counts = np.array([len(c.districts) for c in cities])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    local = (draw.rng.random(len(city_i)) * counts[city_i]).astype(np.int64)
    flat = [d for c in cities for d in c.districts]
    return pick(flat, offsets[city_i] + local), local


def chinese_places(draw: Draw, city_i: np.ndarray) -> pl.DataFrame:
    """One street address per row in the given cities."""
    n = len(city_i)
    v = vocab.sample_vocab()
    district, district_i = _districts(draw, city_i)
    building = draw.choose(n, v.CN_BUILDINGS) + draw.choose(n, v.CN_BUILDING_KINDS)
    floor = pl.Series(draw.rng.integers(1, 40, n)).cast(pl.String)
    with_building = pl.Series(draw.chance(n, 0.45))
    street = draw.choose(n, v.CN_STREETS)
    house = pl.Series(draw.rng.integers(1, 1500, n)).cast(pl.String)
    frame = city_columns(city_i).with_columns(
        district=district,
        address=district
        + street
        + house
        + "号"
        + pl.select(
            pl.when(pl.lit(with_building))
            .then(pl.lit(building) + pl.lit(floor) + "楼")
            .otherwise(pl.lit(""))
        ).to_series(),
        postcode=pl.lit(pl.Series(district_i % 10).cast(pl.String))
        + pl.lit(pl.Series(draw.rng.integers(0, 100, n)).cast(pl.String).str.zfill(2)),
    )
    return frame.with_columns(
        (pl.col("postcode_prefix") + pl.col("postcode")).alias("postcode"),
        pl.lit("CN").alias("country"),
    ).select(*PLACE_COLUMNS, "district")


def us_places(draw: Draw, n: int) -> pl.DataFrame:
    """One US street address per row."""
    v = vocab.sample_vocab()
    city_i = draw.index(n, len(vocab.US_CITIES))
    streets = list(v.EN_STREET_NAMES)
    kinds = [k for k, _ in vocab.EN_STREET_KINDS]
    suite = pl.Series(draw.rng.integers(1, 30, n)).cast(pl.String)
    with_suite = pl.Series(draw.chance(n, 0.35))
    address = (
        pl.Series(draw.rng.integers(1, 9000, n)).cast(pl.String)
        + " "
        + draw.choose(n, streets)
        + " "
        + draw.choose(n, kinds)
    )
    address = pl.select(
        pl.when(pl.lit(with_suite))
        .then(pl.lit(address) + ", Suite " + pl.lit(suite) + "00")
        .otherwise(pl.lit(address))
    ).to_series()
    area = [c[2][0] for c in vocab.US_CITIES]
    return pl.DataFrame(
        {
            "address": address,
            "postcode": pick([c[3] for c in vocab.US_CITIES], city_i)
            + pl.Series(draw.rng.integers(0, 100, n)).cast(pl.String).str.zfill(2),
            "city": pick([c[0] for c in vocab.US_CITIES], city_i),
            "city_latin": pick([c[0] for c in vocab.US_CITIES], city_i),
            "region": pick([c[1] for c in vocab.US_CITIES], city_i),
            "country": pl.Series(["US"] * n, dtype=pl.String),
            "area_code": pick(area, city_i),
            "admin_code": pl.Series([""] * n, dtype=pl.String),
            "district": pl.Series([""] * n, dtype=pl.String),
        }
    )


def places(draw: Draw, chinese: np.ndarray, *, city_i: np.ndarray | None = None) -> pl.DataFrame:
    """An address per row: Chinese where ``chinese``, US elsewhere."""
    n = len(chinese)
    cn = chinese_places(draw, city_draw(draw, n) if city_i is None else city_i)
    us = us_places(draw, n)
    flag = pl.lit(pl.Series(chinese))
    return cn.select(
        pl.when(flag).then(pl.col(c)).otherwise(pl.lit(us[c])).alias(c)
        for c in (*PLACE_COLUMNS, "district")
    )


def pickup_points(draw: Draw, homes: pl.DataFrame) -> pl.Series:
    """A pick-up point or forwarding warehouse near each home: few per district.

    Chinese: district + one of a handful of streets + the operator's name
    (菜鸟驿站) + a small number, so customers of one district share a few of them.
    US: a parcel forwarder's warehouse, one of three per city.
    """
    n = homes.height
    v = vocab.sample_vocab()
    street = draw.choose(n, v.CN_STREETS[:4])
    operator = draw.choose(n, vocab.CN_PICKUP_POINTS)
    number = pl.Series(draw.rng.integers(1, 4, n)).cast(pl.String)
    warehouse = pl.Series(draw.rng.integers(1, 4, n)).cast(pl.String)
    return homes.select(
        pl.when(pl.col("country") == "CN")
        .then(pl.col("district") + pl.lit(street) + pl.lit(operator) + pl.lit(number) + "号点")
        .otherwise("Parcel Forwarding Warehouse " + pl.lit(warehouse) + ", " + pl.col("city"))
    ).to_series()
