"""A user-supplied alias table for names: 'IBM' is 'International Business Machines'.

Some names of one customer share nothing a fuzzy comparison or an n-gram
embedding can see: an abbreviation ('IBM'), a short form ('工行' for
'中国工商银行'), a former name. A data steward who knows them lists them in a
CSV with the columns ``alias,name``::

    alias,name
    IBM,International Business Machines
    工行,中国工商银行

Both sides are keyed with the standardisation the records get
(``matching.standardise``: NFKC, traditional -> simplified, legal form, case
and punctuation removed), so 'IBM Corp.' in a record meets 'IBM' in the
table. Rows that share a key are one group ('IBM' -> 'International
Business Machines' and 'I.B.M.' -> 'IBM' name one company), and every key of
a group maps to the group's canonical key: the smallest key the ``name``
column gives it, so the result does not depend on row order.

A record whose ``name_key`` is in the table gets that canonical key as its
*alias key*; the ``name_alias`` blocking rule pairs records sharing it and
``NameSimilarity`` rates their names at its top similarity level. Alias keys
are computed from ``name_key`` inside matching (``alias_key_expr``), never
stored with the records, and the table itself is part of the run's settings
(``MatchSettings.name_aliases``), so a stored run can be recomputed from its
settings alone and a changed table changes the configuration hash.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.sparse.csgraph import connected_components

from connectors.canonical import CANONICAL_SCHEMA
from connectors.errors import ConfigError

ALIAS_COLUMNS = ("alias", "name")


class NameAliases(BaseModel):
    """The keyed alias table: each name key with its group's canonical key.

    Example:
        >>> aliases = NameAliases(source="aliases.csv", entries=(("ibm", "ibm"),))
        >>> aliases.canonical_of("ibm")
        'ibm'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="The CSV the table was read from, as the config names it.")
    entries: tuple[tuple[str, str], ...] = Field(
        default=(),
        description="(name key, canonical key) pairs, sorted by name key; each name key once.",
    )

    @model_validator(mode="after")
    def _one_canonical_key_per_name_key(self) -> NameAliases:
        keys = [key for key, _ in self.entries]
        if len(set(keys)) != len(keys):
            msg = f"name aliases from {self.source}: a name key is listed twice"
            raise ValueError(msg)
        return self

    def canonical_of(self, name_key: str) -> str | None:
        """The canonical key of ``name_key`` (None when the table does not list it)."""
        return dict(self.entries).get(name_key)


def alias_key_expr(aliases: NameAliases | None, name_key: str = "name_key") -> pl.Expr:
    """Each record's alias key: its group's canonical key, null where the table has no entry.

    Example:
        >>> aliases = NameAliases(source="a.csv", entries=(("ibm", "ibm x"), ("ibm x", "ibm x")))
        >>> frame = pl.DataFrame({"name_key": ["ibm", "acme", "ibm x"]})
        >>> frame.select(alias_key_expr(aliases))["name_key"].to_list()
        ['ibm x', None, 'ibm x']
    """
    entries = () if aliases is None else aliases.entries
    return pl.col(name_key).replace_strict(
        pl.Series([key for key, _ in entries], dtype=pl.String),
        pl.Series([canonical for _, canonical in entries], dtype=pl.String),
        default=None,
        return_dtype=pl.String,
    )


def name_keys(names: Sequence[str]) -> list[str | None]:
    """The ``name_key`` that ``matching.standardise`` gives each name (as a company's).

    The names go through the whole standardisation, not a copy of its name
    steps, so a table is keyed exactly as the records are.

    Example:
        >>> name_keys(["IBM Corp.", "中國工商銀行股份有限公司"])
        ['ibm', '中国工商银行']
    """
    from matching.standardise import standardise  # the package imports matching.settings

    count = len(names)
    given = {
        "source_system": ["name_aliases"] * count,
        "source_record_id": [f"{k:012d}" for k in range(count)],  # keeps the input order
        "customer_type": ["company"] * count,
        "name": list(names),
    }
    frame = pl.DataFrame(
        {column: given.get(column, [None] * count) for column in CANONICAL_SCHEMA},
        schema=CANONICAL_SCHEMA,
    )
    return standardise(frame, default_regions={})["name_key"].to_list()


def _read_rows(path: Path) -> list[tuple[int, str, str]]:
    """(line, alias, name) of every data row; ConfigError naming the file on any defect."""
    where = f"name alias table {path}"
    if not path.is_file():
        msg = f"{where}: file not found"
        raise ConfigError(msg)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [c.strip() for c in reader.fieldnames or []]
            if sorted(header) != sorted(ALIAS_COLUMNS):
                msg = f"{where}: expected the header 'alias,name', found {','.join(header)!r}"
                raise ConfigError(msg)
            reader.fieldnames = header
            rows = []
            for row in reader:
                values = [(row.get(c) or "").strip() for c in ALIAS_COLUMNS]
                empty = [c for c, v in zip(ALIAS_COLUMNS, values, strict=True) if not v]
                if empty or None in row:
                    problem = f"empty {empty[0]!r}" if empty else "more fields than the header"
                    msg = f"{where}, line {reader.line_num}: {problem}"
                    raise ConfigError(msg)
                rows.append((reader.line_num, values[0], values[1]))
    except UnicodeDecodeError as error:
        msg = f"{where}: not UTF-8 ({error.reason} at byte {error.start})"
        raise ConfigError(msg) from None
    except csv.Error as error:
        msg = f"{where}: not a valid CSV ({error})"
        raise ConfigError(msg) from None
    return rows


def load_name_aliases(path: Path | str, *, source: str | None = None) -> NameAliases:
    """Read and key an alias CSV (UTF-8, header ``alias,name``).

    ``source`` is how the configuration names the file (stored with the run);
    default: the path as given.

    Raises:
        ConfigError: naming the file (and the line) when it is missing, its
            header is not ``alias,name``, a cell is empty, or a name has no
            key left once its legal form and punctuation are removed.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "aliases.csv").write_text("alias,name\\nIBM,IBM Corp\\nI.B.M.,IBM\\n")
        >>> load_name_aliases(folder / "aliases.csv").entries
        (('i b m', 'ibm'), ('ibm', 'ibm'))
    """
    path = Path(path)
    rows = _read_rows(path)
    keys = name_keys([text for _, alias, name in rows for text in (alias, name)])
    index: dict[str, int] = {}  # name key -> node of the alias graph
    edges: list[tuple[int, int]] = []
    canonical_side: set[str] = set()
    for k, (line, alias, name) in enumerate(rows):
        pair = keys[2 * k], keys[2 * k + 1]
        for text, key in zip((alias, name), pair, strict=True):
            if key is None:
                msg = (
                    f"name alias table {path}, line {line}: {text!r} has no name key "
                    "(nothing is left once its legal form and punctuation are removed)"
                )
                raise ConfigError(msg)
        alias_key, name_key = str(pair[0]), str(pair[1])
        canonical_side.add(name_key)
        edges.append(
            (index.setdefault(alias_key, len(index)), index.setdefault(name_key, len(index)))
        )
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    graph = sp.coo_matrix((np.ones(len(edges)), (left, right)), shape=(len(index), len(index)))
    _, group_of = connected_components(graph, directed=False)
    groups: dict[int, list[str]] = {}
    for key, node in index.items():
        groups.setdefault(int(group_of[node]), []).append(key)
    entries: list[tuple[str, str]] = []
    for members in groups.values():
        canonical = min(m for m in members if m in canonical_side)
        entries.extend((member, canonical) for member in members)
    return NameAliases(source=source or str(path), entries=tuple(sorted(entries)))
