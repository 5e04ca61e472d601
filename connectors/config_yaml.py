"""Reading a config file's YAML strictly: no duplicate keys, bounded aliases, one-line errors.

PyYAML's ``safe_load`` lets the last of two equal keys win without a word (a
second ``record_id`` silently re-keys a source) and expands aliases without
limit: nine nested aliases of nine items each (a "billion laughs" document)
are a few hundred bytes of text and a billion values once validated or
printed. Both are refused here, before any value reaches validation, and every
error is one line naming the file and line.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from connectors.errors import ConfigError

# Nodes that aliases may add to a document beyond the nodes written in it.
# Real configs share a trust map or a value map (tens of nodes per use); a
# document needing more than this is a mistake or an attack.
MAX_ALIAS_EXPANSION = 10_000
# Longest excerpt of the user's text an error message quotes.
MAX_EXCERPT_CHARS = 60
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """A safe loader whose mappings refuse a key given twice."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            # `<<: *base` merges; a key written next to it overrides on purpose.
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                earlier = first_line.get(key)
            except TypeError:
                continue  # an unhashable key: PyYAML's own error follows
            if earlier is not None:
                msg = f"line {line}: duplicate key {excerpt(key)} (first given at line {earlier})"
                raise _StrictYamlError(msg)
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


class _StrictYamlError(Exception):
    """A document PyYAML would read but this loader refuses; the message has the line."""


def read_config_yaml(path: Path) -> Any:
    """Parse a config file's YAML strictly; see the module docstring.

    Raises:
        ConfigError: one line naming ``path`` and, where known, the line:
            text that is not UTF-8 or not YAML, a duplicate key, or aliases
            that expand beyond ``MAX_ALIAS_EXPANSION`` nodes (or into themselves).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "f.yaml"
        >>> _ = p.write_text("sources:\\n  - record_id: a\\n    record_id: b\\n")
        >>> read_config_yaml(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        connectors.errors.ConfigError: .../f.yaml: line 3: duplicate key 'record_id' (first ...)
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        msg = f"{path}: not UTF-8 text (byte 0x{byte:02x} at offset {error.start})"
        raise ConfigError(msg) from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_alias_expansion(node)
        return loader.construct_document(node)
    except _StrictYamlError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.MarkedYAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {_one_line(error)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply to read") from None
    except yaml.YAMLError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ConfigError(f"{path}: not valid YAML: {first}") from None
    finally:
        loader.dispose()


def excerpt(value: Any, *, limit: int = MAX_EXCERPT_CHARS) -> str:
    """A short ``repr`` of a config value for an error message, never the whole of a big one.

    Containers are shortened while they are rendered (``reprlib``), so a huge
    or deeply shared value is never turned into text in full.

    Example:
        >>> excerpt("x" * 100, limit=20)
        "'xxxxxxxxxxxxxxxxxx…"
        >>> excerpt({"a": [1, 2, 3]})
        "{'a': [1, 2, 3]}"
    """
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _make_repr() -> reprlib.Repr:
    shortener = reprlib.Repr()
    shortener.maxlevel = 3
    shortener.maxdict = shortener.maxlist = shortener.maxtuple = shortener.maxset = 4
    shortener.maxstring = shortener.maxother = MAX_EXCERPT_CHARS
    return shortener


_REPR = _make_repr()


def _one_line(error: yaml.MarkedYAMLError) -> str:
    """``line 3, column 2: expected ',' or ']', but got ':' (while parsing a flow sequence)``."""
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = error.problem or error.context or "unreadable"
    context = f" ({error.context})" if error.context and error.problem else ""
    return f"{where}{problem}{context}"


def _check_alias_expansion(root: Node) -> None:
    """Refuse aliases that would add more than ``MAX_ALIAS_EXPANSION`` nodes, or a cycle.

    The composed graph shares aliased nodes, so it stays small however large
    the expansion; the expanded size of every node is counted once (memoised),
    which keeps the check linear in the written document.
    """
    written = _count_distinct(root)
    limit = written + MAX_ALIAS_EXPANSION
    expanded: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in expanded:
            return expanded[key]
        if key in in_progress:
            line = node.start_mark.line + 1
            raise _StrictYamlError(f"line {line}: an alias refers to a node that contains it")
        in_progress.add(key)
        total = 1 + sum(size(child) for child in _children(node))
        in_progress.discard(key)
        if total > limit:
            line = node.start_mark.line + 1
            msg = (
                f"line {line}: aliases expand to more than {MAX_ALIAS_EXPANSION} values "
                "beyond what is written (an alias bomb?)"
            )
            raise _StrictYamlError(msg)
        expanded[key] = total
        return total

    size(root)


def _count_distinct(root: Node) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(_children(node))
    return len(seen)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
