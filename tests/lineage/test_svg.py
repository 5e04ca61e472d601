"""The inline SVG charts draw the numbers they are given: one mark per value, in place."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from lineage.svg import Edge, LevelBar, m_u_bars, match_weights, record_graph, stacked_columns
from lineage.svg import waterfall as draw_waterfall

LEVELS = [
    LevelBar("name", "sim<0.7", math.log2(0.02 / 0.8), 0.02, 0.8),
    LevelBar("name", "exact", math.log2(0.9 / 0.01), 0.9, 0.01),
    LevelBar("email", "different", math.log2(0.1 / 0.99), 0.1, 0.99),
    LevelBar("email", "exact", math.log2(0.88 / 0.0004), 0.88, 0.0004),
]


def _marks(svg: str, css_class: str) -> list[ET.Element]:
    """Every element of ``svg`` with ``class`` ``css_class`` (the chart parses as XML)."""
    return [e for e in ET.fromstring(svg).iter() if e.get("class") == css_class]


def test_match_weights_draws_one_signed_bar_per_level_around_zero() -> None:
    svg = match_weights(LEVELS, prior_weight=-2.0, title="w")
    bars = _marks(svg, "level")
    assert len(bars) == len(LEVELS) + 1  # the prior first
    zero = float(bars[0].get("x", "0")) + float(bars[0].get("width", "0"))  # prior < 0 ends at 0
    for bar, level in zip(bars[1:], LEVELS, strict=True):
        assert bar.get("data-comparison") == level.comparison
        assert bar.get("data-level") == level.level
        assert float(bar.get("data-value", "nan")) == pytest.approx(level.weight, abs=1e-6)
        x, width = float(bar.get("x", "0")), float(bar.get("width", "0"))
        if level.weight > 0:
            assert x == pytest.approx(zero, abs=0.1)  # starts at zero, goes right
        else:
            assert x + width == pytest.approx(zero, abs=0.1)  # ends at zero, goes left
    # Lengths are proportional to the weights: the longest bar is the largest |weight|.
    longest = max(bars, key=lambda b: float(b.get("width", "0")))
    assert longest.get("data-level") == "exact"
    assert longest.get("data-comparison") == "email"


def test_m_u_bars_draw_m_and_u_of_every_level_on_one_scale() -> None:
    svg = m_u_bars(LEVELS, title="mu")
    m_bars, u_bars = _marks(svg, "m"), _marks(svg, "u")
    assert [float(b.get("data-value", "nan")) for b in m_bars] == pytest.approx(
        [lv.m for lv in LEVELS], abs=1e-6
    )
    assert [float(b.get("data-value", "nan")) for b in u_bars] == pytest.approx(
        [lv.u for lv in LEVELS], abs=1e-6
    )
    widths = {float(b.get("width", "0")) / float(b.get("data-value", "1")) for b in m_bars}
    assert max(widths) - min(widths) < 10  # one scale, up to the 0.1 px rounding of small bars


@pytest.mark.parametrize(
    ("steps", "prior", "final"),
    [
        ([("name", 6.34), ("email", -3.44), ("phone", 0.0)], -1.386, 1.514),
        ([("name", -5.46), ("tax_id", -7.66)], -1.386, -14.506),
        ([], 0.5, 0.5),
    ],
)
def test_waterfall_steps_run_from_one_total_to_the_next(
    steps: list[tuple[str, float]], prior: float, final: float
) -> None:
    svg = draw_waterfall(steps, prior=prior, probability=0.75, title="wf")
    drawn = _marks(svg, "step")
    assert [b.get("data-name") for b in drawn] == [name for name, _ in steps]
    cumulative = prior
    for bar, (_, weight) in zip(drawn, steps, strict=True):
        cumulative += weight
        assert float(bar.get("data-cumulative", "nan")) == pytest.approx(cumulative, abs=1e-6)
    (total,) = _marks(svg, "final")
    assert float(total.get("data-value", "nan")) == pytest.approx(final, abs=1e-6)
    assert total.get("data-probability") == "0.750000"
    (start,) = _marks(svg, "prior")
    assert float(start.get("data-value", "nan")) == pytest.approx(prior, abs=1e-6)


def test_record_graph_has_a_node_per_record_and_a_line_per_scored_pair() -> None:
    nodes = [("crm:C1", "crm"), ("erp:E1", "erp"), ("tickets:T1", "tickets"), ("erp:E2", "erp")]
    edges = [
        Edge("crm:C1", "erp:E1", 0.999, "match"),
        Edge("erp:E1", "tickets:T1", 0.6, "review"),
        Edge("crm:C1", "erp:E2", 0.01, "non_match"),
    ]
    svg = record_graph(nodes, edges, title="g")
    circles = _marks(svg, "record")
    assert [c.get("data-key") for c in circles] == [key for key, _ in nodes]
    centres = {c.get("data-key"): (float(c.get("cx", "0")), float(c.get("cy", "0")))
               for c in circles}  # fmt: skip
    assert len(set(centres.values())) == len(nodes)  # no two records on top of each other
    # Same source, same colour; different sources, different colours.
    colour = {c.get("data-key"): c.get("fill") for c in circles}
    assert colour["erp:E1"] == colour["erp:E2"] != colour["crm:C1"] != colour["tickets:T1"]
    lines = _marks(svg, "link")
    assert len(lines) == len(edges)
    for line, edge in zip(lines, edges, strict=True):
        assert (float(line.get("x1", "0")), float(line.get("y1", "0"))) == centres[edge.left]
        assert (float(line.get("x2", "0")), float(line.get("y2", "0"))) == centres[edge.right]
        assert float(line.get("data-probability", "nan")) == pytest.approx(edge.probability)
        assert line.get("data-decision") == edge.decision


def test_stacked_columns_stack_each_series_in_its_category() -> None:
    svg = stacked_columns(
        ["r1", "r2"], [("warning", "#e08a00", [3, 0]), ("error", "#c0392b", [1, 2])], title="s"
    )
    segments = _marks(svg, "segment")
    values = {(s.get("data-category"), s.get("data-series")): s for s in segments}
    assert {k: int(v.get("data-value", "-1")) for k, v in values.items()} == {
        ("r1", "warning"): 3, ("r1", "error"): 1, ("r2", "warning"): 0, ("r2", "error"): 2,
    }  # fmt: skip
    # Heights are proportional to the counts; the error segment sits on the warning one.
    unit = float(values[("r1", "warning")].get("height", "0")) / 3
    assert float(values[("r2", "error")].get("height", "0")) == pytest.approx(2 * unit, abs=0.1)
    warning, error = values[("r1", "warning")], values[("r1", "error")]
    assert float(error.get("y", "0")) + float(error.get("height", "0")) == pytest.approx(
        float(warning.get("y", "0")), abs=0.1
    )


def test_labels_are_escaped_text() -> None:
    svg = record_graph([("crm:<script>x</script>", "crm")], [], title="<b>")
    assert "<script>" not in svg
    assert ET.fromstring(svg).find("title") is not None
