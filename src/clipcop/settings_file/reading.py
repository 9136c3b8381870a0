"""Settings files read into frozen config dataclasses: the TOML parse, the overrides and the nested build.

Every key and type is checked against the dataclass type hints and the specs validate their own values,
so any mistake surfaces as one ``UsageError`` line naming the file (or the overrides) and the dotted key.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast, get_type_hints

from clipcop.errors import UsageError
from clipcop.settings_file.checking import MismatchError, check_value, dataclass_in, describe, show

if sys.version_info >= (3, 11):
    import tomllib  # novermin: the standard library's TOML parser from 3.11 on
else:
    import tomli as tomllib  # the same parser, a dependency on Python 3.10

T = TypeVar("T")

MAX_SETTINGS_BYTES = 1 << 20


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
        settings: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: settings file is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise UsageError(f"{path}: invalid TOML: {message}") from None
    return settings


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
                    raise UsageError(f"{self.source}: {dotted} must be a table, not {show(table)}")
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
        spec = dataclass_in(hint)
        if spec is not None and isinstance(value, Mapping):
            default: object = field.default
            if field.default_factory is not dataclasses.MISSING:
                default = field.default_factory()
            return self.build(spec, value, path, default if isinstance(default, spec) else None)
        try:
            return check_value(value, hint)
        except MismatchError:
            dotted = ".".join(path)
            name = field.metadata.get("flag", dotted) if dotted in self.overridden else dotted
            origin = self.overrides_source if dotted in self.overridden else self.source
            raise UsageError(f"{origin}: {name} must be {describe(hint)}, not {show(value)}") from None

    def refusal(self, exc: UsageError, path: tuple[str, ...], fields: dict[str, dataclasses.Field[Any]]) -> str:
        """A spec's refusal as one line naming where the refused key came from: the file or the overrides.

        The key is the error's ``key`` attribute, else the one field whose CLI flag (:func:`flag_of`) the
        message names; in a message about the file that flag is replaced by the file's key.
        """
        message = " ".join(str(exc).split())
        flags = {name: _flag_pattern(flag_of(f)) for name, f in fields.items()}
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
            spec = dataclass_in(hints[field.name])
            if spec is not None:
                yield from _all_keys(spec, (*prefix, field.name))


def flag_of(field: dataclasses.Field[Any]) -> str:
    """The command-line flag of a settings field: ``metadata["flag"]``, else its name with dashes
    (``tl_schedule`` -> ``--tl-schedule``), the way the commands spell their options."""
    return str(field.metadata.get("flag", "--" + field.name.replace("_", "-")))


def _flag_pattern(flag: str) -> re.Pattern[str]:
    """A pattern finding ``flag`` (e.g. ``--epochs``) as a whole word, not inside ``--epochs-max``."""
    return re.compile(rf"(?<![\w-]){re.escape(flag)}(?![\w-])")


def _copy_tables(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``settings`` whose nested tables are copies too, so overrides leave the input alone."""
    return {k: _copy_tables(v) if isinstance(v, Mapping) else v for k, v in settings.items()}
