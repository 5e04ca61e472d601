"""One benchmark job: Splink 5 (DuckDB backend) deduplicating a data set folder: the OLD recipe.

Kept only as a labelled extra row of ``bench.run`` (system ``splink``), for comparison
with the figures measured against it before: its prediction rules block on the whole
cleaned name alone, which on names that repeat makes a quadratic number of pairs
(257-415 s and 13.5 GiB at 1M). The recipe reviewed the way Splink's docs tell users,
with each rule's pair count printed and thresholds at 0.5 and at the best, is
``bench/splink_shared.py`` (``customers`` for this repository's generator), run by
``python -m bench.shared_sets --sets generator_100k,generator_1m``.

Runs under the bench-only venv (``.venv-bench``, ``pip install splink``): it
imports nothing from fusion. The configuration follows Splink's documented
recipe: light cleaning in SQL (lower case, punctuation and legal forms
removed, phone digits), blocking rules on names, e-mail, phone, postcode and
tax id, Jaro-Winkler and Levenshtein comparisons with term-frequency
adjustment on names and cities, the prior from deterministic rules, u by
random sampling and m by EM on two blocking rules; then
``predict`` and ``cluster_pairwise_predictions_at_threshold``. It writes
``clusters.parquet`` (record_key, cluster) and prints one JSON object.

    .venv-bench/bin/python bench/splink_job.py DATA_DIR OUT_DIR [--threshold 0.9]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

LEGAL_FORMS = (
    r"(有限责任公司|股份有限公司|股份公司|有限公司|\bco\b|\bcompany\b|\bltd\b|\blimited\b|\binc\b"
    r"|\bincorporated\b|\bcorp\b|\bcorporation\b|\bllc\b|\bl l c\b)"
)


def _clean_sql(columns: set[str]) -> str:
    def col(name: str) -> str:
        return f"CAST({name} AS VARCHAR)" if name in columns else "CAST(NULL AS VARCHAR)"

    name = f"lower(regexp_replace(coalesce({col('name')}, ''), '[^\\p{{L}}\\p{{N}}]+', ' ', 'g'))"
    name = (
        f"trim(regexp_replace(regexp_replace({name}, '{LEGAL_FORMS}', ' ', 'g'), '\\s+', ' ', 'g'))"
    )
    digits = f"regexp_replace(coalesce({col('phone')}, ''), '[^0-9]', '', 'g')"
    address = f"coalesce({col('address')}, '')"
    return f"""
        SELECT
            source_system || chr(31) || record_id AS unique_id,
            nullif({name}, '') AS name_clean,
            nullif(lower(trim({col("email")})), '') AS email,
            nullif(right({digits}, 9), '') AS phone_digits,
            nullif(lower(regexp_replace({address}, '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')), '')
                AS address_clean,
            nullif(upper(replace(coalesce({col("postcode")}, ''), ' ', '')), '') AS postcode,
            nullif(lower(trim({col("city")})), '') AS city,
            nullif(upper(replace(replace(coalesce({col("tax_id")}, ''), '-', ''), ' ', '')), '')
                AS tax_id,
            {col("birth_date" if "birth_date" in columns else "dob")} AS dob
        FROM raw
    """


def main(argv: list[str] | None = None) -> None:
    """Run Splink on ``data`` and write its clusters under ``out``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--threshold", type=float, default=0.9)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    files = sorted(args.data.glob("*.csv"))
    union = " UNION ALL BY NAME ".join(
        f"SELECT '{p.stem}' AS source_system, * FROM read_csv('{p}', all_varchar=true, header=true)"
        for p in files
    )
    con.execute(f"CREATE TABLE raw AS {union}")
    columns = {r[0] for r in con.execute("DESCRIBE raw").fetchall()}
    con.execute(f"CREATE TABLE records AS {_clean_sql(columns)}")
    # FEBRL's date of birth (``birth_date``; ``dob`` in folders written before it was canonical).
    has_dob = bool(columns & {"birth_date", "dob"})
    loaded = time.perf_counter()

    db_api = DuckDBAPI(connection=con)
    records = db_api.register("records")
    comparisons = [
        cl.JaroWinklerAtThresholds("name_clean", [0.95, 0.88, 0.8]).configure(
            term_frequency_adjustments=True
        ),
        cl.EmailComparison("email"),
        cl.ExactMatch("phone_digits"),
        cl.LevenshteinAtThresholds("address_clean", [2, 5]),
        cl.ExactMatch("postcode"),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        cl.LevenshteinAtThresholds("tax_id", [1]),
    ]
    blocking = [
        block_on("name_clean"),
        block_on("email"),
        block_on("phone_digits"),
        block_on("tax_id"),
        block_on("postcode", "substr(name_clean, 1, 2)"),
    ]
    if has_dob:
        comparisons.append(cl.LevenshteinAtThresholds("dob", [1, 2]))
        blocking += [block_on("dob"), block_on("postcode", "substr(dob, 1, 4)")]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(records, settings, log_level="WARNING")
    deterministic = [block_on("email"), block_on("tax_id")]
    if has_dob:
        deterministic = [block_on("name_clean", "dob"), block_on("tax_id", "postcode")]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_clean"))
    second = block_on("dob") if has_dob else block_on("postcode")
    linker.training.estimate_parameters_using_expectation_maximisation(second)
    trained = time.perf_counter()
    predictions = linker.inference.predict()
    predicted = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.threshold
    )
    clustered = time.perf_counter()
    pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchone()
    con.execute(
        f"COPY (SELECT unique_id AS record_key, CAST(cluster_id AS VARCHAR) AS cluster "
        f"FROM {clusters.physical_name}) TO '{args.out / 'clusters.parquet'}' (FORMAT parquet)"
    )
    print(
        json.dumps(
            {
                "load_s": round(loaded - started, 3),
                "train_s": round(trained - loaded, 3),
                "predict_s": round(predicted - trained, 3),
                "cluster_s": round(clustered - predicted, 3),
                "matching_wall_s": round(clustered - loaded, 3),
                "candidate_pairs": int(pairs[0]) if pairs else 0,
            }
        )
    )


if __name__ == "__main__":
    main()
