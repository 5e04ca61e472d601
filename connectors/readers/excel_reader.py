"""Excel reader: one sheet, every cell as text.

Cells are read as strings from the start (no type inference), so a phone
number or a leading-zero postcode is not turned into a float on the way.
"""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from connectors.errors import SourceReadError
from connectors.readers import RawFrame, typed_raw_frame


def read_excel(path: Path, *, sheet: str | None) -> RawFrame:
    """Read one worksheet (the first unless ``sheet`` names one).

    The first row is the header; ``row_number`` counts data rows from 1.

    Raises:
        SourceReadError: the workbook has no such sheet or cannot be parsed.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.xlsx"
        >>> _ = pl.DataFrame({"id": ["C1"], "zip": ["01234"]}).write_excel(p)
        >>> read_excel(p, sheet=None).data.rows()
        [('C1', '01234')]
    """
    where = {"sheet_id": 1} if sheet is None else {"sheet_name": sheet}
    try:
        frame = pl.read_excel(path, **where, infer_schema_length=0, raise_if_empty=False)
    except (ValueError, fastexcel.FastExcelError) as exc:
        raise SourceReadError(str(exc)) from exc
    return typed_raw_frame(frame)
