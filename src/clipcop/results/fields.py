"""What every record shares: the envelope keys, the ``doc(...)`` field metadata and the ``Record`` base.

The record modules, the JSON output and the schema all read a field's meaning through :func:`doc`'s
metadata and its JSON key through :func:`json_key`, so these live apart from any one of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

SCHEMA_VERSION = 1
"""Raised when a key of a printed object is renamed, removed or changes meaning; new keys keep it."""

ENVELOPE = ("command", "schema_version", "clipcop_version")
"""The keys every ``--json`` object starts with."""


def doc(text: str, *, fraction: bool = False, when: str | None = None, lines: bool = False) -> dict[str, Any]:
    """A record field's metadata: its one-line meaning; ``fraction`` marks accuracies (every number in it in
    [0, 1]); ``when`` makes the key optional (present only in that case, absent otherwise; such a field
    defaults to None); ``lines`` shows a nested object in the plain ``key: value`` output too, one dotted key
    per number."""
    return {"doc": text, "fraction": fraction, "when": when, "lines": lines}


class Record:
    """Base of the command records; ``COMMAND`` is the command path (``"data synth"``)."""

    COMMAND: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    """Which form of the command's result this is, when it has several (``retrieve --query``)."""


_JSON_NAMES = {"class_name": "class"}
"""Fields whose JSON key is a Python keyword."""


def json_key(name: str) -> str:
    """The JSON key of the field ``name`` (itself, unless it is a Python keyword spelled differently)."""
    return _JSON_NAMES.get(name, name)
