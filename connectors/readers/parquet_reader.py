"""Parquet reader: typed columns in, text cells out.

Parquet carries types and nesting; the canonical frame is text. Structs are
flattened to dotted paths (as for JSON Lines) so one config vocabulary
addresses nested fields in any format.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from connectors.readers import RawFrame, typed_raw_frame


def read_parquet(path: Path) -> RawFrame:
    """Read a Parquet file; ``row_number`` is the 1-based row, nothing fails per row.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.parquet"
        >>> pl.DataFrame({"id": [7], "c": [{"name": "Ann"}]}).write_parquet(p)
        >>> read_parquet(p).data.rows(named=True)
        [{'id': '7', 'c.name': 'Ann'}]
    """
    return typed_raw_frame(pl.read_parquet(path))
