"""Records linked into persons by shared keys (lineage.linking)."""

from __future__ import annotations

import polars as pl
import pytest

from lineage.linking import linked_components


@pytest.mark.parametrize(
    ("case", "keys", "nodes", "expected"),
    [
        ("no keys: every node alone", [], [0, 1, 2], [0, 1, 2]),
        ("one shared key joins two", [(0, "a"), (1, "a")], [0, 1, 2], [0, 0, 2]),
        (
            "a chain over two kinds of key is one component",
            [(0, "e:anna"), (1, "e:anna"), (1, "n:annalee"), (2, "n:annalee")],
            [0, 1, 2, 3],
            [0, 0, 0, 3],
        ),
        (
            "the label is the smallest node, whatever the order of keys",
            [(3, "x"), (2, "x"), (2, "y"), (1, "y")],
            [1, 2, 3],
            [1, 1, 1],
        ),
        (
            "a chain longer than any number of propagation passes is still one component",
            [(n, f"k{k}") for k in range(119) for n in (k, k + 1)],
            list(range(121)),
            [0] * 120 + [120],
        ),
    ],
)
def test_linked_components(
    case: str, keys: list[tuple[int, str]], nodes: list[int], expected: list[int]
) -> None:
    frame = pl.DataFrame(keys, schema={"_node": pl.Int64, "_key": pl.String}, orient="row")
    found = linked_components(frame, pl.Series(nodes, dtype=pl.Int64))
    assert found["_node"].to_list() == sorted(nodes), case
    assert found["_component"].to_list() == expected, case
