"""The quality suites of a release, derived from the schemas and the run configuration.

Not written by hand: each expectation follows from a declaration made once
elsewhere: the canonical customer schema and its vocabularies
(``connectors.canonical``), the fact schema (``connectors.facts``), the
contract of the golden tables (DESIGN.md) and the run configuration (which
sources exist, which fields each maps). One suite per staged source
(``source_crm`` ...), per golden table, per contact table and per fact table. Each expectation
is ERROR (blocks publishing) or WARN (reported and published).

Example:
    >>> suites = release_suites(config.sources, config.facts)  # doctest: +SKIP
    >>> [s.name for s in suites][:2]  # doctest: +SKIP
    ['source_crm', 'source_erp']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.canonical import (
    CANONICAL_SCHEMA,
    CUSTOMER_TYPES,
    FIELDS_BY_NAME,
    GOLDEN_FIELDS,
    SIZE_BANDS,
    TIERS,
)
from connectors.canonical import LABEL_KEEPING_FIELDS as KEPT
from connectors.config import SourceConfig
from connectors.facts import FACT_SCHEMA, FACT_STATUSES, FACT_TABLES, FactConfig
from lineage.contacts import CONTACT_COLUMNS, CONTACT_FIELDS

Severity = Literal["error", "warn"]
E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
GOLDEN_CUSTOMER_COLUMNS = (
    "unified_id", *GOLDEN_FIELDS, "source_count", "record_count", "trust_score",
    "first_seen_at", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class Expect:
    """One expectation: the GX class name, its arguments and how bad a failure is.

    Example:
        >>> Expect("ExpectColumnValuesToNotBeNull", {"column": "unified_id"}).name
        'expect_column_values_to_not_be_null'
    """

    kind: str
    kwargs: Mapping[str, Any]
    severity: Severity = "error"

    @property
    def name(self) -> str:
        """GX's snake-case name of the expectation type."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in self.kind).lstrip("_")


@dataclass(frozen=True)
class Suite:
    """The expectations for one staged frame.

    Attributes:
        name: The suite, also its check's name (``quality_<name>``).
        frame: The frame validated (a release table, or ``source_<name>``).
        keys: Columns naming a row, reported for the rows that fail.
        expectations: What must hold.
    """

    name: str
    frame: str
    keys: tuple[str, ...]
    expectations: tuple[Expect, ...] = field(default=())


def _not_null(column: str, severity: Severity = "error", **extra: Any) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", {"column": column, **extra}, severity)


def _in_set(column: str, values: Sequence[str], severity: Severity = "error") -> Expect:
    return Expect(
        "ExpectColumnValuesToBeInSet", {"column": column, "value_set": list(values)}, severity
    )


def _regex(column: str, regex: str, severity: Severity = "error") -> Expect:
    return Expect("ExpectColumnValuesToMatchRegex", {"column": column, "regex": regex}, severity)


def _between(
    column: str, low: float | None, high: float | None, severity: Severity = "error"
) -> Expect:
    return Expect(
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": low, "max_value": high},
        severity,
    )


def _unique(*columns: str) -> Expect:
    if len(columns) == 1:
        return Expect("ExpectColumnValuesToBeUnique", {"column": columns[0]})
    return Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})


def _row_count_at_least(count: int, severity: Severity = "error") -> Expect:
    return Expect(
        "ExpectTableRowCountToBeBetween", {"min_value": count, "max_value": None}, severity
    )


def may_be_empty(source: SourceConfig) -> bool:
    """A source whose having no rows is no news: it says ``allow_empty``, or it is the
    remainder of a ``split_by`` file (rows without a value), which is empty whenever
    every row names its list."""
    return source.allow_empty or (source.split is not None and source.split.value is None)


def source_suite(source: SourceConfig) -> Suite:
    """A staged source's canonical records: the schema, keys and vocabularies.

    Rows the mapping could not load are already in quarantine; this suite
    guards the contract of what was loaded (and WARNs about raw values that
    standardisation will have to repair).
    """
    expectations = [
        Expect(
            "ExpectTableColumnsToMatchOrderedList",
            {"column_list": [*CANONICAL_SCHEMA, *source.attribute_columns]},
        ),
        _in_set("source_system", [source.name]),
        _not_null("source_record_id"),
        _unique("source_record_id"),
        _not_null("row_number"),
    ]
    if not may_be_empty(source):
        # An empty export is legal (every row is accounted for) but worth a look.
        expectations.insert(1, _row_count_at_least(1, "warn"))
    for name, mapping in source.fields.items():
        allowed = FIELDS_BY_NAME[name].allowed
        if allowed is not None:
            expectations.append(_in_set(name, allowed, "warn" if name in KEPT else "error"))
        if mapping.constant is None and name == "email":
            expectations.append(_regex("email", EMAIL, "warn"))
        if mapping.constant is None and mapping.map is None and name == "country":
            expectations.append(_regex("country", r"^[A-Za-z]{2}$", "warn"))
    if source.updated_at is not None:
        expectations.append(_not_null("source_updated_at", "warn"))
    name = f"source_{source.name}"
    return Suite(name, name, ("source_record_id",), tuple(expectations))


def golden_suites(sources: Sequence[SourceConfig]) -> list[Suite]:
    """The published contract of golden_customer, customer_xref and field_lineage."""
    golden = (
        Expect(
            "ExpectTableColumnsToMatchSet",
            {"column_set": list(GOLDEN_CUSTOMER_COLUMNS), "exact_match": False},
        ),
        _row_count_at_least(1),
        _not_null("unified_id"),
        _unique("unified_id"),
        _in_set("customer_type", CUSTOMER_TYPES),
        _in_set("tier", TIERS),
        _in_set("size_band", SIZE_BANDS, "warn"),  # other systems' bands are kept as written
        _regex("country", r"^[A-Z]{2}$"),
        _between("trust_score", 0, 1),
        _between("source_count", 1, None),
        Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "record_count", "column_B": "source_count", "or_equal": True},
        ),
        _not_null("name", "warn"),
        _regex("email", EMAIL, "warn"),
        _regex("phone", E164, "warn"),
    )
    xref = (
        _unique("source_system", "source_record_id"),
        _not_null("unified_id"),
        _in_set("source_system", [s.name for s in sources]),
        _between("match_probability", 0, 1),
    )
    lineage = (
        _in_set("field", GOLDEN_FIELDS),
        _unique("unified_id", "field"),
        _not_null("source_system"),
        _not_null("source_record_id"),
        _not_null("source_column"),
        _between("trust_score", 0, 1),
    )
    return [
        Suite("golden_customer", "golden_customer", ("unified_id",), golden),
        Suite("customer_xref", "customer_xref", ("source_system", "source_record_id"), xref),
        Suite("field_lineage", "field_lineage", ("unified_id", "field"), lineage),
    ]


# The column staged_frames adds to customer_contacts: its customer's type in golden_customer.
CONTACT_CUSTOMER_TYPE = "golden_customer_type"


def contact_suites() -> list[Suite]:
    """The published contract of customer_contacts and customer_contact_lineage.

    ``customer_contacts`` is validated with its customer's ``customer_type``
    from ``golden_customer`` beside it (see ``validation.staged_frames``), so
    "every contact's customer is a published company" is a not-null and a
    set expectation instead of a set of a million unified IDs.
    """
    contacts = (
        Expect(
            "ExpectTableColumnsToMatchSet",
            {"column_set": [*CONTACT_COLUMNS, CONTACT_CUSTOMER_TYPE], "exact_match": False},
        ),
        _not_null("unified_id"),
        _not_null(CONTACT_CUSTOMER_TYPE),  # its unified_id is in golden_customer
        _in_set(CONTACT_CUSTOMER_TYPE, ["company"]),
        _not_null("contact_id"),
        _unique("contact_id"),
        _regex("contact_id", r"^CT-[0-9a-f]{16}$"),
        _between("source_count", 1, None),
        Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "record_count", "column_B": "source_count", "or_equal": True},
        ),
        Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "last_seen_at", "column_B": "first_seen_at", "or_equal": True},
            "warn",  # a record without a timestamp leaves both null
        ),
        _regex("email", EMAIL, "warn"),
        _regex("phone", E164, "warn"),
    )
    lineage = (
        _in_set("field", CONTACT_FIELDS),
        _unique("contact_id", "field"),
        _not_null("unified_id"),
        _not_null("value"),
        _not_null("source_system"),
        _not_null("source_record_id"),
        _not_null("source_column"),
    )
    return [
        Suite("customer_contacts", "customer_contacts", ("unified_id", "contact_id"), contacts),
        Suite(
            "customer_contact_lineage",
            "customer_contact_lineage",
            ("contact_id", "field"),
            lineage,
        ),
    ]


def standardised_suites(sources: Sequence[SourceConfig]) -> list[Suite]:
    """WARNs about mapped values standardisation could not read, per record.

    A birth date in no format the parser knows keeps its text and
    ``birth_date_valid = false``: it still joins the record, but the
    ``birth_date`` comparison and blocking rule cannot use it, so a steward
    should see which records carry one. No suite when no source maps it.
    """
    if not any("birth_date" in s.fields for s in sources):
        return []
    unreadable = (
        Expect(
            "ExpectColumnValuesToBeInSet",
            {"column": "birth_date_valid", "value_set": [True]},
            "warn",
        ),
    )
    keys = ("source_system", "source_record_id")
    return [Suite("standardised_records", "standardised_records", keys, unreadable)]


def value_rejections_suite() -> Suite:
    """Values dropped from records that were kept (the connectors' per-field ``on_invalid``).

    A record keeps its customer when one non-identifying value is invalid (a head count
    the bands cannot take, an unknown country); the value is dropped and listed in
    ``value_rejections``. The quality results carry each one too: a WARN whose count is
    the number of dropped values and whose failing rows name the records, so a steward
    sees them beside every other data problem of the release.
    """
    keys = ("source_system", "source_record_id", "source_column")
    expectations = (Expect("ExpectColumnValuesToBeNull", {"column": "field"}, "warn"),)
    return Suite("value_rejections", "value_rejections", keys, expectations)


def oversized_clusters_suite() -> Suite:
    """The clusters above ``matching.max_cluster_size`` (``matching.cluster_limits``).

    Two WARNs over ``oversized_clusters`` (one row per part a too-large cluster
    became): every part of such a cluster fails the first, so its count is the
    parts and its failing rows name them with the original size; a part still
    over the limit (strong links hold it together, it is published as it is)
    fails the second too. A steward sees both beside every other data problem.
    """
    keys = ("unified_id", "original_unified_id", "original_record_count", "record_count")
    within = {"column_A": "max_cluster_size", "or_equal": True}
    expectations = (
        Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {**within, "column_B": "original_record_count"},
            "warn",
        ),
        Expect(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {**within, "column_B": "record_count"},
            "warn",
        ),
    )
    return Suite("oversized_clusters", "oversized_clusters", keys, expectations)


def fact_suites(facts: Sequence[FactConfig]) -> list[Suite]:
    """One suite per fact table that a configured fact source fills.

    The frame validated is the fact table with the ``unified_id`` its customer
    record has in ``customer_xref`` (see :func:`staged_frames`). A fact whose
    record is not there (the customer's own row was quarantined) is a WARN:
    it is kept and reported as an orphan, but reaches no unified customer.
    """
    suites = []
    for kind, table in FACT_TABLES.items():
        sources = [f for f in facts if f.kind == kind]
        if not sources:
            continue
        expectations = [
            Expect(
                "ExpectTableColumnsToMatchOrderedList",
                {"column_list": [*FACT_SCHEMA, "unified_id"]},
            ),
            _not_null("fact_id"),
            _unique("fact_source", "fact_id"),
            _not_null("source_record_id"),
            _not_null("occurred_at"),
            _in_set("status", FACT_STATUSES[kind]),
            _between("amount", 0, None, "warn"),
        ]
        if any(f.currency is not None for f in sources):
            expectations.append(_regex("currency", r"^[A-Z]{3}$"))
        expectations.append(_not_null("unified_id", "warn"))
        suites.append(Suite(table, table, ("fact_source", "fact_id"), tuple(expectations)))
    return suites


def release_suites(sources: Sequence[SourceConfig], facts: Sequence[FactConfig]) -> list[Suite]:
    """Every suite a release of this configuration is validated with, in report order."""
    return [
        *(source_suite(s) for s in sources),
        *standardised_suites(sources),
        *golden_suites(sources),
        *contact_suites(),
        value_rejections_suite(),
        oversized_clusters_suite(),
        *fact_suites(facts),
    ]
