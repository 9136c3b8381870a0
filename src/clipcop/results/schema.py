"""The documented keys of each record (:func:`schema`, which ``docs/cli.md`` is generated from) and the check
of a printed object against them (:func:`validate`), both read from the records' type hints and metadata.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

from clipcop.results.fields import ENVELOPE, SCHEMA_VERSION, Record, json_key


@dataclass(frozen=True)
class FieldSchema:
    """One documented key: dotted path (``stages[].tuple_len``), JSON type, meaning, unit, presence."""

    name: str
    type: str
    doc: str
    fraction: bool
    when: str | None


ENVELOPE_SCHEMA = (
    FieldSchema("command", "string", "The command, e.g. `data synth`.", False, None),
    FieldSchema("schema_version", "integer", f"Version of these keys ({SCHEMA_VERSION}).", False, None),
    FieldSchema("clipcop_version", "string", "The clipcop that printed it.", False, None),
)


def _members(tp: Any) -> tuple[list[Any], bool]:
    """The non-None members of a union (or the type itself) and whether None is allowed."""
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        return [a for a in args if a is not type(None)], type(None) in args
    return [tp], False


def _type_name(tp: Any) -> str:
    members, nullable = _members(tp)
    names = []
    for member in members:
        origin, args = get_origin(member), get_args(member)
        if origin is list:
            names.append(f"array of {_type_name(args[0])}")
        elif origin is dict:
            names.append(f"object of {_type_name(args[1])}")
        elif is_dataclass(member):
            names.append("object")
        else:
            names.append({str: "string", int: "integer", float: "number", bool: "boolean"}.get(member, "any"))
    name = " or ".join(names)
    return f"{name} or null" if nullable else name


def _nested(tp: Any) -> tuple[Any, str] | None:
    """The dataclass inside ``tp`` (itself, a list's or a dict's items) and the path suffix for its keys."""
    for member in _members(tp)[0]:
        origin, args = get_origin(member), get_args(member)
        if is_dataclass(member):
            return member, "."
        if origin is list and is_dataclass(args[0]):
            return args[0], "[]."
        if origin is dict and is_dataclass(args[1]):
            return args[1], ".*."
    return None


def schema(record_type: type[Any], prefix: str = "") -> list[FieldSchema]:
    """The documented keys of a record type (without the envelope), nested objects' keys after their own."""
    hints = get_type_hints(record_type)
    rows: list[FieldSchema] = []
    for f in fields(record_type):
        name = prefix + json_key(f.name)
        tp = hints[f.name]
        when = f.metadata["when"]
        type_name = _type_name(tp).removesuffix(" or null") if when is not None else _type_name(tp)
        rows.append(FieldSchema(name, type_name, f.metadata["doc"], f.metadata["fraction"], when))
        inner = _nested(tp)
        if inner is not None:
            rows.extend(schema(inner[0], name + inner[1]))
    return rows


# --- validation -------------------------------------------------------------------------------------------


def _check(value: Any, tp: Any, where: str, fraction: bool, problems: list[str]) -> None:
    if tp is Any:
        return
    members, nullable = _members(tp)
    if value is None:
        if not nullable:
            problems.append(f"{where}: null where {_type_name(tp)} is documented")
        return
    member = members[0]
    if is_dataclass(member) or get_origin(member) in (list, dict):
        _check_container(value, member, where, fraction, problems)
    else:
        _check_scalar(value, member, where, fraction, problems)


def _check_container(value: Any, member: Any, where: str, fraction: bool, problems: list[str]) -> None:
    origin, args = get_origin(member), get_args(member)
    if is_dataclass(member):
        if isinstance(value, dict):
            _check_object(value, member, where + ".", problems)
        else:
            problems.append(f"{where}: {type(value).__name__} where an object is documented")
    elif origin is list:
        if not isinstance(value, list):
            problems.append(f"{where}: {type(value).__name__} where an array is documented")
            return
        for i, item in enumerate(value):
            _check(item, args[0], f"{where}[{i}]", fraction, problems)
    elif not isinstance(value, dict):
        problems.append(f"{where}: {type(value).__name__} where an object is documented")
    else:
        for key, item in value.items():
            _check(item, args[1], f"{where}.{key}", fraction, problems)


def _check_scalar(value: Any, member: Any, where: str, fraction: bool, problems: list[str]) -> None:
    if member is bool:
        if not isinstance(value, bool):
            problems.append(f"{where}: {value!r} is not a boolean")
    elif member is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: {value!r} is not an integer")
    elif member is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}: {value!r} is not a number")
        elif fraction and not 0.0 <= value <= 1.0:
            problems.append(f"{where}: {value!r} is an accuracy outside [0, 1]")
    elif member is str and not isinstance(value, str):
        problems.append(f"{where}: {value!r} is not a string")


def _check_object(obj: dict[str, Any], record_type: Any, where: str, problems: list[str]) -> None:
    hints = get_type_hints(record_type)
    documented = set()
    for f in fields(record_type):
        key = json_key(f.name)
        documented.add(key)
        if key not in obj:
            if f.metadata["when"] is None:
                problems.append(f"{where}{key}: missing")
            continue
        _check(obj[key], hints[f.name], where + key, f.metadata["fraction"], problems)
    problems.extend(f"{where}{key}: not documented" for key in obj if key not in documented)


def validate(obj: dict[str, Any], record_type: type[Record]) -> list[str]:
    """What is wrong with a printed object against ``record_type``'s schema (empty when nothing is): the
    envelope, every documented key present (unless optional) with its type, no other key, accuracies in
    [0, 1]."""
    problems: list[str] = []
    if obj.get("command") != record_type.COMMAND:
        problems.append(f"command: {obj.get('command')!r}, not {record_type.COMMAND!r}")
    if obj.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version: {obj.get('schema_version')!r}, not {SCHEMA_VERSION}")
    if not isinstance(obj.get("clipcop_version"), str):
        problems.append("clipcop_version: missing or not a string")
    _check_object({k: v for k, v in obj.items() if k not in ENVELOPE}, record_type, "", problems)
    return problems
