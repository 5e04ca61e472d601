"""``fusion explain --html``: the waterfall of one pair as a self-contained page.

The same explanation as the text waterfall (``pipelines.cli.explain``), drawn
as Splink draws it: the prior, then each comparison's weight stacked on the
running total, then the final match weight with its probability. Below it,
both records' compared values side by side (a comparison viewer) and the
verdict. Values are masked when the explanation was built with ``mask_pii``.
"""

from __future__ import annotations

import polars as pl

from lineage.html import esc, html_table, page
from lineage.svg import waterfall
from pipelines.stewardship.explain import PairExplanation


def render_explanation_html(explanation: PairExplanation) -> str:
    """One page: the waterfall chart, the per-comparison table and what the release decided."""
    e = explanation
    chart = waterfall(
        [(s.comparison, s.weight) for s in e.steps],
        prior=e.prior_weight,
        probability=e.match_probability,
        title=f"match weight waterfall of {e.left_text} and {e.right_text}",
    )
    steps = pl.DataFrame(
        [
            {
                "comparison": s.comparison,
                "level": s.level,
                "left value": s.left_value,
                "right value": s.right_value,
                "log2 BF": s.bayes_factor_log2,
                "tf adj": s.tf_adjustment_log2 or None,
                "weight": s.weight,
                "cumulative": s.cumulative_weight,
            }
            for s in e.steps
        ],
        schema={
            "comparison": pl.String,
            "level": pl.String,
            "left value": pl.String,
            "right value": pl.String,
            "log2 BF": pl.Float64,
            "tf adj": pl.Float64,
            "weight": pl.Float64,
            "cumulative": pl.Float64,
        },  # fmt: skip
    )
    found = (
        f"candidate pair, found by blocking rules: {', '.join(e.blocking_rules)}"
        if e.candidate
        else "not a candidate pair: no blocking rule put them together, so the run never "
        "scored them; this is the score they would have had"
    )
    same = "the same customer" if e.same_unified_id else "different customers"
    outcome = [
        f"<p id='probability'>match weight <strong>{e.match_weight:.4f}</strong> → match "
        f"probability <strong>{e.match_probability:.6f}</strong></p>",
        f"<p>decision: <strong>{esc(e.decision)}</strong> (match at p ≥ {e.match_threshold}, "
        f"review at p ≥ {e.review_threshold})</p>",
        f"<p>unified IDs: {esc(e.left_unified_id)} / {esc(e.right_unified_id)} ({same})</p>",
    ]
    if e.steward_decision is not None:
        outcome.append(f"<p>steward: {esc(e.steward_decision)} applied in this release</p>")
    if e.pending_steward_decision is not None:
        outcome.append(
            f"<p>steward: {esc(e.pending_steward_decision)} recorded since this release; "
            "it applies from the next run</p>"
        )
    body = [
        f"<p class='meta'>{esc(found)}</p>",
        "<h2>Waterfall</h2>",
        chart,
        *outcome,
        f"<p class='note' id='verdict'>{esc(e.verdict())}</p>",
        "<h2>Comparisons</h2>",
        html_table(
            steps,
            numeric=("log2 BF", "tf adj", "weight", "cumulative"),
            table_id="comparisons",
        ),
    ]
    meta = f'<p class="meta">release of run <code>{esc(e.run_id)}</code></p>'
    return page(f"fusion explain: {e.left_text} vs {e.right_text}", "".join(body), meta=meta)
