"""Charts drawn as inline SVG: match weights, m/u, a waterfall, a record graph, stacked columns.

The HTML pages of fusion open offline and forbid scripts (``lineage.html``), so
a chart cannot come from a charting library loaded from a CDN: each one here
is a string of SVG elements computed from the numbers, with nothing to fetch.
Every mark carries its number in ``data-*`` attributes and a ``<title>``
tooltip, so a test (or a curious reader's inspector) can check the picture
against the data it claims to show. All text goes through ``html.escape``.

Example:
    >>> svg = waterfall([("name", 6.3), ("email", -3.4)], prior=-1.4, probability=0.82,
    ...                 title="w")
    >>> svg.count('class="step"'), 'data-value="1.500000"' in svg
    (2, True)
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

POSITIVE = "#2457a6"
NEGATIVE = "#c0392b"
M_COLOUR = "#2457a6"
U_COLOUR = "#e08a00"
MUTED = "#57606a"
GRID = "#d8d8d8"
DECISION_COLOURS = {"match": "#1b7f3b", "review": "#e08a00", "non_match": "#8a8a8a"}
NODE_PALETTE = ("#2457a6", "#1b7f3b", "#8e44ad", "#c0392b", "#e08a00", "#16a085", "#7f8c8d")
ROW = 18  # height of one bar row
LABEL_WIDTH = 230  # room for the level labels left of the bars
CHAR_WIDTH = 6.5  # average width of an 11px character, to size text columns
# Above this many links the probabilities written on them pile up in the middle of the
# circle; each line's tooltip still has it.
LABELLED_LINKS = 15


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate with one decimal (SVG needs no more)."""
    return f"{value:.1f}"


def _svg(width: float, height: float, title: str, body: str, *, kind: str) -> str:
    return (
        f'<svg class="chart {kind}" role="img" aria-label="{_esc(title)}" '
        f'width="{_num(width)}" height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'font-family="system-ui,sans-serif" font-size="11">'
        f"<title>{_esc(title)}</title>{body}</svg>"
    )


@dataclass(frozen=True)
class LevelBar:
    """One comparison level: its label, log2 Bayes factor, m and u."""

    comparison: str
    level: str
    weight: float
    m: float
    u: float


def match_weights(levels: Sequence[LevelBar], *, prior_weight: float, title: str) -> str:
    """Splink's match-weights chart: one horizontal bar per level, signed, around zero.

    Bars to the right (blue) count for a match, to the left (red) against;
    comparisons are separated by their name. The prior is drawn first.
    """
    scale_max = max([abs(prior_weight), *(abs(b.weight) for b in levels)], default=1.0) or 1.0
    half = 220.0
    zero = LABEL_WIDTH + half + 40
    width = zero + half + 60
    parts: list[str] = []
    y = 24.0

    def bar(comparison: str, level: str, weight: float) -> None:
        nonlocal y
        length = half * abs(weight) / scale_max
        x = zero if weight >= 0 else zero - length
        colour = POSITIVE if weight >= 0 else NEGATIVE
        anchor, tx = ("start", x + length + 4) if weight >= 0 else ("end", x - 4)
        parts.append(
            f'<text x="{_num(LABEL_WIDTH)}" y="{_num(y + 12)}" text-anchor="end">'
            f"{_esc(level)}</text>"
            f'<rect class="level" data-comparison="{_esc(comparison)}" data-level="{_esc(level)}" '
            f'data-value="{weight:.6f}" x="{_num(x)}" y="{_num(y + 2)}" width="{_num(length)}" '
            f'height="{ROW - 4}" fill="{colour}"><title>{_esc(comparison)} {_esc(level)}: '
            f"log2 Bayes factor {weight:.3f}</title></rect>"
            f'<text x="{_num(tx)}" y="{_num(y + 12)}" text-anchor="{anchor}" fill="{MUTED}">'
            f"{weight:.2f}</text>"
        )
        y += ROW

    parts.append(f'<text x="8" y="{_num(y + 12)}" font-weight="600">prior</text>')
    bar("prior", "prior", prior_weight)
    current = None
    for level in levels:
        if level.comparison != current:
            current = level.comparison
            y = _heading(parts, current, y)
        bar(level.comparison, level.level, level.weight)
    axis = (
        f'<line x1="{_num(zero)}" y1="16" x2="{_num(zero)}" y2="{_num(y + 4)}" stroke="{MUTED}"/>'
        f'<text x="{_num(zero)}" y="12" text-anchor="middle" fill="{MUTED}">0</text>'
        f'<text x="{_num(zero + half)}" y="12" text-anchor="end" fill="{MUTED}">'
        f"+{scale_max:.1f} → match</text>"
        f'<text x="{_num(zero - half)}" y="12" fill="{MUTED}">non-match ← −{scale_max:.1f}</text>'
    )
    return _svg(width, y + 10, title, axis + "".join(parts), kind="match-weights")


def _heading(parts: list[str], comparison: str, y: float) -> float:
    """A comparison's name above its levels' rows; returns where the rows start."""
    y += 6
    parts.append(f'<text x="8" y="{_num(y + 12)}" font-weight="600">{_esc(comparison)}</text>')
    return y + ROW


def m_u_bars(levels: Sequence[LevelBar], *, title: str) -> str:
    """Two bars per level on a 0-1 scale: m (same customer) and u (different customers)."""
    span = 300.0
    left = LABEL_WIDTH + 40
    width = left + span + 70
    parts = [
        f'<rect x="{_num(left)}" y="4" width="10" height="10" fill="{M_COLOUR}"/>'
        f'<text x="{_num(left + 14)}" y="13">m: share of true matches at the level</text>'
        f'<rect x="{_num(left)}" y="18" width="10" height="10" fill="{U_COLOUR}"/>'
        f'<text x="{_num(left + 14)}" y="27">u: share of non-matches at the level</text>'
    ]
    y = 36.0
    current = None
    for level in levels:
        if level.comparison != current:
            current = level.comparison
            y = _heading(parts, current, y)
        parts.append(
            f'<text x="{_num(LABEL_WIDTH)}" y="{_num(y + 14)}" text-anchor="end">'
            f"{_esc(level.level)}</text>"
        )
        for offset, (name, value, colour) in enumerate(
            (("m", level.m, M_COLOUR), ("u", level.u, U_COLOUR))
        ):
            top = y + 2 + offset * 11
            length = span * min(max(value, 0.0), 1.0)
            parts.append(
                f'<rect class="{name}" data-comparison="{_esc(level.comparison)}" '
                f'data-level="{_esc(level.level)}" data-value="{value:.6f}" x="{_num(left)}" '
                f'y="{_num(top)}" width="{_num(length)}" height="10" fill="{colour}">'
                f"<title>{_esc(level.comparison)} {_esc(level.level)}: {name} = {value:.4f}"
                f"</title></rect>"
                f'<text x="{_num(left + length + 4)}" y="{_num(top + 9)}" fill="{MUTED}" '
                f'font-size="10">{value:.4f}</text>'
            )
        y += 2 * 11 + 6
    grid = "".join(
        f'<line x1="{_num(left + span * t)}" y1="34" x2="{_num(left + span * t)}" '
        f'y2="{_num(y)}" stroke="{GRID}"/>'
        f'<text x="{_num(left + span * t)}" y="{_num(y + 12)}" text-anchor="middle" '
        f'fill="{MUTED}">{t:g}</text>'
        for t in (0, 0.25, 0.5, 0.75, 1)
    )
    return _svg(width, y + 18, title, grid + "".join(parts), kind="m-u")


def waterfall(
    steps: Sequence[tuple[str, float]],
    *,
    prior: float,
    probability: float,
    title: str,
    total: float | None = None,
) -> str:
    """Splink's waterfall: the prior, each comparison's weight stacked on the last, the total.

    A step's bar runs from the cumulative weight before it to the one after it
    (blue up, red down); the last bar is the final match weight from zero,
    labelled with the match probability it means. ``total``: the scored match
    weight, when the caller has it (the steps' parts are rounded, so their sum
    can differ from it in the last digit); else the sum of the steps.
    """
    totals = [prior]
    for _, weight in steps:
        totals.append(totals[-1] + weight)
    final = totals[-1] if total is None else total
    low = min(0.0, *totals)
    high = max(0.0, *totals)
    if high - low < 1e-9:
        high = low + 1.0
    plot_top, plot_height = 44.0, 260.0
    column = 64.0
    left = 50.0
    width = left + column * (len(steps) + 2) + 20

    def y_of(value: float) -> float:
        return plot_top + plot_height * (high - value) / (high - low)

    parts: list[str] = []
    step = _tick_step(high - low)
    tick = math.ceil(low / step) * step
    while tick <= high + 1e-9:
        parts.append(
            f'<line x1="{_num(left)}" y1="{_num(y_of(tick))}" x2="{_num(width - 10)}" '
            f'y2="{_num(y_of(tick))}" stroke="{MUTED if abs(tick) < 1e-9 else GRID}"/>'
            f'<text x="{_num(left - 4)}" y="{_num(y_of(tick) + 4)}" text-anchor="end" '
            f'fill="{MUTED}">{tick:g}</text>'
        )
        tick += step
    bars = [("prior", 0.0, prior, "prior")] + [
        (name, totals[i], totals[i + 1], "step") for i, (name, _) in enumerate(steps)
    ]
    bars.append(("final", 0.0, final, "final"))
    for i, (name, start, end, kind) in enumerate(bars):
        x = left + 8 + i * column
        top, bottom = y_of(max(start, end)), y_of(min(start, end))
        value = end - start
        colour = "#1f2328" if kind == "final" else POSITIVE if value >= 0 else NEGATIVE
        extra = f' data-probability="{probability:.6f}"' if kind == "final" else ""
        label = f"{value:+.2f}" if kind == "step" else f"{value:.2f}"
        parts.append(
            f'<rect class="{kind}" data-name="{_esc(name)}" data-value="{value:.6f}" '
            f'data-cumulative="{end:.6f}"{extra} x="{_num(x)}" y="{_num(top)}" '
            f'width="{_num(column - 16)}" height="{_num(max(bottom - top, 1.0))}" fill="{colour}">'
            f"<title>{_esc(name)}: {value:+.3f} (cumulative {end:.3f})</title></rect>"
            f'<text x="{_num(x + (column - 16) / 2)}" y="{_num(top - 4)}" text-anchor="middle" '
            f'fill="{MUTED}">{label}</text>'
            f'<text transform="translate({_num(x + (column - 16) / 2)},'
            f'{_num(plot_top + plot_height + 12)}) rotate(30)">{_esc(name)}</text>'
        )
        if kind != "final" and i + 1 < len(bars):
            parts.append(
                f'<line x1="{_num(x + column - 16)}" y1="{_num(y_of(end))}" '
                f'x2="{_num(x + column)}" y2="{_num(y_of(end))}" stroke="{MUTED}" '
                f'stroke-dasharray="2,2"/>'
            )
    caption = (
        f'<text x="{_num(left)}" y="16" font-weight="600">match weight {final:.3f} → '
        f"match probability {probability:.6f}</text>"
    )
    return _svg(width, plot_top + plot_height + 80, title, caption + "".join(parts),
                kind="waterfall")  # fmt: skip


def _tick_step(span: float) -> float:
    """A round grid step giving about five lines over ``span``."""
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


@dataclass(frozen=True)
class Edge:
    """A scored pair between two nodes of a record graph."""

    left: str
    right: str
    probability: float
    decision: str


def record_graph(nodes: Sequence[tuple[str, str]], edges: Sequence[Edge], *, title: str) -> str:
    """The records of one customer on a circle, joined by their scored links.

    ``nodes`` are ``(key, group)``: the key is the label (``crm:CRM-000265``),
    the group (source system) picks the colour. An edge's colour is its
    decision, its width grows with the match probability, and the probability
    is written at its middle (up to ``LABELLED_LINKS`` links; always in its tooltip).
    """
    # Room on the circle for each label, without spreading a small customer thin.
    radius = 140.0 + 4.0 * len(nodes) if len(nodes) > 1 else 0.0
    label_room = max((len(key) for key, _ in nodes), default=10) * CHAR_WIDTH + 20
    centre = radius + label_room
    size = 2 * centre
    groups = sorted({group for _, group in nodes})
    colour = {g: NODE_PALETTE[i % len(NODE_PALETTE)] for i, g in enumerate(groups)}
    where: dict[str, tuple[float, float]] = {}
    for i, (key, _) in enumerate(nodes):
        angle = 2 * math.pi * i / max(len(nodes), 1) - math.pi / 2
        where[key] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts: list[str] = []
    labelled = len(edges) <= LABELLED_LINKS
    for edge in edges:
        if edge.left not in where or edge.right not in where:
            continue
        (x1, y1), (x2, y2) = where[edge.left], where[edge.right]
        stroke = DECISION_COLOURS.get(edge.decision, MUTED)
        dash = ' stroke-dasharray="4,3"' if edge.decision == "non_match" else ""
        parts.append(
            f'<line class="link" data-left="{_esc(edge.left)}" data-right="{_esc(edge.right)}" '
            f'data-probability="{edge.probability:.6f}" data-decision="{_esc(edge.decision)}" '
            f'x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" stroke="{stroke}" '
            f'stroke-width="{_num(1 + 3 * edge.probability)}"{dash}>'
            f"<title>{_esc(edge.left)} – {_esc(edge.right)}: p={edge.probability:.4f} "
            f"({_esc(edge.decision)})</title></line>"
        )
        if labelled:
            parts.append(
                f'<text x="{_num((x1 + x2) / 2)}" y="{_num((y1 + y2) / 2 - 3)}" '
                f'text-anchor="middle" fill="{MUTED}" font-size="10">{edge.probability:.2f}</text>'
            )
    for key, group in nodes:
        x, y = where[key]
        anchor = "start" if x >= centre - 1 else "end"
        dx = 12 if anchor == "start" else -12
        parts.append(
            f'<circle class="record" data-key="{_esc(key)}" data-group="{_esc(group)}" '
            f'cx="{_num(x)}" cy="{_num(y)}" r="8" fill="{colour[group]}"><title>{_esc(key)}'
            f"</title></circle>"
            f'<text x="{_num(x + dx)}" y="{_num(y + 4)}" text-anchor="{anchor}">{_esc(key)}</text>'
        )
    legend = "".join(
        f'<circle cx="12" cy="{14 + 16 * i}" r="5" fill="{colour[g]}"/>'
        f'<text x="22" y="{18 + 16 * i}">{_esc(g)}</text>'
        for i, g in enumerate(groups)
    )
    legend += "".join(
        f'<line x1="{_num(size - 120)}" y1="{14 + 16 * i}" x2="{_num(size - 96)}" '
        f'y2="{14 + 16 * i}" stroke="{c}" stroke-width="3"/>'
        f'<text x="{_num(size - 90)}" y="{18 + 16 * i}">{_esc(d)}</text>'
        for i, (d, c) in enumerate(DECISION_COLOURS.items())
    )
    return _svg(max(size, 320), max(size, 80), title, legend + "".join(parts),
                kind="record-graph")  # fmt: skip


def stacked_columns(
    categories: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]], *, title: str
) -> str:
    """One column per category (a release), stacked from ``series``: ``(name, colour, counts)``."""
    totals = [sum(s[2][i] for s in series) for i in range(len(categories))]
    top = max(totals, default=0) or 1
    plot_top, plot_height, column, left = 24.0, 180.0, 90.0, 40.0
    width = left + column * max(len(categories), 1) + 140
    parts = []
    for i, category in enumerate(categories):
        x = left + 10 + i * column
        base = plot_top + plot_height
        for name, colour, counts in series:
            height = plot_height * counts[i] / top
            base -= height
            parts.append(
                f'<rect class="segment" data-category="{_esc(category)}" '
                f'data-series="{_esc(name)}" data-value="{counts[i]}" x="{_num(x)}" '
                f'y="{_num(base)}" width="{_num(column - 30)}" height="{_num(height)}" '
                f'fill="{colour}"><title>{_esc(category)}: {counts[i]} '
                f"{_esc(name)}</title></rect>"
            )
            if counts[i] and height >= 12:
                parts.append(
                    f'<text x="{_num(x + (column - 30) / 2)}" y="{_num(base + height / 2 + 4)}" '
                    f'text-anchor="middle" fill="#fff">{counts[i]}</text>'
                )
        parts.append(
            f'<text x="{_num(x + (column - 30) / 2)}" y="{_num(plot_top + plot_height + 14)}" '
            f'text-anchor="middle">{_esc(category)}</text>'
        )
    legend_x = left + column * max(len(categories), 1) + 10
    legend = "".join(
        f'<rect x="{_num(legend_x)}" y="{30 + 16 * i}" width="10" height="10" fill="{c}"/>'
        f'<text x="{_num(legend_x + 14)}" y="{39 + 16 * i}">{_esc(n)}</text>'
        for i, (n, c, _) in enumerate(series)
    )
    return _svg(width, plot_top + plot_height + 30, title, legend + "".join(parts),
                kind="stacked")  # fmt: skip
