"""Run settings as TOML files: read one into a frozen config dataclass, write a config back out.

A settings file mirrors the config it describes: top-level keys are the config's scalar fields and each
nested spec (``training``, ``geometry``, ...) is a ``[table]`` of its own. Reading checks every key and
type against the dataclass type hints and lets the specs validate their values, so any mistake in a
file surfaces as one line naming the file and the dotted key. Writing gives the complete resolved
settings (defaults included), and reading that text back yields an equal config, which lets a run
folder's ``config.toml`` say exactly how the run was made and repeat it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import os
import re
import secrets
import tomllib
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from clipcop.errors import UsageError

T = TypeVar("T")

MAX_SETTINGS_BYTES = 1 << 20
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_NAMES = {int: ("an integer", "integers"), float: ("a number", "numbers"), str: ("a string", "strings")}
_NAMES |= {bool: ("true or false", "booleans"), Path: ("a path string", "path strings")}


class _MismatchError(Exception):
    """A value whose type does not fit a type hint (turned into a UsageError naming the key)."""


def read_settings(path: str | Path) -> dict[str, Any]:
    """Parse the TOML file at ``path``; any problem with the file is a one-line ``UsageError`` naming it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such settings file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a settings file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read settings file ({exc.strerror or exc})") from None
    if len(data) > MAX_SETTINGS_BYTES:
        raise UsageError(f"{path}: settings file is larger than {MAX_SETTINGS_BYTES // (1 << 20)} MiB")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: settings file is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise UsageError(f"{path}: invalid TOML: {message}") from None


def read_config(cls: type[T], path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> T:
    """Build ``cls`` from the settings file at ``path``, with ``overrides`` on top (see ``settings_to_config``)."""
    return settings_to_config(cls, read_settings(path), source=str(path), overrides=overrides)


def settings_to_config(
    cls: type[T],
    settings: Mapping[str, Any],
    *,
    source: str,
    overrides: Mapping[str, Any] | None = None,
    overrides_source: str = "command line",
) -> T:
    """Build the frozen dataclass ``cls`` from ``settings`` whose tables mirror its nested specs.

    ``overrides`` (keys dotted, ``"training.epochs"``, or a field name found once in the tree, ``"epochs"``)
    win over the file's values. Unknown keys, wrong types and values a spec refuses raise a one-line
    ``UsageError`` naming ``source`` (or ``overrides_source``) and the key. Omitted keys keep their defaults.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    builder = _Builder(source, overrides_source)
    merged = builder.merge(cls, settings, overrides or {})
    return cast(T, builder.build(cls, merged, (), None))


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


class _Builder:
    """Builds nested specs from tables, naming ``source`` or ``overrides_source`` in its errors."""

    def __init__(self, source: str, overrides_source: str) -> None:
        self.source, self.overrides_source = source, overrides_source
        self.overridden: set[str] = set()

    def merge(self, cls: type, settings: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``settings`` with each override set at its dotted key (a flat key must be unique)."""
        merged = _copy_tables(settings)
        keys = list(_all_keys(cls, ()))
        for key, value in overrides.items():
            parts = tuple(key.split("."))
            matches = [p for p in keys if (p if len(parts) > 1 else p[-1:]) == parts]
            if not matches:
                known = [".".join(p) for p in keys]
                close = difflib.get_close_matches(key, known + [p[-1] for p in keys], n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise UsageError(f"{self.overrides_source}: unknown setting {key!r} ({hint}known: {', '.join(known)})")
            if len(matches) > 1:
                where = " or ".join(".".join(p) for p in matches)
                raise UsageError(
                    f"{self.overrides_source}: setting {key!r} is ambiguous ({where}); give the dotted key"
                )
            table, parts = merged, matches[0]
            for depth, part in enumerate(parts[:-1]):
                table = table.setdefault(part, {})
                if not isinstance(table, dict):
                    dotted = ".".join(parts[: depth + 1])
                    raise UsageError(f"{self.source}: {dotted} must be a table, not {_show(table)}")
            table[parts[-1]] = value
            self.overridden.add(".".join(parts))
        return merged

    def build(self, cls: type, table: Mapping[str, Any], path: tuple[str, ...], default: object) -> Any:
        """Construct ``cls`` from ``table`` (missing keys from ``default``, else the field defaults)."""
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in table:
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                where = f"in [{'.'.join(path)}]" if path else "at top level"
                known = f"({hint}known {where}: {', '.join(fields)})"
                raise UsageError(f"{self.source}: unknown key {'.'.join((*path, key))!r} {known}")
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if name in table:
                values[name] = self.convert(table[name], hints[name], (*path, name), field)
            elif default is not None:
                values[name] = getattr(default, name)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise UsageError(f"{self.source}: missing key {'.'.join((*path, name))!r}")
        try:
            return cls(**values)
        except UsageError as exc:
            raise UsageError(self.refusal(exc, path, fields)) from exc

    def convert(self, value: object, hint: Any, path: tuple[str, ...], field: dataclasses.Field[Any]) -> Any:
        """``value`` checked against ``hint``, nested specs built from their tables, else a one-line error."""
        spec = _dataclass_in(hint)
        if spec is not None and isinstance(value, Mapping):
            default: object = field.default
            if field.default_factory is not dataclasses.MISSING:
                default = field.default_factory()
            return self.build(spec, value, path, default if isinstance(default, spec) else None)
        try:
            return _check(value, hint)
        except _MismatchError:
            dotted = ".".join(path)
            name = field.metadata.get("flag", dotted) if dotted in self.overridden else dotted
            origin = self.overrides_source if dotted in self.overridden else self.source
            raise UsageError(f"{origin}: {name} must be {_describe(hint)}, not {_show(value)}") from None

    def refusal(self, exc: UsageError, path: tuple[str, ...], fields: dict[str, dataclasses.Field[Any]]) -> str:
        """A spec's refusal as one line naming where the refused key came from: the file or the overrides.

        The key is the error's ``key`` attribute, else the one field whose CLI flag (``metadata["flag"]``)
        the message names; in a message about the file that flag is replaced by the file's key.
        """
        message = " ".join(str(exc).split())
        flags = {name: _flag_pattern(f.metadata["flag"]) for name, f in fields.items() if "flag" in f.metadata}
        key = getattr(exc, "key", None)
        if not isinstance(key, str) or key not in fields:
            named = [name for name, pattern in flags.items() if pattern.search(message)]
            key = named[0] if len(named) == 1 else None
        table = f"[{'.'.join(path)}] " if path else ""
        if key is None:
            touched = any(".".join((*path, name)) in self.overridden for name in fields)
            return f"{self.source}{f' + {self.overrides_source}' if touched else ''}: {table}{message}"
        pattern, dotted = flags.get(key), ".".join((*path, key))
        if dotted in self.overridden:
            flag = fields[key].metadata.get("flag", dotted)
            return f"{self.overrides_source}: {'' if pattern and pattern.search(message) else flag + ': '}{message}"
        if pattern is not None and pattern.search(message):
            return f"{self.source}: {table}{pattern.sub(key, message)}"
        return f"{self.source}: {dotted}: {message}"


def _all_keys(cls: type, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Every settable key of the dataclass ``cls``, tables included, as tuples of names."""
    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.init:
            yield (*prefix, field.name)
            spec = _dataclass_in(hints[field.name])
            if spec is not None:
                yield from _all_keys(spec, (*prefix, field.name))


def _check(value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint`` (int to float, list to tuple, str to Path), else ``_MismatchError``."""
    if hint is Any:
        return value
    origin = get_origin(hint)
    checker = _CHECKERS.get(types.UnionType if origin is Union else origin)
    if checker is not None:
        return checker(value, get_args(hint))
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            return float(value)
    elif hint is Path and isinstance(value, str):
        return Path(value)
    elif isinstance(hint, type) and isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value  # True is an int to Python, not to a settings file
    raise _MismatchError


def _check_union(value: Any, args: tuple[Any, ...]) -> Any:
    if value is None and type(None) in args:
        return None
    for arm in (a for a in args if a is not type(None)):
        try:
            return _check(value, arm)
        except _MismatchError:
            pass
    raise _MismatchError


def _check_literal(value: Any, args: tuple[Any, ...]) -> Any:
    if any(type(value) is type(a) and value == a for a in args):
        return value
    raise _MismatchError


def _check_tuple(value: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(value, list | tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_check(v, args[0]) for v in value)
        if len(value) == len(args):
            return tuple(_check(v, a) for v, a in zip(value, args, strict=True))
    raise _MismatchError


def _check_list(value: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(value, list | tuple):
        return [_check(v, args[0]) for v in value] if args else list(value)
    raise _MismatchError


def _check_dict(value: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _check(v, args[1]) for k, v in value.items()} if args else dict(value)
    raise _MismatchError


_CHECKERS: dict[Any, Callable[[Any, tuple[Any, ...]], Any]] = {
    types.UnionType: _check_union,
    Literal: _check_literal,
    tuple: _check_tuple,
    list: _check_list,
    dict: _check_dict,
    Mapping: _check_dict,
}
"""How a value is checked against a generic hint, by the hint's origin (``X | None`` and ``Union`` alike)."""


def _flag_pattern(flag: str) -> re.Pattern[str]:
    """A pattern finding ``flag`` (e.g. ``--epochs``) as a whole word, not inside ``--epochs-max``."""
    return re.compile(rf"(?<![\w-]){re.escape(flag)}(?![\w-])")


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass named by ``hint`` (also inside ``X | None``), or None."""
    candidates = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    specs = [c for c in candidates if isinstance(c, type) and dataclasses.is_dataclass(c)]
    return specs[0] if len(specs) == 1 else None


def _describe(hint: Any, plural: bool = False) -> str:
    """Words for the values ``hint`` accepts: ``an integer``, ``a list of 2 integers``, ``'a' or 'b'``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a, plural) for a in args if a is not type(None))
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    lists = "lists" if plural else "a list"
    if (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or (origin is list and args):
        return f"{lists} of {_describe(args[0], True)}"
    if origin is tuple and len(set(args)) == 1:
        return f"{lists} of {len(args)} {_describe(args[0], True)}"
    if origin in (tuple, list):
        return f"{lists} [{', '.join(_describe(a) for a in args)}]" if args else lists
    if origin in (dict, Mapping) and len(args) == 2:
        return f"{'tables' if plural else 'a table'} of {_describe(args[1], True)}"
    if origin in (dict, Mapping) or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return "tables" if plural else "a table"
    if hint in _NAMES:
        return _NAMES[hint][plural]
    return f"{'values' if plural else 'a value'} of type {getattr(hint, '__name__', hint)}"


def _show(value: Any) -> str:
    """A short one-line rendering of a value for error messages."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def _copy_tables(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``settings`` whose nested tables are copies too, so overrides leave the input alone."""
    return {k: _copy_tables(v) if isinstance(v, Mapping) else v for k, v in settings.items()}


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
