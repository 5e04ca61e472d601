"""bench.report: the BENCHMARKS.md table from the runner's JSON lines."""

from __future__ import annotations

from bench.report import table

LINE = {
    "dataset": "synthetic-10k",
    "system": "fusion_match",
    "wall_s": 1.9,
    "process_wall_s": 3.7,
    "peak_rss_mib": 639.8,
    "candidate_pairs": 25541,
    "pairwise": {"precision": 0.99, "recall": 0.98, "f1": 0.985},
    "bcubed": {"precision": 0.998, "recall": 0.997, "f1": 0.9975},
}


def test_rows_carry_both_memory_figures_in_data_set_order() -> None:
    lines = [
        {**LINE, "dataset": "synthetic-1m", "peak_tree_rss_mib": 2415.8},
        {**LINE, "peak_tree_rss_mib": 549.8},
    ]
    rows = table(lines).splitlines()
    assert rows[0].count("|") == rows[2].count("|") == 14
    assert rows[2].startswith("| synthetic-10k | fusion_match | 1.9 | 3.7 | 640 | 550 | 25,541 |")
    assert "| 0.9900 | 0.9800 | 0.9850 |" in rows[2]
    assert rows[3].startswith("| synthetic-1m | fusion_match | 1.9 | 3.7 | 640 | 2416 |")


def test_a_line_without_the_tree_sample_says_so() -> None:
    assert "| 640 | n/a | 25,541 |" in table([LINE])
