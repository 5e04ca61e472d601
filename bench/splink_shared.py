"""Splink 5 (DuckDB) on one shared data set, configured the way Splink's docs show.

Runs under the bench-only venv (``.venv-bench``: ``pip install 'splink>=5' psutil``) and
imports nothing from fusion. ``bench.shared_sets`` starts it as a child process:

    .venv-bench/bin/python bench/splink_shared.py RECIPE INPUT_DIR OUT_DIR

Per set, the recipe follows Splink 5's documentation:

* ``historical_50k``: the docs' example on this very set (``deduplicate_50k_synthetic``):
  its blocking rules, ``ForenameSurnameComparison`` with the concatenated name for
  term frequencies, ``DateOfBirthComparison``, ``PostcodeComparison``, exact birth place
  and occupation with term frequencies; the prior from three deterministic rules at
  recall 0.6; u from 1e7 random pairs; EM on first name + surname, then on dob.
* ``people`` (people_100k, people_1m): the same person recipe on that export's columns,
  plus e-mail (``EmailComparison``) and phone; US ZIPs are compared by edit distance, not
  with the UK-shaped ``PostcodeComparison``; EM on dob, then phone (see the recipe: most
  pairs sharing first name and surname here are different people, and EM goes astray).
* ``chicago``: no docs example covers organisations, so the docs' general advice:
  cleaned name and address (Jaro-Winkler, term frequencies on the name), ZIP, phone
  digits, e-mail; combinations of fields as blocking rules.
* ``febrl3`` and ``febrl4``: the docs' FEBRL examples (``febrl3``: dedupe; ``febrl4``:
  link_only, the "detailed" model).

Each blocking rule's comparison count is printed (``count_comparisons_from_blocking_rules``)
before training. Predictions are made once, at the lowest threshold of the grid, and
clustered (``cluster_pairwise_predictions_at_threshold``) at every threshold of the grid.
Output: ``OUT_DIR/clusters.parquet`` (threshold, record_key, cluster) and one JSON object
on stdout (timings, pair counts). ``record_key`` is ``source_system U+001F record id``,
as in ``truth_records.csv``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

GRID = (*(round(0.05 * i, 2) for i in range(1, 20)), 0.99)
"""Match-probability thresholds clustered: 0.05, 0.10, ..., 0.95, 0.99."""

SWAPPED_NAMES = "l.first_name = r.surname and l.surname = r.first_name"


@dataclass(frozen=True)
class Recipe:
    """What one data set needs: its records table, the model and how it is trained."""

    files: tuple[tuple[str, str], ...]  # (source_system, file name) read from INPUT_DIR
    record_id: str
    select: str  # the columns of one source's records, over the raw table ``raw``
    comparisons: Callable[[], list[Any]]
    blocking: Callable[[], list[Any]]
    deterministic: Callable[[], list[Any]]
    recall: float
    em_rules: Callable[[], list[Any]]
    max_pairs: float = 1e7
    link_type: str = "dedupe_only"
    em_without_tf: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    # Several exports of one kind deduplicated together: their tables are unioned
    # (source files missing from a folder are skipped: older generator sets had no tickets).
    union: bool = False


def _clean(expression: str) -> str:
    """Lower case, punctuation to spaces, spaces collapsed; empty becomes null."""
    text = f"lower(coalesce({expression}, ''))"
    text = f"regexp_replace({text}, '[^a-z0-9]+', ' ', 'g')"
    return f"nullif(trim({text}), '')"


def _digits(expression: str) -> str:
    return f"nullif(regexp_replace(coalesce({expression}, ''), '[^0-9]', '', 'g'), '')"


HISTORICAL = Recipe(
    files=(("historical", "historical_figures_with_errors_50k.csv"),),
    record_id="unique_id",
    select="""
        first_name, surname, dob, birth_place, postcode_fake, occupation,
        first_name || ' ' || surname AS first_name_surname_concat
    """,
    comparisons=lambda: [
        cl.ForenameSurnameComparison(
            "first_name", "surname", forename_surname_concat_col_name="first_name_surname_concat"
        ),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.PostcodeComparison("postcode_fake"),
        cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
        cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
    ],
    blocking=lambda: [
        block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
        block_on("surname", "dob"),
        block_on("first_name", "dob"),
        block_on("postcode_fake", "first_name"),
        block_on("postcode_fake", "surname"),
        block_on("dob", "birth_place"),
        block_on("substr(postcode_fake,1,3)", "dob"),
        block_on("substr(postcode_fake,1,3)", "first_name"),
        block_on("substr(postcode_fake,1,3)", "surname"),
        block_on("substr(first_name,1,2)", "substr(surname,1,2)", "substr(dob,1,4)"),
    ],
    deterministic=lambda: [
        block_on("first_name", "surname", "dob"),
        block_on("substr(first_name,1,2)", "surname", "substr(postcode_fake,1,2)"),
        block_on("dob", "postcode_fake"),
    ],
    recall=0.6,
    em_rules=lambda: [block_on("first_name", "surname"), block_on("dob")],
)

PEOPLE = Recipe(
    files=(("people", "people.csv"),),
    record_id="record_id",
    select=f"""
        first_name, surname, dob, city, postcode, lower(trim(email)) AS email,
        {_digits("phone")} AS phone,
        first_name || ' ' || surname AS first_name_surname_concat
    """,
    comparisons=lambda: [
        cl.ForenameSurnameComparison(
            "first_name", "surname", forename_surname_concat_col_name="first_name_surname_concat"
        ),
        cl.DateOfBirthComparison("dob", input_is_string=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1]).configure(
            term_frequency_adjustments=True
        ),
        cl.NameComparison("city").configure(term_frequency_adjustments=True),
        cl.EmailComparison("email"),
        cl.DamerauLevenshteinAtThresholds("phone", [1]),
    ],
    blocking=lambda: [
        block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
        block_on("surname", "dob"),
        block_on("first_name", "dob"),
        block_on("postcode", "first_name"),
        block_on("postcode", "surname"),
        block_on("dob", "postcode"),
        block_on("email"),
        block_on("phone"),
        SWAPPED_NAMES,
    ],
    deterministic=lambda: [
        block_on("first_name", "surname", "dob"),
        block_on("email"),
        block_on("phone"),
    ],
    recall=0.7,
    # The docs ask of an EM blocking rule that matches be neither too rare nor too common
    # among its pairs. Here names follow real, skewed frequencies: pairs sharing first name
    # and surname are mostly different people, and EM on them settles on a mixed class
    # (m of an exact dob 0.30). Pairs sharing a dob or a phone hold far more matches.
    em_rules=lambda: [block_on("dob"), block_on("phone")],
)

CHICAGO = Recipe(
    files=(("chicago", "csv_example_messy_input.csv"),),
    record_id="Id",
    select=f"""
        {_clean('"Site name"')} AS name,
        {_clean('"Address"')} AS address,
        nullif(trim("Zip"), '') AS zip,
        {_digits('"Phone"')} AS phone,
        nullif(lower(trim("Email Address")), '') AS email
    """,
    comparisons=lambda: [
        cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.8]).configure(
            term_frequency_adjustments=True
        ),
        cl.JaroWinklerAtThresholds("address", [0.95, 0.88]),
        cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
        cl.ExactMatch("phone"),
        # Few e-mails sit in their own column (README: shifted columns): exact only.
        cl.ExactMatch("email"),
    ],
    blocking=lambda: [
        block_on("name"),
        block_on("address"),
        block_on("phone"),
        block_on("email"),
        block_on("zip", "substr(name,1,3)"),
        block_on("zip", "substr(address,1,4)"),
        block_on("substr(name,1,4)", "substr(address,1,3)"),
    ],
    deterministic=lambda: [block_on("name", "address"), block_on("phone", "address")],
    recall=0.7,
    em_rules=lambda: [block_on("zip"), block_on("substr(name,1,4)")],
)

_FEBRL_SELECT = """
    given_name, surname, trim(street_number) AS street_number, address_1, address_2, suburb,
    trim(postcode) AS postcode, state, trim(date_of_birth) AS date_of_birth,
    trim(soc_sec_id) AS soc_sec_id
"""

FEBRL3 = Recipe(
    files=(("febrl3", "febrl3.csv"),),
    record_id="rec_id",
    select=_FEBRL_SELECT,
    comparisons=lambda: [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
    ],
    # The docs block FEBRL3 (5,000 records) on single fields; the counts are printed.
    blocking=lambda: [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ],
    deterministic=lambda: [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
        "l.given_name = r.surname and l.surname = r.given_name"
        " and l.date_of_birth = r.date_of_birth",
    ],
    recall=0.9,
    max_pairs=1e6,  # as the docs' FEBRL examples
    em_without_tf=False,
    em_rules=lambda: [block_on("date_of_birth"), block_on("postcode")],
)

FEBRL4 = Recipe(
    files=(("febrl4a", "febrl4a.csv"), ("febrl4b", "febrl4b.csv")),
    record_id="rec_id",
    select=_FEBRL_SELECT,
    link_type="link_only",
    comparisons=lambda: [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        ),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True
        ),
    ],
    blocking=lambda: [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ],
    deterministic=lambda: [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
    ],
    recall=0.8,
    max_pairs=1e6,
    em_rules=lambda: [block_on("date_of_birth"), block_on("postcode")],
)

# Company legal forms and their Chinese counterparts, removed from a cleaned name.
LEGAL_FORMS = (
    r"(有限责任公司|股份有限公司|股份公司|有限公司|\bco\b|\bcompany\b|\bltd\b|\blimited\b"
    r"|\binc\b|\bincorporated\b|\bcorp\b|\bcorporation\b|\bllc\b|\bl l c\b)"
)


def _clean_any_script(expression: str) -> str:
    """Like ``_clean`` but keeping letters of every script (Chinese names stay)."""
    text = f"lower(coalesce({expression}, ''))"
    text = f"regexp_replace({text}, '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')"
    text = f"regexp_replace({text}, '{LEGAL_FORMS}', ' ', 'g')"
    return f"nullif(trim(regexp_replace({text}, '\\s+', ' ', 'g')), '')"


# This repository's generator (``python -m bench.generate_synthetic``): CRM, ERP, shop
# and ticket exports of companies and persons in one canonical layout. No docs example
# covers customer master data, so the docs' general advice as for chicago: cleaned name
# and address, e-mail, phone digits, postcode, city, tax id; blocking rules that combine
# fields so that no rule's count grows with the square of a common value (counts printed).
CUSTOMERS = Recipe(
    files=(
        ("crm", "crm.csv"),
        ("erp", "erp.csv"),
        ("web", "web.csv"),
        ("tickets", "tickets.csv"),
    ),
    record_id="record_id",
    select=f"""
        {_clean_any_script("name")} AS name,
        {_clean_any_script("address")} AS address,
        nullif(lower(trim(email)), '') AS email,
        nullif(right({_digits("phone")}, 9), '') AS phone,
        nullif(upper(replace(coalesce(postcode, ''), ' ', '')), '') AS postcode,
        nullif(lower(trim(city)), '') AS city,
        nullif(upper(regexp_replace(coalesce(tax_id, ''), '[^0-9A-Za-z]', '', 'g')), '')
            AS tax_id
    """,
    comparisons=lambda: [
        cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.8]).configure(
            term_frequency_adjustments=True
        ),
        cl.EmailComparison("email"),
        cl.ExactMatch("phone"),
        cl.JaroWinklerAtThresholds("address", [0.95, 0.88]),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        cl.LevenshteinAtThresholds("tax_id", [1]),
    ],
    blocking=lambda: [
        block_on("name", "city"),
        block_on("email"),
        block_on("phone"),
        block_on("tax_id"),
        block_on("postcode", "substr(name,1,2)"),
        block_on("substr(name,1,4)", "substr(address,1,4)"),
        block_on("postcode", "substr(address,1,6)"),
    ],
    deterministic=lambda: [
        block_on("email"),
        block_on("tax_id"),
        block_on("name", "phone"),
    ],
    recall=0.7,
    em_rules=lambda: [block_on("email"), block_on("postcode", "substr(name,1,2)")],
    union=True,
)

RECIPES = {
    "customers": CUSTOMERS,
    "historical_50k": HISTORICAL,
    "people": PEOPLE,
    "chicago": CHICAGO,
    "febrl3": FEBRL3,
    "febrl4": FEBRL4,
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load(con: duckdb.DuckDBPyConnection, recipe: Recipe, data: Path) -> list[str]:
    """One table per source file, ``record_key`` first; returns the table names."""
    tables = []
    for source, file_name in recipe.files:
        if recipe.union and not (data / file_name).exists():
            continue
        path = (data / file_name).as_posix().replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE TABLE raw AS SELECT * FROM "
            f"read_csv('{path}', all_varchar=true, header=true)"
        )
        table = f"records_{source}"
        con.execute(
            f"CREATE TABLE {table} AS SELECT "
            f"'{source}' || chr(31) || \"{recipe.record_id}\" AS record_key, "
            f"'{source}' AS source_system, {recipe.select} FROM raw"
        )
        tables.append(table)
    con.execute("DROP TABLE raw")
    if recipe.union and len(tables) > 1:
        con.execute(
            "CREATE TABLE records AS "
            + " UNION ALL ".join(f"SELECT * FROM {table}" for table in tables)
        )
        for table in tables:
            con.execute(f"DROP TABLE {table}")
        return ["records"]
    return tables


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    # fetchall: DuckDB 2 refuses new work on a connection with a result left unfinished.
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _rule_sql(rule: Any) -> str:
    if isinstance(rule, str):
        return rule
    return str(rule.get_blocking_rule("duckdb").blocking_rule_sql)


def main(argv: list[str] | None = None) -> None:
    """Train, predict and cluster one set; see the module docstring."""
    parser = argparse.ArgumentParser()
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    recipe = RECIPES[args.recipe]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    tables = _load(con, recipe, args.data)
    records = sum(_count(con, t) for t in tables)
    loaded = time.perf_counter()

    db_api = DuckDBAPI(connection=con)
    frames = [db_api.register(t) for t in tables]
    inputs: Any = frames[0] if len(frames) == 1 else frames
    link = {"link_type": recipe.link_type, "unique_id_column_name": "record_key"}
    if len(frames) > 1:
        link["source_dataset_column_name"] = "source_system"
    # Exact counts below a million records; a 10% sample of each side above (1M people).
    proportion = 1.0 if records <= 1_000_000 // 2 else 0.1
    counts = count_comparisons_from_blocking_rules(
        inputs, blocking_rules=recipe.blocking(), record_sample_proportion=proportion, **link
    )
    blocking_counts = []
    for rule, count in zip(recipe.blocking(), counts, strict=True):
        entry = {
            "rule": _rule_sql(rule),
            "marginal": int(count["marginal_comparison_count"]),
            "cumulative": int(count["cumulative_comparison_count"]),
        }
        blocking_counts.append(entry)
        _log(f"blocking {entry['rule']}: +{entry['marginal']:,} (total {entry['cumulative']:,})")
    counted = time.perf_counter()

    settings = SettingsCreator(
        comparisons=recipe.comparisons(),
        blocking_rules_to_generate_predictions=recipe.blocking(),
        retain_intermediate_calculation_columns=False,
        **link,
    )
    linker = Linker(inputs, settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        recipe.deterministic(), recall=recipe.recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=recipe.max_pairs, seed=1)
    for rule in recipe.em_rules():
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=recipe.em_without_tf
        )
    trained = time.perf_counter()
    prior = linker.misc.save_model_to_json()["probability_two_random_records_match"]
    predictions = linker.inference.predict(threshold_match_probability=min(GRID))
    predicted = time.perf_counter()
    pairs = _count(con, predictions.physical_name)

    con.execute("CREATE TABLE all_clusters (threshold DOUBLE, record_key VARCHAR, cluster VARCHAR)")
    cluster_s: dict[str, float] = {}
    for threshold in GRID:
        before = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        cluster_s[str(threshold)] = round(time.perf_counter() - before, 3)
        con.execute(
            f"INSERT INTO all_clusters SELECT {threshold}, record_key, CAST(cluster_id AS VARCHAR)"
            f" FROM {clusters.physical_name}"
        )
        clusters.drop_table_from_database_and_remove_from_cache()
    out = (args.out / "clusters.parquet").as_posix().replace("'", "''")
    con.execute(f"COPY all_clusters TO '{out}' (FORMAT parquet)")
    finished = time.perf_counter()
    print(
        json.dumps(
            {
                "records": records,
                "load_s": round(loaded - started, 3),
                "blocking_count_s": round(counted - loaded, 3),
                "train_s": round(trained - counted, 3),
                "predict_s": round(predicted - trained, 3),
                "cluster_s": cluster_s,
                "total_s": round(finished - started, 3),
                "scored_pairs_at_min_threshold": pairs,
                "blocking_counts": blocking_counts,
                "blocking_count_sample": proportion,
                "probability_two_random_records_match": prior,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
