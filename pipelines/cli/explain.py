"""``fusion explain``: the match-weight waterfall of two records, as text, JSON or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.cells import cell_len, set_cell_size

from connectors.errors import FusionError
from pipelines.cli.app import fail, warehouse_option

if TYPE_CHECKING:
    from pipelines.stewardship.explain import PairExplanation


@click.command()
@click.argument("left", metavar="SOURCE:ID")
@click.argument("right", metavar="SOURCE:ID")
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@click.option("--mask-pii", is_flag=True,
              help="Mask the compared e-mails, phones, addresses and contact names.")  # fmt: skip
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Also write the waterfall chart as a self-contained HTML file.")  # fmt: skip
def explain(
    left: str, right: str, warehouse_dir: Path, as_json: bool, mask_pii: bool,
    html_path: Path | None,
) -> None:  # fmt: skip
    """Why two source records were merged, or why not: the match-weight waterfall.

    Works for any two records of the current release, scored candidates or
    not: prior, each comparison's level and log2 Bayes factor, the final
    probability and decision, and what clustering and stewards made of it.
    """
    import json

    from pipelines.stewardship.explain import explain_pair

    try:
        explanation = explain_pair(warehouse_dir, left, right, mask_pii=mask_pii)
    except FusionError as error:
        fail("explain", error)
    if as_json:
        click.echo(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(format_explanation(explanation))
    if html_path is not None:
        from pipelines.stewardship.explain_html import render_explanation_html

        html_path.write_text(render_explanation_html(explanation), encoding="utf-8")
        click.echo(f"HTML report written to {html_path}", err=as_json)


def _cell(value: str | None, width: int) -> str:
    """``value`` cut and padded to ``width`` terminal cells (a CJK character takes two)."""
    text = "" if value is None else value
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    return text + " " * (width - cell_len(text))


def format_explanation(explanation: PairExplanation) -> str:
    """The waterfall as text: one line per comparison, then the outcome."""
    e = explanation
    lines = [f"{e.left_text}  vs  {e.right_text}   (release of run {e.run_id})"]
    if e.candidate:
        lines.append(f"candidate pair, found by blocking rules: {', '.join(e.blocking_rules)}")
    else:
        lines.append(
            "not a candidate pair: no blocking rule put them together, so the run never "
            "scored them; below is the score they would have had"
        )
    named = max([11, *(cell_len(s.comparison) for s in e.steps)])
    header = (
        f"{'comparison':<{named}} {'level':<13} {'left value':<22} {'right value':<22} "
        f"{'log2 BF':>8} {'tf adj':>7} {'weight':>8} {'cumulative':>10}"
    )
    lines += ["", header, "-" * len(header)]
    lines.append(f"{'prior':<{named}} {'':<13} {'':<22} {'':<22} {'':>8} {'':>7} "
                 f"{e.prior_weight:>8.3f} {e.prior_weight:>10.3f}")  # fmt: skip
    for s in e.steps:
        tf = f"{s.tf_adjustment_log2:>7.3f}" if s.tf_adjustment_log2 else f"{'':>7}"
        lines.append(
            f"{_cell(s.comparison, named)} {_cell(s.level, 13)} {_cell(s.left_value, 22)} "
            f"{_cell(s.right_value, 22)} {s.bayes_factor_log2:>8.3f} {tf} "
            f"{s.weight:>8.3f} {s.cumulative_weight:>10.3f}"
        )
    lines += [
        "-" * len(header),
        f"match weight {e.match_weight:.4f}  ->  match probability {e.match_probability:.6f}",
        f"decision: {e.decision}  (match at p >= {e.match_threshold}, "
        f"review at p >= {e.review_threshold})",
    ]
    if e.stored is not None and (
        round(float(e.stored["match_weight"]), 4) != round(e.match_weight, 4)
    ):
        lines.append(
            f"note: the release recorded weight {e.stored['match_weight']}; this version of "
            "fusion scores the pair differently"
        )
    same = "the same customer" if e.same_unified_id else "different customers"
    lines.append(f"unified IDs: {e.left_unified_id} / {e.right_unified_id} ({same})")
    if e.steward_decision is not None:
        lines.append(f"steward: {e.steward_decision} applied in this release")
    if e.pending_steward_decision is not None:
        lines.append(
            f"steward: {e.pending_steward_decision} recorded since this release; "
            "it applies from the next run"
        )
    lines.append(f"verdict: {e.verdict()}")
    return "\n".join(lines)
