"""Values read from a settings file checked against a config's type hints, and the words errors use for them.

``check_value`` converts what TOML gives (int to float, list to tuple, str to Path) or raises
``MismatchError``; the reader turns that into a one-line error naming the key with ``describe`` and ``show``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

_NAMES = {int: ("an integer", "integers"), float: ("a number", "numbers"), str: ("a string", "strings")}
_NAMES |= {bool: ("true or false", "booleans"), Path: ("a path string", "path strings")}


class MismatchError(Exception):
    """A value whose type does not fit a type hint (turned into a UsageError naming the key)."""


def check_value(value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint`` (int to float, list to tuple, str to Path), else ``MismatchError``."""
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
    raise MismatchError


def _check_union(value: Any, args: tuple[Any, ...]) -> Any:
    if value is None and type(None) in args:
        return None
    for arm in (a for a in args if a is not type(None)):
        try:
            return check_value(value, arm)
        except MismatchError:
            pass
    raise MismatchError


def _check_literal(value: Any, args: tuple[Any, ...]) -> Any:
    if any(type(value) is type(a) and value == a for a in args):
        return value
    raise MismatchError


def _check_tuple(value: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(value, list | tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(check_value(v, args[0]) for v in value)
        if len(value) == len(args):
            return tuple(check_value(v, a) for v, a in zip(value, args, strict=True))
    raise MismatchError


def _check_list(value: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(value, list | tuple):
        return [check_value(v, args[0]) for v in value] if args else list(value)
    raise MismatchError


def _check_dict(value: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: check_value(v, args[1]) for k, v in value.items()} if args else dict(value)
    raise MismatchError


_CHECKERS: dict[Any, Callable[[Any, tuple[Any, ...]], Any]] = {
    types.UnionType: _check_union,
    Literal: _check_literal,
    tuple: _check_tuple,
    list: _check_list,
    dict: _check_dict,
    Mapping: _check_dict,
}
"""How a value is checked against a generic hint, by the hint's origin (``X | None`` and ``Union`` alike)."""


def dataclass_in(hint: Any) -> type | None:
    """The dataclass named by ``hint`` (also inside ``X | None``), or None."""
    candidates = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    specs = [c for c in candidates if isinstance(c, type) and dataclasses.is_dataclass(c)]
    return specs[0] if len(specs) == 1 else None


def describe(hint: Any, plural: bool = False) -> str:
    """Words for the values ``hint`` accepts: ``an integer``, ``a list of 2 integers``, ``'a' or 'b'``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a, plural) for a in args if a is not type(None))
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    lists = "lists" if plural else "a list"
    if (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or (origin is list and args):
        return f"{lists} of {describe(args[0], True)}"
    if origin is tuple and len(set(args)) == 1:
        return f"{lists} of {len(args)} {describe(args[0], True)}"
    if origin in (tuple, list):
        return f"{lists} [{', '.join(describe(a) for a in args)}]" if args else lists
    if origin in (dict, Mapping) and len(args) == 2:
        return f"{'tables' if plural else 'a table'} of {describe(args[1], True)}"
    if origin in (dict, Mapping) or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return "tables" if plural else "a table"
    if hint in _NAMES:
        return _NAMES[hint][plural]
    return f"{'values' if plural else 'a value'} of type {getattr(hint, '__name__', hint)}"


def show(value: Any) -> str:
    """A short one-line rendering of a value for error messages."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
