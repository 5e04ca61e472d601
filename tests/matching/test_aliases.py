"""The name alias table: loading, keying, blocking, the name level, and the recall it adds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from connectors import load_source
from connectors.errors import ConfigError
from matching import match_records, standardise
from matching.aliases import NameAliases, alias_key_expr, load_name_aliases, name_keys
from matching.blocking import generate_candidates
from matching.comparisons import NameSimilarity, PairFrame, default_comparisons
from matching.linkage import MatchResult
from matching.semantic import TfidfCharNgramEmbedder, embed_names
from matching.settings import NAME_ALIAS_RULE, BlockingSettings, MatchSettings
from pipelines.settings import load_fusion_config
from tests.pipelines.conftest import SAMPLE_CONFIG

from .conftest import canonical_frame

TABLE = """alias,name
IBM,International Business Machines Corporation
I.B.M.,IBM
工行,中國工商銀行股份有限公司
"""


def _write(folder: Path, text: str, name: str = "aliases.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- loading and keying


def test_both_sides_are_keyed_like_records_and_grouped(tmp_path: Path) -> None:
    aliases = load_name_aliases(_write(tmp_path, TABLE), source="aliases.csv")
    assert dict(aliases.entries) == {
        # Legal form, case and punctuation removed; 'I.B.M.' -> 'IBM' joins the IBM group,
        # whose key is the smallest the name column gives it.
        "ibm": "ibm",
        "i b m": "ibm",
        "international business machines": "ibm",
        # traditional -> simplified, 股份有限公司 removed
        "工行": "中国工商银行",
        "中国工商银行": "中国工商银行",
    }
    assert aliases.source == "aliases.csv"


def test_row_order_does_not_change_the_table(tmp_path: Path) -> None:
    header, *rows = TABLE.strip().splitlines()
    forward = load_name_aliases(_write(tmp_path, TABLE, "a.csv"))
    backward = load_name_aliases(_write(tmp_path, "\n".join([header, *rows[::-1]]), "b.csv"))
    assert forward.entries == backward.entries


@pytest.mark.parametrize(
    ("content", "encoding", "message"),
    [
        (None, "utf-8", "file not found"),
        ("alias,canonical\nIBM,International Business Machines\n", "utf-8",
         "expected the header 'alias,name', found 'alias,canonical'"),
        ("name\nIBM\n", "utf-8", "expected the header 'alias,name', found 'name'"),
        ("", "utf-8", "expected the header 'alias,name', found ''"),
        ("alias,name\nIBM,International Business Machines\n工行,\n", "utf-8",
         "line 3: empty 'name'"),
        ("alias,name\n ,International Business Machines\n", "utf-8", "line 2: empty 'alias'"),
        ("alias,name\nIBM,International Business Machines,extra\n", "utf-8",
         "line 2: more fields than the header"),
        ("alias,name\nLtd.,International Business Machines\n", "utf-8",
         "line 2: 'Ltd.' has no name key"),
        ("alias,name\n工行,中国工商银行\n", "gb18030", "not UTF-8"),
    ],
)  # fmt: skip
def test_a_bad_table_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str | None, encoding: str, message: str
) -> None:
    path = tmp_path / "aliases.csv"
    if content is not None:
        _write(tmp_path, content, encoding=encoding)
    with pytest.raises(ConfigError, match="name alias table") as raised:
        load_name_aliases(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_header_in_any_order_with_a_bom_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffname,alias\r\nInternational Business Machines,IBM\r\n")
    assert load_name_aliases(path).canonical_of("ibm") == "international business machines"


def _config(folder: Path, matching: str) -> Path:
    """A run config naming one source file (never read here) and the given matching section."""
    path = folder / "fusion.yaml"
    path.write_text(
        "sources:\n"
        "  - {name: crm, system: crm, path: crm.csv, format: csv, record_id: id,\n"
        "     fields: {name: name}, trust: {default: 0.8}}\n"
        f"matching: {matching}\n",
        encoding="utf-8",
    )
    return path


def test_the_config_names_the_table_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "tables").mkdir()
    _write(tmp_path / "tables", TABLE)
    config = load_fusion_config(_config(tmp_path, "{name_aliases: tables/aliases.csv}"))
    settings = config.matching
    assert settings.name_aliases is not None
    assert settings.name_aliases.source == "tables/aliases.csv"
    assert settings.name_aliases.canonical_of("工行") == "中国工商银行"
    assert settings.blocking.rules[-1] == NAME_ALIAS_RULE
    # The stored settings carry the keyed table, so a run reproduces from them alone.
    stored = MatchSettings.model_validate(json.loads(config.to_json())["matching"])
    assert stored == settings
    assert stored.blocking.rules.count(NAME_ALIAS_RULE) == 1


def test_a_changed_table_changes_the_config_hash(tmp_path: Path) -> None:
    _write(tmp_path, TABLE)
    before = load_fusion_config(_config(tmp_path, "{name_aliases: aliases.csv}")).config_hash
    _write(tmp_path, TABLE + "建行,中国建设银行\n")
    after = load_fusion_config(_config(tmp_path, "{name_aliases: aliases.csv}")).config_hash
    assert before != after


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "file not found"),
        ({"aliases.csv": "alias;name\nIBM;International Business Machines\n"},
         "expected the header 'alias,name'"),
    ],
)  # fmt: skip
def test_the_config_error_names_the_config_key_and_the_table(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        _write(tmp_path, text, name)
    config = _config(tmp_path, "{name_aliases: aliases.csv}")
    with pytest.raises(ConfigError) as raised:
        load_fusion_config(config)
    text = str(raised.value)
    assert str(config) in text
    assert "'matching.name_aliases'" in text
    assert str(tmp_path / "aliases.csv") in text
    assert message in text


def test_without_a_table_settings_and_their_json_are_unchanged() -> None:
    settings = MatchSettings()
    assert settings.name_aliases is None
    assert NAME_ALIAS_RULE not in settings.blocking.rules
    assert "name_aliases" not in settings.model_dump(mode="json")
    # The samples' configuration hash, as before alias tables existed (changed on purpose
    # when clustering gained corroborating_bits, blocking the company_domain rule and the
    # name-part rules, and survivorship its role and agreement settings, then its
    # common-spelling setting, then its infer_company_type setting, then clustering its
    # thin-cluster completion and its domain owners, then the model its opt-in anchored m,
    # then anchored m on by default as a cap with its allowance:
    # a release built under other settings must not be reused as if it were this one's).
    assert load_fusion_config(SAMPLE_CONFIG).config_hash == "d28122ff1fcb428e"


def test_listing_the_rule_keeps_the_listed_order() -> None:
    aliases = NameAliases(source="t", entries=(("ibm", "ibm"),))
    rules = (NAME_ALIAS_RULE, "email")
    settings = MatchSettings(name_aliases=aliases, blocking=BlockingSettings(rules=rules))
    assert settings.blocking.rules == rules


# ---------------------------------------------------------------- blocking and comparison

KEYED = {
    "ibm": "international business machines",
    "international business machines": "international business machines",
    "工行": "中国工商银行",
    "中国工商银行": "中国工商银行",
}
ALIASES = NameAliases(source="test", entries=tuple(sorted(KEYED.items())))


def _std(names: list[str]) -> pl.DataFrame:
    rows = [{"name": n, "customer_type": "company", "city": "Armonk"} for n in names]
    return standardise(canonical_frame(rows), default_regions={"crm": "CN"})


def test_alias_key_is_the_group_key_or_null() -> None:
    std = _std(["IBM Corp.", "International Business Machines", "工行", "Acme", "中國工商銀行"])
    keys = std.select(alias_key_expr(ALIASES))["name_key"].to_list()
    assert keys == [*(KEYED["ibm"],) * 2, KEYED["工行"], None, KEYED["工行"]]
    assert std.select(alias_key_expr(None))["name_key"].null_count() == std.height


@pytest.mark.parametrize("aliases", [ALIASES, None], ids=["table", "no table"])
def test_the_alias_rule_pairs_listed_names_only(aliases: NameAliases | None) -> None:
    std = _std(["IBM", "International Business Machines Corp.", "工行", "中国工商银行", "Acme"])
    candidates = generate_candidates(
        std,
        name_vectors=None,
        settings=BlockingSettings(rules=(NAME_ALIAS_RULE,)),
        name_aliases=aliases,
    )
    expected = [(0, 1, NAME_ALIAS_RULE), (2, 3, NAME_ALIAS_RULE)] if aliases else []
    assert sorted(candidates.pairs.rows()) == expected


NAME_CASES = [
    # (left, right, level with the table, level without)
    ("IBM", "International Business Machines Corp.", "sim>=0.93", "sim<0.7"),
    ("International Business Machines", "中国工商银行", "sim<0.7", "sim<0.7"),
    ("工行", "中國工商銀行股份有限公司", "sim>=0.93", "sim<0.7"),
    ("IBM Inc.", "IBM", "exact_key", "exact_key"),  # the literal key still wins
    ("IBM", "工行", "sim<0.7", "sim<0.7"),  # two groups
    ("IBM", "Acme Trading", "sim<0.7", "sim<0.7"),
]


@pytest.mark.parametrize(("left", "right", "with_table", "without"), NAME_CASES)
def test_names_the_table_makes_one_get_the_top_similarity_level(
    left: str, right: str, with_table: str, without: str
) -> None:
    std = _std([left, right])
    vectors = embed_names(std, embedder=TfidfCharNgramEmbedder())
    pairs = PairFrame.build(std, np.array([0]), np.array([1]), name_vectors=vectors)
    for aliases, expected in ((ALIASES, with_table), (None, without)):
        comparison = NameSimilarity(aliases=aliases)
        label = (*comparison.labels, "missing")[int(comparison.levels(pairs)[0])]
        assert label == expected, (left, right, aliases is not None)


def test_the_labels_and_comparison_order_do_not_change() -> None:
    plain, aliased = default_comparisons(), default_comparisons(name_aliases=ALIASES)
    assert [c.name for c in plain] == [c.name for c in aliased]
    assert [c.labels for c in plain] == [c.labels for c in aliased]


# ---------------------------------------------------------------- the constructed case

# (alias, canonical name, country, city, postcode): names that share no blocking key.
COMPANIES = [
    ("IBM", "International Business Machines Corp.", "US", "Armonk", "10504"),
    ("HSBC", "Hongkong and Shanghai Banking Corporation Ltd", "GB", "London", "E14 5HQ"),
    ("GE", "General Electric Company", "US", "Boston", "02210"),
    ("P&G", "Procter & Gamble", "US", "Cincinnati", "45202"),
    ("BMW", "Bayerische Motoren Werke AG", "DE", "München", "80809"),
    ("UPS", "United Parcel Service Inc.", "US", "Atlanta", "30328"),
    ("AMD", "Advanced Micro Devices Inc.", "US", "Santa Clara", "95054"),
    ("KPMG", "Klynveld Peat Marwick Goerdeler", "GB", "London", "E14 5GL"),
    ("SAP", "Systemanalyse und Programmentwicklung GmbH", "DE", "Walldorf", "69190"),
    ("DBS", "Development Bank of Singapore Ltd", "SG", "Singapore", "018982"),
    ("工行", "中国工商银行股份有限公司", "CN", "北京", "100140"),
    ("建行", "中国建设银行股份有限公司", "CN", "北京", "100033"),
    ("农行", "中国农业银行股份有限公司", "CN", "北京", "100005"),
    ("招行", "招商银行股份有限公司", "CN", "深圳", "518040"),
    ("中石化", "中国石油化工股份有限公司", "CN", "北京", "100728"),
    ("国航", "中国国际航空股份有限公司", "CN", "北京", "101312"),
    ("南航", "中国南方航空股份有限公司", "CN", "广州", "510406"),
    ("浦发", "上海浦东发展银行股份有限公司", "CN", "上海", "200002"),
    ("华为", "华为技术有限公司", "CN", "深圳", "518129"),
    ("平安", "中国平安保险(集团)股份有限公司", "CN", "深圳", "518033"),
]
PHONE_PREFIX = {"US": "+1 212", "GB": "+44 20", "DE": "+49 89", "SG": "+65 6", "CN": "+86 10"}
OTHER_PREFIX = {"US": "+1 646", "GB": "+44 161", "DE": "+49 30", "SG": "+65 8", "CN": "+86 21"}


def _company_records() -> pl.DataFrame:
    """Two records per company, alias in the CRM and full name in the ERP.

    Their e-mails differ by one character in the mailbox and one in the company
    domain, and their phones by the area code (so none of them blocks them),
    the postcode and city agree, and the CRM address is the ERP's without its
    building (so the address key differs).
    One unrelated name sorts between 'ibm' and 'international...', as many
    would in real data (the samples hold none), so the sorted neighbourhood
    does not pair them by chance.
    """
    rows: list[dict[str, str]] = [
        {"source_system": "crm", "source_record_id": "FILLER", "name": "Iceland Trading"}
    ]
    for k, (alias, name, country, city, postcode) in enumerate(COMPANIES):
        number = f"{5550100 + k:07d}"
        mailbox = f"procurement{k}@example-{k}.com"
        for source, shown, mail, prefix, address in (
            ("crm", alias, mailbox, PHONE_PREFIX, f"{k + 1} Harbour Road"),
            ("erp", name, mailbox.replace("procurement", "procurment").replace("example-",
             "exampel-"), OTHER_PREFIX,
             f"{k + 1} Harbour Road, Building {k + 2}"),
        ):  # fmt: skip
            rows.append(
                {
                    "source_system": source,
                    "source_record_id": f"ALIAS-{k:02d}",
                    "customer_type": "company",
                    "name": shown,
                    "email": mail,
                    "phone": f"{prefix[country]} {number}",
                    "address": address,
                    "postcode": postcode,
                    "city": city,
                    "country": country,
                }
            )
    return canonical_frame(rows)


@dataclass(frozen=True)
class Constructed:
    std: pl.DataFrame
    true_pairs: dict[str, tuple[int, int]]
    with_table: MatchResult
    without: MatchResult


@pytest.fixture(scope="module")
def constructed(tmp_path_factory: pytest.TempPathFactory) -> Constructed:
    """The samples plus the companies, matched with and without their alias table."""
    config = load_fusion_config(SAMPLE_CONFIG)
    samples = pl.concat([load_source(s).records for s in config.sources], how="vertical")
    std = standardise(
        pl.concat([samples, _company_records()]), default_regions=config.default_regions
    )
    folder = tmp_path_factory.mktemp("aliases")
    lines = ["alias,name", *(f'"{alias}","{name}"' for alias, name, *_ in COMPANIES)]
    aliases = load_name_aliases(_write(folder, "\n".join(lines) + "\n"))
    ours = std.filter(pl.col("source_record_id").str.starts_with("ALIAS-"))
    index = ours.group_by("source_record_id").agg(pl.col("record_index").sort())
    true_pairs = {
        COMPANIES[int(key.removeprefix("ALIAS-"))][0]: (int(pair[0]), int(pair[1]))
        for key, pair in index.iter_rows()
    }
    return Constructed(
        std=std,
        true_pairs=true_pairs,
        with_table=match_records(std, settings=MatchSettings(name_aliases=aliases)),
        without=match_records(std, settings=MatchSettings()),
    )


def _found(
    result: MatchResult, true_pairs: dict[str, tuple[int, int]], *, matched: bool
) -> set[tuple[int, int]]:
    pairs = result.scored_pairs
    if matched:
        pairs = pairs.filter(pl.col("decision") == "match")
    return set(pairs.select("left", "right").iter_rows()) & set(true_pairs.values())


@pytest.mark.parametrize("alias", ["IBM", "工行"])
def test_alias_pairs_are_candidates_and_matches_only_with_the_table(
    constructed: Constructed, alias: str
) -> None:
    left, right = constructed.true_pairs[alias]
    evidence = constructed.with_table.scored_pairs.filter(
        (pl.col("left") == left) & (pl.col("right") == right)
    )
    assert evidence.height == 1
    row = evidence.row(0, named=True)
    assert row["blocking_rules"] == NAME_ALIAS_RULE  # no other rule found them
    assert row["name_level"] == "sim>=0.93"
    assert row["name_weight"] > 0
    assert row["match_probability"] >= MatchSettings().model.match_threshold
    clusters = constructed.with_table.clusters["cluster"]
    assert clusters[left] == clusters[right]
    # Without the table no rule makes them a candidate pair, so they stay apart.
    plain = constructed.without
    assert (left, right) not in set(plain.scored_pairs.select("left", "right").iter_rows())
    assert plain.clusters["cluster"][left] != plain.clusters["cluster"][right]


def test_recall_added_by_the_alias_table(constructed: Constructed) -> None:
    """Recall of the constructed alias pairs, as candidates and as matches, without and with.

    Run with ``-s`` to see the figures.
    """
    truth = constructed.true_pairs
    counts = {
        (label, matched): len(_found(result, truth, matched=matched))
        for label, result in (("without", constructed.without), ("with", constructed.with_table))
        for matched in (False, True)
    }
    plain = set(constructed.without.scored_pairs.select("left", "right").iter_rows())
    aliased = set(constructed.with_table.scored_pairs.select("left", "right").iter_rows())
    print(
        f"\nalias pairs: {len(truth)}; candidate recall {counts['without', False]}/{len(truth)} "
        f"-> {counts['with', False]}/{len(truth)}; match recall {counts['without', True]}/"
        f"{len(truth)} -> {counts['with', True]}/{len(truth)}; candidate pairs "
        f"{len(plain)} -> {len(aliased)}"
    )
    assert counts["with", False] == counts["with", True] == len(truth)
    assert counts["without", True] < len(truth) // 2
    # The table adds the alias pairs and no other candidate.
    assert aliased - plain <= set(truth.values())
    assert plain <= aliased


def test_name_keys_of_records_and_table_agree() -> None:
    names = [name for _, name, *_ in COMPANIES]
    std = standardise(
        canonical_frame([{"name": n, "customer_type": "company"} for n in names]),
        default_regions={},
    ).sort("source_record_id")
    by_id = dict(zip(std["source_record_id"].to_list(), std["name_key"].to_list(), strict=True))
    assert [by_id[str(k)] for k in range(len(names))] == name_keys(names)
