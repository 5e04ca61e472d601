"""Data Docs that open offline: the GX validation results of every run as plain HTML pages.

Great Expectations' own Data Docs load Bootstrap, jQuery, Font Awesome and
bootstrap-table from CDNs (its package ships none of them), so without the
internet the pages render empty; they call a suite that only failed WARN
expectations "failed"; and a rebuild shows only the latest validation. These
pages are rendered from the same GX result documents (``quality_validations``)
through ``lineage.html``: inline CSS, no script, no external URL.

The folder holds:

- ``index.html``: the latest run's suites with their status (``passed``;
  ``warning``: only WARN expectations failed, the release was published;
  ``failed``: an ERROR expectation failed, publishing stopped), and the trend
  over the runs kept, as a chart and a table;
- ``validations/SUITE/RUN_ID.html``: every expectation of one suite in one run;
- ``history.jsonl``: one line per suite and run, the trend's data; the newest
  ``HISTORY_RUNS`` runs are kept, with their pages.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from lineage.html import esc, html_table, page
from lineage.svg import stacked_columns

HISTORY_FILE = "history.jsonl"
VALIDATIONS_DIR = "validations"
HISTORY_RUNS = 30
PARTIAL_SHOWN = 10
STATUS_COLOURS = {"passed": "#1b7f3b", "warning": "#e08a00", "failed": "#c0392b"}
_STATUS_STYLE = (
    "".join(
        f".status-{name}{{color:#fff;background:{colour};border-radius:3px;padding:0 5px}}"
        for name, colour in STATUS_COLOURS.items()
    )
    + "tr.expectation-warning td{background:#fff4e0}tr.expectation-failed td{background:#fbe3e0}"
)


def suite_status(*, failed_errors: int, failed_warnings: int) -> str:
    """``failed`` when an ERROR expectation failed, ``warning`` when only WARN ones did.

    Example:
        >>> suite_status(failed_errors=0, failed_warnings=2)
        'warning'
    """
    if failed_errors:
        return "failed"
    return "warning" if failed_warnings else "passed"


def _expectation_rows(document: Mapping[str, Any]) -> pl.DataFrame:
    """One row per expectation of a GX suite result document."""
    rows = []
    for result in document.get("results", []):
        config = result.get("expectation_config", {})
        kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
        details = result.get("result") or {}
        warn = config.get("severity") == "warning"
        success = bool(result.get("success"))
        observed = details.get("observed_value")
        partial = details.get("partial_unexpected_list") or []
        failing_rows = details.get("partial_unexpected_index_list") or []
        percent = details.get("unexpected_percent")
        rows.append(
            {
                "status": "passed" if success else "warning" if warn else "failed",
                "severity": "WARN" if warn else "ERROR",
                "expectation": config.get("type"),
                "column": kwargs.pop("column", None),
                "arguments": json.dumps(kwargs, ensure_ascii=False, default=str)[:300],
                "rows": details.get("element_count"),
                "unexpected": details.get("unexpected_count"),
                "unexpected_percent": None if percent is None else round(float(percent), 4),
                "unexpected_values": json.dumps(partial[:PARTIAL_SHOWN], ensure_ascii=False,
                                                default=str) if partial else None,
                "failing_rows": json.dumps(failing_rows[:PARTIAL_SHOWN], ensure_ascii=False,
                                           default=str) if failing_rows else None,
                "observed": None if observed is None
                else json.dumps(observed, ensure_ascii=False, default=str)[:300],
            }
        )  # fmt: skip
    schema = dict.fromkeys(
        ("status", "severity", "expectation", "column", "arguments", "rows", "unexpected",
         "unexpected_percent", "unexpected_values", "failing_rows", "observed"),
        pl.String,
    )  # fmt: skip
    return pl.DataFrame(
        [{k: None if v is None else str(v) for k, v in row.items()} for row in rows],
        schema=schema,
        orient="row",
    )


def _status_badge(status: str) -> str:
    return f'<span class="status-{esc(status)}">{esc(status)}</span>'


def _styled(document: str) -> str:
    """A ``lineage.html`` page with the status colours added to its stylesheet."""
    return document.replace("</style>", f"{_STATUS_STYLE}</style>", 1)


def _suite_page(
    suite: str, run_id: str, entry: Mapping[str, Any], document: Mapping[str, Any]
) -> str:
    rows = _expectation_rows(document)
    counts = (
        f"<p>{_status_badge(entry['status'])} {entry['evaluated']} expectations · "
        f"{entry['failed_errors']} ERROR failed · {entry['failed_warnings']} WARN failed · "
        f"validated {esc(entry['validated_at'])}</p>"
    )
    table = html_table(
        rows,
        row_class=lambda r: f"expectation-{r['status']}",
        numeric=("rows", "unexpected", "unexpected_percent"),
        table_id="expectations",
    )
    meta = (
        f'<p class="meta">run <code>{esc(run_id)}</code> · '
        '<a href="../../index.html">all suites</a></p>'
    )
    return _styled(page(f"Data Docs: {suite}", counts + table, meta=meta))


def _read_history(folder: Path) -> list[dict[str, Any]]:
    path = folder / HISTORY_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _runs(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Run IDs in the order they were first validated (oldest first)."""
    return list(dict.fromkeys(str(h["run_id"]) for h in history))


def _index_page(history: Sequence[Mapping[str, Any]]) -> str:
    if not history:
        return _styled(page("fusion Data Docs", "<p>no validation results yet</p>"))
    frame = pl.DataFrame(history)
    runs = _runs(history)
    latest = frame.filter(pl.col("run_id") == runs[-1])
    head = "".join(
        f"<th>{c}</th>" for c in ("suite", "status", "expectations", "ERROR failed", "WARN failed")
    )
    body = "".join(
        f'<tr class="suite-{esc(r["status"])}" data-suite="{esc(r["suite"])}">'
        f'<td><a href="{VALIDATIONS_DIR}/{esc(r["suite"])}/{esc(r["run_id"])}.html">'
        f"{esc(r['suite'])}</a></td><td>{_status_badge(r['status'])}</td>"
        f'<td class="num">{r["evaluated"]}</td><td class="num">{r["failed_errors"]}</td>'
        f'<td class="num">{r["failed_warnings"]}</td></tr>'
        for r in latest.iter_rows(named=True)
    )
    latest_table = (
        f'<div class="scroll"><table id="suites"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )
    per_run = frame.group_by("run_id", maintain_order=True).agg(
        pl.col("validated_at").min(),
        *(
            (pl.col("status") == s).sum().cast(pl.Int64).alias(f"{s} suites")
            for s in STATUS_COLOURS
        ),
        pl.col("failed_errors").sum().alias("ERROR expectations failed"),
        pl.col("failed_warnings").sum().alias("WARN expectations failed"),
    )
    chart = stacked_columns(
        [f"{r[:8]}…" for r in per_run["run_id"].to_list()],
        [
            (name, colour, per_run[f"{name} suites"].to_list())
            for name, colour in STATUS_COLOURS.items()
        ],
        title="suites per run: passed, warning, failed",
    )
    body_parts = [
        "<p>Great Expectations validation results of every run, rendered offline. "
        "A suite is <em>warning</em> when only WARN expectations failed (the release was "
        "published) and <em>failed</em> when an ERROR expectation failed (publishing "
        "stopped).</p>",
        f"<h2>Latest run <code>{esc(runs[-1])}</code></h2>",
        latest_table,
        f"<h2>Trend over the last {len(runs)} run(s)</h2>",
        f'<figure id="trend-chart"><div class="scroll">{chart}</div></figure>',
        html_table(per_run, table_id="trend"),
    ]
    return _styled(page("fusion Data Docs", "".join(body_parts)))


def write_data_docs(validations: pl.DataFrame, folder: Path) -> Path:
    """Add one run's validation results to the Data Docs in ``folder`` and render them.

    ``validations`` is a ``quality_validations`` frame (one GX result document
    per suite). A folder without ``history.jsonl`` (GX's own site, from older
    versions) is replaced.

    Returns:
        The site's ``index.html``.
    """
    if folder.exists() and not (folder / HISTORY_FILE).exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    runs_now = set(validations["run_id"].to_list())
    history = [h for h in _read_history(folder) if h["run_id"] not in runs_now]
    for row in validations.iter_rows(named=True):
        document = json.loads(row["result_json"])
        entry = {
            "run_id": row["run_id"],
            "suite": row["suite"],
            "validated_at": (document.get("meta") or {}).get("validation_time"),
            "status": suite_status(
                failed_errors=row["failed_errors"], failed_warnings=row["failed_warnings"]
            ),
            "evaluated": row["evaluated"],
            "failed_errors": row["failed_errors"],
            "failed_warnings": row["failed_warnings"],
        }
        history.append(entry)
        target = folder / VALIDATIONS_DIR / row["suite"] / f"{row['run_id']}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_suite_page(row["suite"], row["run_id"], entry, document), "utf-8")
    kept = set(_runs(history)[-HISTORY_RUNS:])
    history = [h for h in history if h["run_id"] in kept]
    for old in (folder / VALIDATIONS_DIR).glob("*/*.html"):
        if old.stem not in kept:
            old.unlink()
    (folder / HISTORY_FILE).write_text(
        "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in history), encoding="utf-8"
    )
    index = folder / "index.html"
    index.write_text(_index_page(history), encoding="utf-8")
    return index
