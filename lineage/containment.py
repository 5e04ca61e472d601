"""Which candidate values of one customer and field agree with, or contain, which others.

Trust's corroboration, completeness and ``confirmed_at`` (``lineage.trust``) read
one relation: value *n* contains value *m* (normalised, *m* at least
``min_contained_chars`` long). Joining every candidate with every other
candidate of its customer and field found it, at a cost that grows with the
square of the cluster: a 50,000-record cluster made 2.5 billion rows per field,
and a run with an 18,840-record cluster was killed at 24 GB in this step.

Here the relation is found between *distinct* values, in two ways that give the
same pairs:

- a customer and field with few distinct values (``PAIRWISE_VALUES``, as every
  real customer has) compares them pairwise, as before;
- one with more generates each value's substrings of the lengths that can be
  contained (``min_contained_chars`` up to one less than its own) and looks them up
  among the distinct values: linear in the values, bounded by the square of a
  value's length, and done ``SUBSTRING_ROWS`` substrings at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

# Distinct values of one customer and field up to which they are compared pairwise
# (at most PAIRWISE_VALUES² comparisons for that group; a substring search costs about
# half a value's length squared per value, 200 and more for an address).
PAIRWISE_VALUES = 64
# Substrings generated at once for the customers and fields above PAIRWISE_VALUES
# (each row a short string and three integers: about 100 MB a batch).
SUBSTRING_ROWS = 2_000_000
GROUP = ("unified_id", "field")


def normalised_value(value: pl.Expr) -> pl.Expr:
    """The value as compared for corroboration: lower-cased, only letters and digits kept.

    Example:
        >>> pl.select(normalised_value(pl.lit(" Acme  Ltd. "))).item()
        'acmeltd'
    """
    return value.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", "")


def containment(candidates: pl.DataFrame, *, min_contained_chars: int) -> pl.DataFrame:
    """Per candidate: ``support``, ``is_fragment`` and ``confirmed_at``, in candidate order.

    ``support`` counts the *other* source systems in the cluster whose value,
    normalised, equals this one or (being at least ``min_contained_chars``
    long) is contained in it: a truncated address or a name without its legal
    form agrees with everything the complete value says, so it corroborates
    the complete value, not the reverse.

    ``is_fragment`` marks a value that is a proper part of another candidate's
    value for the same customer and field (from any source): 'Ember Trading'
    beside 'Ember Trading GmbH', '滨江区友谊路24号' beside the same address with
    its building and floor. Survivorship downgrades it for completeness.

    ``confirmed_at`` is the latest timestamp of any candidate (this one
    included) holding the same value or a part of it: a fresh export that
    repeats an address, even truncated, confirms that the address is still
    current, so the full address is as fresh as its freshest confirmation.

    Example:
        >>> cands = pl.DataFrame({"unified_id": ["u"] * 3, "field": ["name"] * 3,
        ...     "value": ["Ember Trading GmbH", "Ember Trading", "ember trading"],
        ...     "source_system": ["crm", "erp", "shop"], "source_updated_at": [None] * 3})
        >>> containment(cands, min_contained_chars=4)["support"].to_list()
        [2, 1, 1]
    """
    keyed = candidates.select(
        *GROUP,
        "source_system",
        "source_updated_at",
        normalised_value(pl.col("value")).alias("_norm"),
    )
    values = (
        keyed.group_by(*GROUP, "_norm")
        .agg(
            pl.col("source_system").unique().alias("_systems"),
            pl.col("source_updated_at").max().alias("_at"),
        )
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_v"),
            pl.len().over(GROUP).alias("_distinct"),
        )
    )
    contained = _contained_pairs(values, min_contained_chars=min_contained_chars)
    # Each value with itself and with every value it contains: whose sources and
    # timestamps agree with it.
    agreeing = pl.concat([values.select("_v", pl.col("_v").alias("_m")), contained])
    by_value = (
        agreeing.join(values.select(pl.col("_v").alias("_m"), "_systems", "_at"), on="_m")
        .explode("_systems")
        .group_by("_v")
        .agg(
            (pl.col("_systems").n_unique() - 1).alias("support"),
            pl.col("_at").max().alias("confirmed_at"),
        )
    )
    fragments = contained.select(pl.col("_m").alias("_v")).unique()
    per_value = (
        values.select(*GROUP, "_norm", "_v")
        .join(by_value, on="_v", how="left")
        .join(fragments.with_columns(is_fragment=pl.lit(True)), on="_v", how="left")
    )
    return keyed.join(per_value, on=[*GROUP, "_norm"], how="left", maintain_order="left").select(
        pl.col("support").cast(pl.UInt32),
        pl.col("is_fragment").fill_null(False),
        pl.coalesce("confirmed_at", "source_updated_at").alias("confirmed_at"),
    )


def _contained_pairs(values: pl.DataFrame, *, min_contained_chars: int) -> pl.DataFrame:
    """``_v, _m``: distinct value ``_v`` properly contains ``_m`` (of its customer and field)."""
    candidates = values.filter(pl.col("_norm").str.len_chars() >= min_contained_chars)
    few = candidates.filter(pl.col("_distinct") <= PAIRWISE_VALUES)
    pairwise = (
        few.select(*GROUP, "_v", "_norm")
        .join(
            few.select(*GROUP, pl.col("_v").alias("_m"), pl.col("_norm").alias("_part")), on=GROUP
        )
        .filter(
            (pl.col("_v") != pl.col("_m"))
            & pl.col("_norm").str.contains(pl.col("_part"), literal=True)
        )
        .select("_v", "_m")
    )
    many = values.filter(pl.col("_distinct") > PAIRWISE_VALUES)
    parts = candidates.filter(pl.col("_distinct") > PAIRWISE_VALUES).select(
        *GROUP, pl.col("_norm").alias("_sub"), pl.col("_v").alias("_m")
    )
    found = [
        batch.join(parts, on=[*GROUP, "_sub"]).select("_v", "_m").unique()
        for batch in _substrings(many, min_chars=min_contained_chars)
    ]
    return pl.concat([pairwise, *found]).unique().cast({"_v": pl.UInt32, "_m": pl.UInt32})


def _substrings(values: pl.DataFrame, *, min_chars: int) -> Iterator[pl.DataFrame]:
    """Each value's substrings of ``min_chars`` to its length - 1 characters, in batches.

    ``SUBSTRING_ROWS`` at a time (a value's ``(L - k + 1)`` substrings per length ``k``):
    the batches' sizes, not a cluster's, bound what one holds.
    """
    length = pl.col("_norm").str.len_chars().cast(pl.Int64)
    shorter = (length - min_chars).clip(lower_bound=0)  # lengths min_chars .. L - 1
    counted = values.select(
        *GROUP, "_v", "_norm", (shorter * (shorter + 3) // 2).alias("_count")
    ).filter(pl.col("_count") > 0)
    batch = (pl.col("_count").cum_sum() - pl.col("_count")) // SUBSTRING_ROWS
    counted = counted.with_columns(batch.alias("_batch"))
    for number in counted["_batch"].unique().sort().to_list():
        rows = counted.filter(pl.col("_batch") == number).with_columns(length.alias("_len"))
        yield (
            rows.lazy()
            .with_columns(pl.int_ranges(min_chars, pl.col("_len")).alias("_k"))
            .explode("_k")
            .with_columns(pl.int_ranges(0, pl.col("_len") - pl.col("_k") + 1).alias("_at"))
            .explode("_at")
            .select(
                *GROUP, "_v", pl.col("_norm").str.slice(pl.col("_at"), pl.col("_k")).alias("_sub")
            )
            .unique()
            .collect()
        )
