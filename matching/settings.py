"""Matching settings: one frozen object per run, stored with the run as JSON.

Every threshold the matcher uses lives here, with the reason for its default,
so that no stage carries a magic number and a run can be reproduced from its
stored settings alone (Splink's settings dictionary does the same).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from connectors.config import CompareKind as AttributeKind
from matching.aliases import NameAliases

# How an extra attribute (a source config's ``attributes:``) is compared: matching.attributes.
ATTRIBUTE_KINDS: tuple[str, ...] = get_args(AttributeKind)

# The blocking rule on alias keys (matching.blocking.block_on_name_alias).
NAME_ALIAS_RULE = "name_alias"


class BlockingSettings(BaseModel):
    """How candidate pairs are generated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[str, ...] = Field(
        default=(
            "email",
            "phone",
            "tax_id",
            "name_key",
            "name_latin_sorted",
            "contact_and_postcode",
            "address_key",
            "postcode_and_name_initials",
            "sorted_name_neighbourhood",
            "semantic_name_neighbours",
            "birth_date",
            "company_domain",
            "birth_date_and_name_part",
            "postcode_and_name_part",
            "name_part_pairs",
        ),
        description="Blocking rules to apply, by name (see matching.blocking.BLOCKING_RULES).",
    )
    max_block_size: int = Field(
        default=300,
        ge=2,
        description=(
            "Exact-key blocks larger than this are skipped and logged: a key shared by "
            "hundreds of records (a hotline number, a common name) says little and would "
            "make a quadratic number of pairs."
        ),
    )
    max_name_block_size: int = Field(
        default=20,
        ge=2,
        description=(
            "Cap of the blocks keyed on a name (name_key, name_latin_sorted, postcode + "
            "name initials). A distinctive name's block holds one customer's few records; "
            "a block larger than this mixes several customers ('王伟', 'James Smith') and "
            "is refined by city, then skipped if still larger. Such namesakes are told "
            "apart only by a second identifier, which the e-mail, phone, tax id, address "
            "and postcode rules block on. On the 1M synthetic benchmark 20 instead of 300 "
            "cut candidate pairs from 13.8M to about 6M and lost no true pair the model "
            "matched."
        ),
    )
    neighbourhood_window: int = Field(
        default=3,
        ge=3,
        description=(
            "Window of the sorted-neighbourhood index over romanised names (odd). On the "
            "100k synthetic benchmark a window of 7 found 13 more true pairs than 3 "
            "(of 27,757) for 300,000 more candidates; 3 is also recordlinkage's default."
        ),
    )
    neighbourhood_max_cross_block: int = Field(
        default=20,
        ge=1,
        description=(
            "The sorted-neighbourhood index pairs records of two neighbouring names only "
            "when one of the names is held by at most this many records: a typo'd name "
            "meets every record of the common name it was meant to be, but two common "
            "names never make a cross product."
        ),
    )
    semantic_neighbours: int = Field(
        default=6, ge=1, description="Nearest neighbours per record in name-embedding space."
    )
    semantic_min_cosine: float = Field(
        default=0.55,
        ge=0.0,
        le=1.0,
        description="Neighbours below this cosine similarity are not candidates.",
    )
    semantic_max_df: int = Field(
        default=200,
        ge=2,
        description=(
            "Only name n-grams held by at most this many records take part in the "
            "nearest-neighbour search: an n-gram every tenth name shares ('ing', '有限') "
            "says nothing about identity, and the cap keeps the search linear in the "
            "number of records instead of quadratic."
        ),
    )


DEFAULT_LABEL_WEIGHT = 10.0
# matching.max_cluster_size (see its description); omitted from the settings' JSON at this
# value, so configuration hashes stay those of a version without the setting.
DEFAULT_MAX_CLUSTER_SIZE = 1_000


class ModelSettings(BaseModel):
    """The Fellegi-Sunter model: how m/u are learnt and how weights become decisions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    u_sample_pairs: int = Field(
        default=200_000,
        ge=1_000,
        description="Random record pairs drawn to estimate u (almost all are non-matches).",
    )
    seed: int = Field(default=42, description="Seed for the u sample; runs are reproducible.")
    em_max_iterations: int = Field(default=50, ge=1)
    em_tolerance: float = Field(default=1e-6, gt=0)
    laplace_smoothing: float = Field(
        default=1.0,
        gt=0,
        description="Pseudo-count per level, so an unseen level never gets an infinite weight.",
    )
    anchored_m: bool = Field(
        default=True,
        description=(
            "After EM, check how often each comparison disagrees among matches on the "
            "candidate pairs that the other comparisons alone make matches "
            "(matching.anchored_m), and cut EM's rate down to anchor_allowance times "
            "that: EM half-counts namesakes who agree on correlated fields, which on "
            "the 1M person file let a differing birth date weigh -3.8 bits "
            "(BENCHMARKS.md 'Anchored m')."
        ),
    )
    anchor_bits: float = Field(
        default=10.0,
        gt=0,
        description="Weight (bits, prior included) without a comparison's evidence group "
        "from which a candidate pair anchors that comparison's m.",
    )
    anchor_allowance: float = Field(
        default=2.0,
        ge=1.0,
        description=(
            "How many times the anchored disagreement rate EM's may be before it is cut "
            "to that multiple. The anchored pairs are cleaner records than matches in "
            "general (their rate read 0.7x the true one where it is known), so 1 would "
            "overcorrect; namesakes inflated EM's rate 75x on the 1M person file."
        ),
    )
    anchor_pseudo_pairs: float = Field(
        default=50.0,
        gt=0,
        description="Pairs EM's own m counts as when blended with the anchored estimate.",
    )
    m_floor: float = Field(
        default=0.005,
        gt=0,
        lt=0.5,
        description=(
            "No level of a true match is treated as impossible: a moved office, a "
            "mistyped tax id. m never drops below this, which bounds how strongly a "
            "single disagreement can veto a pair (here to about -7.6 bits)."
        ),
    )
    match_threshold: float = Field(
        default=0.9, gt=0, lt=1, description="Pairs at or above this probability are matches."
    )
    review_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Pairs in [review_threshold, match_threshold) go to steward review.",
    )
    label_weight: float = Field(
        default=DEFAULT_LABEL_WEIGHT,
        ge=1,
        description=(
            "How many candidate pairs one labelled pair (a `fusion label` answer or a steward's "
            "must-link / cannot-link) counts as when EM learns m and u. A label also sets the "
            "posterior of the unlabelled pairs with the same levels (matching.labels), so it "
            "reaches them without a large weight; labels are picked where the model is least "
            "sure, and at 100 a few such boundary pairs outweighed the rest (on the seeded "
            "test in tests/matching/test_labels.py F1 fell from 0.93 after 10 labels to 0.84 "
            "after 50; at 1 and 10 it held 0.93). The prior counts each label once."
        ),
    )

    @model_serializer(mode="wrap")
    def _omit_defaults_added_later(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No ``label_weight`` key at its default: configuration hashes stay as they were."""
        data = handler(self)
        if isinstance(data, dict) and self.label_weight == DEFAULT_LABEL_WEIGHT:
            data.pop("label_weight", None)
        return data

    @model_validator(mode="after")
    def _check_band(self) -> ModelSettings:
        if self.review_threshold > self.match_threshold:
            msg = (
                f"matching.model: review_threshold {self.review_threshold} is above "
                f"match_threshold {self.match_threshold}"
            )
            raise ValueError(msg)
        return self


class ClusterSettings(BaseModel):
    """How matched pairs become clusters without chaining unrelated customers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cannot_link_probability: float = Field(
        default=0.01,
        ge=0,
        lt=1,
        description=(
            "A scored pair below this probability is strong evidence of two different "
            "customers: clusters holding such a pair are never merged through other links."
        ),
    )
    corroborating_bits: float = Field(
        default=0.5,
        ge=0,
        description=(
            "A link is weak when fewer than two of its comparisons add at least this many "
            "bits (a shared name and nothing else): a weak link may attach one record to "
            "a cluster but never joins two clusters of several records. On historical_50k "
            "27 name-only links chained 15 people into one 54-record cluster."
        ),
    )
    complete_thin_clusters: bool = Field(
        default=True,
        description=(
            "Compare every record pair of a cluster that blocking left mostly uncompared "
            "(matching.cluster_completion) and cluster again, so chained records whose "
            "ends disagree are split. On historical_50k it cut the largest cluster from "
            "63 to 43 records."
        ),
    )
    attach_to_domain_owners: bool = Field(
        default=True,
        description=(
            "A cluster naming no customer (a ticket with a blank company) whose only company "
            "e-mail domain every named record holding it shares with one cluster joins that "
            "cluster (matching.domain_owner); a domain two clusters hold attaches nothing."
        ),
    )
    thin_cluster_min_records: int = Field(
        default=3,
        ge=3,
        description="Smallest cluster checked for completion (two records are always compared).",
    )
    thin_cluster_compared_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description=(
            "A cluster is thin when fewer than this share of its record pairs were compared; "
            "comparing all pairs of every cluster (1.0) split true customers on "
            "historical_50k with attributes and people_100k."
        ),
    )


class SparkSettings(BaseModel):
    """The Spark session of the ``spark`` engine (see docs/SCALING.md for sizing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    master: str = Field(
        default="local[*]",
        description="Spark master URL: local[*], yarn, k8s://..., spark://host:7077.",
    )
    app_name: str = Field(default="fusion")
    shuffle_partitions: int = Field(
        default=200,
        ge=1,
        description=(
            "spark.sql.shuffle.partitions: about 2-4 per executor core; at 100M records "
            "aim for 100-200 MB per partition (docs/SCALING.md)."
        ),
    )
    arrow_batch_rows: int = Field(
        default=100_000,
        ge=1_000,
        description=(
            "Rows per Arrow batch handed to the shared Python stage functions: bounds "
            "the memory of one Python worker whatever the partition size."
        ),
    )
    driver_memory: str = Field(default="4g", description="spark.driver.memory.")
    conf: tuple[tuple[str, str], ...] = Field(
        default=(),
        description=(
            "Further Spark settings as (key, value) pairs, passed through as given "
            "(pairs, not a mapping, so the frozen settings stay hashable)."
        ),
    )


class MatchSettings(BaseModel):
    """All settings of the matching stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description=(
            "Where the heavy stages run: 'duckdb' (one machine: polars, DuckDB) or "
            "'spark' (the same stage functions distributed through Arrow UDFs; "
            "docs/SCALING.md). Both give the same clusters, IDs and golden values."
        ),
    )
    spark: SparkSettings = SparkSettings()
    blocking: BlockingSettings = BlockingSettings()
    model: ModelSettings = ModelSettings()
    clustering: ClusterSettings = ClusterSettings()
    max_cluster_size: int = Field(
        default=DEFAULT_MAX_CLUSTER_SIZE,
        ge=2,
        description=(
            "A cluster of more records than this is re-split on its strong links only "
            "(matching.cluster_limits); a part still above it is published as it is. Either "
            "way it is reported: oversized_clusters, the run summary, a quality WARN. "
            "1,000 is far above any customer of the benchmark sets (fusion's largest "
            "clusters there hold 6 to 21 records) yet well below the chained clusters of a wrong "
            "match (18,840 records on a 1M person file), so no plausible customer is split."
        ),
    )
    name_aliases: NameAliases | None = Field(
        default=None,
        description=(
            "The keyed alias table (matching.aliases; fusion.yaml names its CSV). With a "
            "table, the 'name_alias' blocking rule is appended to blocking.rules unless "
            "listed, and records whose alias keys agree get the top name similarity level. "
            "None: no aliases, and the settings' JSON is that of a version without them."
        ),
    )

    attributes: dict[str, AttributeKind] = Field(
        default_factory=dict,
        description=(
            "Extra attributes the sources declare (name -> comparison kind), compared after "
            "the built-in fields and learnt like them (matching.attributes). Filled from the "
            "source configs' 'attributes:'; empty: the settings' JSON is that of a version "
            "without attributes."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _block_on_aliases(cls, data: Any) -> Any:
        """With an alias table, the rule that blocks on alias keys is one of the rules."""
        if not isinstance(data, dict) or data.get("name_aliases") is None:
            return data
        blocking = data.get("blocking") or {}
        if isinstance(blocking, BaseModel):
            blocking = blocking.model_dump()
        rules = tuple(blocking.get("rules", BlockingSettings.model_fields["rules"].default))
        if NAME_ALIAS_RULE in rules:
            return data
        return {**data, "blocking": {**blocking, "rules": (*rules, NAME_ALIAS_RULE)}}

    @model_serializer(mode="wrap")
    def _without_absent_aliases(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``name_aliases`` key without a table, no ``max_cluster_size`` at its default:
        configuration hashes stay as they were."""
        data: dict[str, Any] = handler(self)
        if self.max_cluster_size == DEFAULT_MAX_CLUSTER_SIZE:
            data.pop("max_cluster_size", None)
        if self.name_aliases is None:
            data.pop("name_aliases", None)
        if not self.attributes:
            data.pop("attributes", None)
        return data
