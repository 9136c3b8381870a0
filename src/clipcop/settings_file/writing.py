"""Configs written as settings files: their complete settings (defaults included) as TOML text that
``tomllib`` reads back into the same values, saved atomically.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def config_to_settings(config: object) -> dict[str, Any]:
    """The complete settings of ``config`` as nested dicts: every field, defaults included.

    ``None`` values are left out (TOML has no null), so a field that may be ``None`` must default to
    ``None`` for the file to round-trip. Tuples become lists and paths strings.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"{config!r} is not a dataclass instance")
    settings = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.init and value is not None:
            settings[field.name] = _plain(value)
    return settings


def dumps_settings(settings: Mapping[str, Any], *, header: str | None = None) -> str:
    """TOML text for ``settings``: top-level scalars first, then one ``[table]`` per nested mapping.

    ``header`` becomes ``#`` comment lines at the top. ``tomllib.loads`` of the text gives ``settings`` back.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    _dump_table(settings, (), lines)
    return "\n".join(lines) + "\n"


def write_settings(path: str | Path, config: object, *, header: str | None = None) -> Path:
    """Write ``config``'s complete settings to ``path`` as TOML, atomically (temp file, fsync, rename)."""
    path = Path(path)
    text = dumps_settings(config_to_settings(config), header=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # Mode "x" creates the file with the umask's usual permissions, unlike a private mkstemp file.
        with open(tmp, "x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _plain(value: Any) -> Any:
    """``value`` with dataclasses as dicts, tuples as lists and paths as strings; ``None`` entries dropped."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_settings(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _dump_table(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    """Append ``table``'s scalars, then each nested table under its own ``[dotted.header]``."""
    for key, value in table.items():
        if not isinstance(value, Mapping):
            lines.append(f"{_key(key)} = {_value(value, (*path, key))}")
    for key, value in table.items():
        if isinstance(value, Mapping):
            if lines:
                lines.append("")
            lines.append(f"[{'.'.join(_key(k) for k in (*path, key))}]")
            _dump_table(value, (*path, key), lines)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, other unicode kept."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise ValueError(f"{text!r} holds a lone surrogate, which TOML cannot store")
    out = (_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in text)
    return '"' + "".join(out) + '"'


def _value(value: Any, path: tuple[str, ...]) -> str:
    """TOML text for a scalar or a list of them; floats such that ``tomllib`` reads back the same float."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, path) for v in value) + "]"
    raise TypeError(f"cannot write {'.'.join(path)} = {value!r} as TOML")
