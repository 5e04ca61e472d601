"""Where a source may read from: inside the config's folder or a declared data root.

A config is data, and data can be edited by more people than the code. So a
source path must resolve (symlinks followed) inside the folder of the config
file or one of the run's ``data_roots``; ``../../etc/passwd``, an absolute path
elsewhere, or a symlink that points out are refused before anything is read.
The check runs when the config is validated and again on every file a source
opens, since a glob's matches and symlinks can change after validation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

GLOB_CHARS = re.compile(r"[*?\[]")


def outside_roots(path: Path, *, roots: Sequence[Path]) -> str | None:
    """Why ``path`` (resolved, symlinks followed) is outside every root, or None.

    Example:
        >>> outside_roots(Path("/data/exports/../../etc/passwd"), roots=[Path("/data")])
        "resolves to /etc/passwd, outside the data roots (/data); add its folder to run.data_roots"
    """
    target = path.resolve()
    resolved = [root.resolve() for root in roots]
    if any(target.is_relative_to(root) for root in resolved):
        return None
    allowed = ", ".join(root.as_posix() for root in resolved)
    return (
        f"resolves to {target.as_posix()}, outside the data roots ({allowed}); "
        "add its folder to run.data_roots"
    )


def pattern_outside_roots(pattern: str, *, base_dir: Path, roots: Sequence[Path]) -> str | None:
    """:func:`outside_roots` for a configured path or glob, before any file exists.

    A glob is judged by its literal folder (the part before the first
    wildcard); ``..`` after a wildcard could climb anywhere and is refused.

    Example:
        >>> pattern_outside_roots("exports/*/../../x.csv", base_dir=Path("/d"), roots=[Path("/d")])
        "climbs out with '..' after a wildcard"
    """
    parts = Path(pattern).parts
    literal: list[str] = []
    for part in parts:
        if GLOB_CHARS.search(part):
            break
        literal.append(part)
    if ".." in parts[len(literal) :]:
        return "climbs out with '..' after a wildcard"
    return outside_roots(base_dir.joinpath(*literal), roots=roots)
