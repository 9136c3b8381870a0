"""A record as printed: the ``--json`` object (:func:`to_json`) and the plain ``key: value`` lines
(:func:`to_lines`), with NaN as null and optional keys only when set.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from clipcop._version import __version__
from clipcop.results.fields import SCHEMA_VERSION, Record, json_key


def _value(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _object(value)
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _object(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None and f.metadata.get("when") is not None:
            continue
        out[json_key(f.name)] = _value(value)
    return out


def to_json(record: Record) -> dict[str, Any]:
    """The printed object: ``command``, ``schema_version``, ``clipcop_version``, then the record's fields
    (optional ones only when set; NaN and infinity as null)."""
    return {
        "command": record.COMMAND,
        "schema_version": SCHEMA_VERSION,
        "clipcop_version": __version__,
        **_object(record),
    }


def to_lines(record: Record) -> dict[str, Any]:
    """The plain ``key: value`` form: the scalar fields that are set, and fields marked ``lines`` flattened
    to dotted keys (``accuracy.clip.1``)."""
    out: dict[str, Any] = {}
    plain = _object(record)
    for f in fields(record):  # type: ignore[arg-type]
        value = plain.get(json_key(f.name))
        if f.metadata.get("lines") and isinstance(value, dict):
            out.update(_dotted(json_key(f.name), value))
        elif value is not None and not isinstance(value, dict | list):
            out[json_key(f.name)] = value
    return out


def _dotted(prefix: str, value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out.update(_dotted(f"{prefix}.{key}", item))
        else:
            out[f"{prefix}.{key}"] = item
    return out
