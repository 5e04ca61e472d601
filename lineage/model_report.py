"""The published match model as pictures: ``fusion model [--html FILE]``.

The model a release scored with is stored as JSON in ``run_settings``
(``match_model_json``): m and u of every level of every comparison, and the
prior. Read as JSON it is hard to judge; Splink users look at two charts
instead, drawn here as inline SVG: the match weight (log2 Bayes factor,
``log2(m/u)``) of every level, and m beside u per level.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lineage.html import esc, html_table, page, run_meta
from lineage.report import ReportError, RunInfo, first_row, load_run_info, open_warehouse
from lineage.report import table_names as warehouse_tables
from lineage.svg import LevelBar, m_u_bars, match_weights
from matching.model import FellegiSunterModel


@dataclass(frozen=True)
class ModelReport:
    """The release's match model, one row per comparison level."""

    run: RunInfo
    model: FellegiSunterModel

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds that a candidate pair is a match."""
        return math.log2(self.model.prior / (1.0 - self.model.prior))

    def levels(self) -> list[LevelBar]:
        """Every level in the model's order: worst agreement first within a comparison."""
        return [
            LevelBar(params.comparison, label, float(weight), m, u)
            for params in self.model.levels
            for label, m, u, weight in zip(
                params.labels, params.m, params.u, params.bayes_factors_log2, strict=True
            )
        ]

    def frame(self) -> pl.DataFrame:
        """The levels as a table: comparison, level, m, u, log2 Bayes factor."""
        return pl.DataFrame(
            [
                {
                    "comparison": b.comparison,
                    "level": b.level,
                    "m": b.m,
                    "u": b.u,
                    "log2_bayes_factor": b.weight,
                }
                for b in self.levels()
            ],
            schema={
                "comparison": pl.String,
                "level": pl.String,
                "m": pl.Float64,
                "u": pl.Float64,
                "log2_bayes_factor": pl.Float64,
            },  # fmt: skip
        )


def load_model_report(warehouse_dir: Path) -> ModelReport:
    """The match model of the current release.

    Raises:
        ReportError: no warehouse, or a release without a stored model.
    """
    with contextlib.closing(open_warehouse(warehouse_dir)) as con:
        tables = warehouse_tables(con)
        row = (
            first_row(con, "SELECT match_model_json FROM run_settings LIMIT 1")
            if "run_settings" in tables
            else None
        )
        if row is None or row[0] is None:
            msg = f"the release at {warehouse_dir} stores no match model (run_settings)"
            raise ReportError(msg)
        return ModelReport(
            run=load_run_info(con, tables),
            model=FellegiSunterModel.from_dict(json.loads(str(row[0]))),
        )


def render_model_terminal(report: ModelReport, console: Console) -> None:
    """Print the levels as a table, with the prior and how the model was learnt."""
    model = report.model
    console.print(
        Text(
            f"run {report.run.run_id}  prior {model.prior:.4f} "
            f"(log2 odds {report.prior_weight:.3f})  EM iterations {model.em_iterations}"
        )
    )
    table = Table(title="Match model: m, u and match weight per comparison level")
    for column in ("comparison", "level", "m", "u", "log2 BF"):
        table.add_column(column, justify="right" if column in ("m", "u", "log2 BF") else "left")
    for bar in report.levels():
        table.add_row(
            Text(bar.comparison),
            Text(bar.level),
            f"{bar.m:.4f}",
            f"{bar.u:.4f}",
            f"{bar.weight:+.3f}",
        )
    console.print(table)


def render_model_html(report: ModelReport) -> str:
    """One self-contained page: match-weights chart, m/u chart, and the levels as a table."""
    levels = report.levels()
    model = report.model
    training = ", ".join(f"{k}: {v:g}" for k, v in model.training.items()) or "unsupervised EM"
    groups = ", ".join(f"{k} → {v}" for k, v in model.evidence_groups.items()) or "none"
    body = [
        f"<p>prior {model.prior:.4f} (log2 odds {report.prior_weight:.3f}) · EM iterations "
        f"{model.em_iterations} · learnt from: {esc(training)} · evidence pooled: "
        f"{esc(groups)}</p>",
        "<h2>Match weights</h2>",
        "<p class='meta'>log2 Bayes factor log2(m/u) of each level: what a pair at that level "
        "adds to its match weight (right: towards a match, left: against). Term-frequency "
        "adjustments of the top levels come on top, per value.</p>",
        match_weights(levels, prior_weight=report.prior_weight, title="match weights per level"),
        "<h2>m and u probabilities</h2>",
        "<p class='meta'>m: how often two records of the same customer agree at the level; "
        "u: how often two records of different customers do.</p>",
        m_u_bars(levels, title="m and u per level"),
        "<h2>Parameters</h2>",
        html_table(
            report.frame(), numeric=("m", "u", "log2_bayes_factor"), table_id="model-levels"
        ),
    ]
    run = report.run
    meta = run_meta(run.run_id, run.config_hash, run.code_version, masked=False)
    return page("fusion match model", "".join(body), meta=meta)
