"""Reading OpenLineage events back, validated against the client's own generated classes.

The openlineage-python package ships no JSON schema file, but its classes are
generated from the OpenLineage JSON schema (``openlineage.client.generated``),
with the schema's validators: an ISO date-time with a time part, a UUID run ID,
the event-type enum, required properties. ``parse_event`` rebuilds every object
of an event with those classes (facets chosen by their ``_schemaURL``), rejects
unknown properties and wrong types, and requires the rebuilt event to serialise
back to exactly the same JSON. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import attr
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import BaseFacet
from openlineage.client.serde import Serde

from lineage.openlineage import OpenLineageError

SCALARS: dict[type, type | tuple[type, ...]] = {str: str, int: int, float: (int, float), bool: bool}


@functools.cache
def _facet_classes() -> dict[str, type]:
    """Every generated facet class of the client, by its schema URL."""
    from openlineage.client import facet_v2

    classes: dict[str, type] = {}
    for module in vars(facet_v2).values():
        if not isinstance(module, types.ModuleType):
            continue
        for value in vars(module).values():
            if isinstance(value, type) and attr.has(value) and issubclass(value, BaseFacet):
                classes[value._get_schema()] = value
    return classes


def _structure(kind: Any, data: Any, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return _structure(options[0], data, where)
    if origin is list:
        if not isinstance(data, list):
            raise OpenLineageError(f"{where}: expected a list")
        return [_structure(args[0], item, f"{where}[{i}]") for i, item in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise OpenLineageError(f"{where}: expected an object")
        return {key: _structure(args[1], value, f"{where}.{key}") for key, value in data.items()}
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if isinstance(kind, type) and attr.has(kind):
        return _structure_class(kind, data, where)
    expected = SCALARS.get(kind)
    if expected is None:
        raise OpenLineageError(f"{where}: unsupported type {kind!r}")
    if not isinstance(data, expected) or (kind is int and isinstance(data, bool)):
        raise OpenLineageError(f"{where}: expected {kind.__name__}, got {data!r}")
    return data


def _structure_class(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise OpenLineageError(f"{where}: expected an object for {kind.__name__}")
    if issubclass(kind, BaseFacet):
        schema = data.get("_schemaURL")
        facet = _facet_classes().get(str(schema))
        if facet is None or not issubclass(facet, kind):
            raise OpenLineageError(f"{where}: no {kind.__name__} with schema {schema!r}")
        kind = facet
    hints = typing.get_type_hints(kind)
    fields = {f.name: f for f in attr.fields(typing.cast(Any, kind))}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise OpenLineageError(f"{where}: properties {unknown} are not in {kind.__name__}")
    kwargs = {}
    for name, field in fields.items():
        if not field.init:
            continue
        if name not in data:
            if field.default is attr.NOTHING:
                raise OpenLineageError(f"{where}: {kind.__name__} requires {name!r}")
            continue
        kwargs[field.alias] = _structure(hints[name], data[name], f"{where}.{name}")
    try:
        return kind(**kwargs)
    except (TypeError, ValueError) as error:
        raise OpenLineageError(f"{where}: invalid {kind.__name__}: {error}") from error


def parse_event(line: str) -> RunEvent:
    """Read one JSON line back into ``RunEvent``; raise ``OpenLineageError`` if it is invalid."""
    data = json.loads(line)
    event = _structure_class(RunEvent, data, "event")
    if Serde.to_dict(event) != data:
        raise OpenLineageError("event: does not round-trip through the OpenLineage classes")
    return typing.cast(RunEvent, event)


def read_events(path: Path) -> list[RunEvent]:
    """Every event of a JSON-lines file, validated."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [parse_event(line) for line in lines if line.strip()]
