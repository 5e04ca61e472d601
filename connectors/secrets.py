"""Secrets in a source config: references to environment variables, never values.

A connector that needs a password or token (a database, an API, an encrypted
export) names it in the config as ``${ENV:NAME}``. The value is read from the
environment once, when the config is validated, and from then on only
:meth:`EnvSecret.reveal` returns it: the config's JSON (stored with every run
in ``run_settings``), its repr in logs and Dagster events, and every error
message show the reference, not the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

ENV_REFERENCE = re.compile(r"^\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}$")


class EnvSecret:
    """A secret read from an environment variable when the config is loaded.

    Example:
        >>> secret = EnvSecret.from_reference("${ENV:CRM_TOKEN}", environ={"CRM_TOKEN": "s3cr3t"})
        >>> (secret.reveal(), str(secret), repr(secret))
        ('s3cr3t', '${ENV:CRM_TOKEN}', "EnvSecret('${ENV:CRM_TOKEN}')")
    """

    __slots__ = ("_value", "variable")

    def __init__(self, variable: str, value: str) -> None:
        self.variable = variable
        self._value = value

    @classmethod
    def from_reference(cls, text: object, *, environ: Mapping[str, str] | None = None) -> EnvSecret:
        """Resolve ``${ENV:NAME}``; the error never repeats what was written.

        Raises:
            ValueError: ``text`` is not a reference (a secret typed into the
                config) or the variable is not set.
        """
        match = ENV_REFERENCE.match(text) if isinstance(text, str) else None
        if match is None:
            msg = (
                "must reference an environment variable, e.g. ${ENV:CRM_API_TOKEN}; "
                "secrets are never written into the config"
            )
            raise ValueError(msg)
        variable = match.group(1)
        value = (os.environ if environ is None else environ).get(variable)
        if not value:
            msg = f"environment variable {variable!r} is not set"
            raise ValueError(msg)
        return cls(variable, value)

    @property
    def reference(self) -> str:
        """The text written in the config, ``${ENV:NAME}``."""
        return f"${{ENV:{self.variable}}}"

    def reveal(self) -> str:
        """The secret itself: hand it to the client that needs it, nowhere else."""
        return self._value

    def __str__(self) -> str:
        return self.reference

    def __repr__(self) -> str:
        return f"EnvSecret({self.reference!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EnvSecret):
            return NotImplemented
        return (self.variable, self._value) == (other.variable, other._value)

    def __hash__(self) -> int:
        return hash((self.variable, self._value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validate from a reference; serialise back to the reference, never the value."""
        return core_schema.no_info_plain_validator_function(
            lambda value: value if isinstance(value, EnvSecret) else cls.from_reference(value),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda secret: secret.reference, when_used="always"
            ),
        )
