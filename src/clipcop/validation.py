"""One validation step for every JSON document clipcop reads: parsing with bounded size and depth, and
checking shapes field by field.

Checkpoint and state headers, feature files, index metadata, manifests, QA files and metrics lines all go
through :func:`parse_json` and :class:`Fields` (or :func:`expect`), so a well-formed document of the wrong
shape (``"width": "abc"``, ``"videos": [1, 2]``, a list nested 100,000 deep) ends in one
:class:`~clipcop.errors.MalformedFileError` line that names the file and the field, never a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipcop.errors import MalformedFileError

MAX_JSON_BYTES = 1 << 30
"""The largest JSON document read (1 GiB: a manifest of a million videos is a few hundred MB)."""

MAX_DEPTH = 64
"""The deepest nesting of lists and objects accepted; no file clipcop writes nests more than 8 deep."""

ErrorType = type[MalformedFileError]


@dataclass(frozen=True)
class Shape:
    """What a JSON value must be: a test and the noun a message uses (``an integer``)."""

    noun: str
    test: Callable[[Any], bool]

    def __call__(self, value: Any) -> bool:
        return self.test(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


INT = Shape("an integer", _is_int)
NUMBER = Shape("a number", _is_number)
FINITE = Shape("a finite number", lambda v: _is_number(v) and math.isfinite(v))
STR = Shape("a string", lambda v: isinstance(v, str))
BOOL = Shape("a boolean", lambda v: isinstance(v, bool))
OBJECT = Shape("a JSON object", lambda v: isinstance(v, dict))
LIST = Shape("a list", lambda v: isinstance(v, list))
ANY = Shape("any JSON value", lambda v: True)


def list_of(item: Shape, length: int | None = None) -> Shape:
    """A list whose every item is ``item`` (of exactly ``length`` items when given)."""
    size = "" if length is None else f"{length} "
    return Shape(
        f"a list of {size}{item.noun.removeprefix('a ').removeprefix('an ')}s",
        lambda v: isinstance(v, list) and (length is None or len(v) == length) and all(item(x) for x in v),
    )


def object_of(item: Shape) -> Shape:
    """A JSON object whose every value is ``item``."""
    return Shape(
        f"a JSON object of {item.noun.removeprefix('a ').removeprefix('an ')}s",
        lambda v: isinstance(v, dict) and all(item(x) for x in v.values()),
    )


def optional(item: Shape) -> Shape:
    """``item`` or null."""
    return Shape(f"{item.noun} or null", lambda v: v is None or item(v))


def one_of(*choices: object) -> Shape:
    """One of the given values."""
    return Shape("one of " + ", ".join(json.dumps(c) for c in choices), lambda v: v in choices)


def shown(value: Any) -> str:
    """A short one-line rendering of a bad value for a message (``a list [1, 2]``, ``null``)."""
    names = {dict: "a JSON object", list: "a list", str: "a string", bool: "a boolean", float: "a number"}
    if value is None:
        return "null"
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = "..."
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{names.get(type(value), 'an integer' if _is_int(value) else type(value).__name__)} {text}"


def malformed(
    path: object, what: str, why: str, *, error: ErrorType = MalformedFileError, field: str = ""
) -> MalformedFileError:
    """The one-line error for ``path`` (``PATH is a malformed WHAT: WHY``)."""
    return error(f"{path} is a malformed {what}: {why}", path=path, field=field)


def depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (0 for a scalar), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        children: Iterator[Any] | None = None
        if isinstance(item, dict):
            children = iter(item.values())
        elif isinstance(item, list):
            children = iter(item)
        if children is not None:
            deepest = max(deepest, level + 1)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_json(
    text: str | bytes,
    path: object,
    what: str,
    *,
    error: ErrorType = MalformedFileError,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The JSON value in ``text`` read from ``path`` (a ``what``: "checkpoint header", "manifest"...).

    Text that is not JSON, larger than ``max_bytes`` or nested deeper than ``max_depth`` raises one-line
    ``error`` naming the file; the depth is bounded before anything recursive (json itself, a message)
    meets the value.
    """
    if len(text) > max_bytes:
        raise malformed(path, what, f"{len(text):,} bytes of JSON, more than the {max_bytes:,} accepted", error=error)
    try:
        value = json.loads(text)
    except RecursionError:
        raise malformed(path, what, f"its JSON nests deeper than {max_depth} levels", error=error) from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}: {err.msg}"
        raise error(f"{path} is not valid JSON ({where}); it should be a {what}", path=path) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise error(
            f"{path} is not valid JSON ({' '.join(str(err).split())}); it should be a {what}", path=path
        ) from None
    if depth(value) > max_depth:
        raise malformed(path, what, f"its JSON nests deeper than {max_depth} levels", error=error)
    return value


def parse_json_line(
    line: str, path: object, what: str, number: int, *, error: ErrorType = MalformedFileError
) -> Any | None:
    """The JSON value on line ``number`` of a JSON-lines file, or None when the line is not JSON (a line
    cut short by a kill); nesting beyond :data:`MAX_DEPTH` raises like :func:`parse_json`."""
    try:
        value = json.loads(line)
    except RecursionError:
        raise malformed(path, what, f"line {number} nests deeper than {MAX_DEPTH} levels", error=error) from None
    except ValueError:
        return None
    if depth(value) > MAX_DEPTH:
        raise malformed(path, what, f"line {number} nests deeper than {MAX_DEPTH} levels", error=error)
    return value


def read_json(path: Path, what: str, *, error: ErrorType = MalformedFileError, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON value in the file ``path`` (a ``what``), read with :func:`parse_json`'s bounds; a file
    larger than ``max_bytes`` is refused before it is read."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise malformed(path, what, f"{size:,} bytes, more than the {max_bytes:,} accepted", error=error)
        text = path.read_bytes()
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror}", path=path) from None
    return parse_json(text, path, what, error=error, max_bytes=max_bytes)


def expect(
    value: Any, shape: Shape, path: object, what: str, field: str, *, error: ErrorType = MalformedFileError
) -> Any:
    """``value`` if it is ``shape``; otherwise one-line ``error``: ``PATH is a malformed WHAT: FIELD is
    a string "abc", not an integer``."""
    if not shape(value):
        label = field or "it"
        raise malformed(path, what, f"{label} is {shown(value)}, not {shape.noun}", error=error, field=field)
    return value


class Fields:
    """The fields of one JSON object read from ``path``, each checked on the way out.

    >>> Fields(meta, path, "feature file").get("dim", INT)  # doctest: +SKIP
    """

    def __init__(
        self, value: Any, path: object, what: str, *, prefix: str = "", error: ErrorType = MalformedFileError
    ) -> None:
        expect(value, OBJECT, path, what, prefix, error=error)
        self.value: dict[str, Any] = value
        self.path, self.what, self.prefix, self.error = path, what, prefix, error

    def _name(self, key: str) -> str:
        if not self.prefix:
            return key
        return f"{self.prefix} {key}" if self.prefix.endswith(":") else f"{self.prefix}.{key}"

    def get(self, key: str, shape: Shape, default: Any = None, *, required: bool = False) -> Any:
        """Field ``key`` checked to be ``shape``; ``default`` when absent (an error when ``required``)."""
        if key not in self.value:
            if required:
                raise malformed(self.path, self.what, f"it has no {self._name(key)}", error=self.error, field=key)
            return default
        return expect(self.value[key], shape, self.path, self.what, self._name(key), error=self.error)

    def check(self, shapes: Mapping[str, Shape], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
        """The object, every field of ``shapes`` present checked (``required`` ones must be present)."""
        for key, shape in shapes.items():
            self.get(key, shape, required=key in required)
        return self.value

    def sub(self, key: str, *, required: bool = False) -> Fields:
        """The nested object ``key`` as :class:`Fields` (an empty one when absent and not required)."""
        value = self.get(key, OBJECT, {}, required=required)
        return Fields(value, self.path, self.what, prefix=self._name(key), error=self.error)


__all__ = [
    "ANY",
    "BOOL",
    "FINITE",
    "INT",
    "LIST",
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
    "NUMBER",
    "OBJECT",
    "STR",
    "Fields",
    "Shape",
    "depth",
    "expect",
    "list_of",
    "malformed",
    "object_of",
    "one_of",
    "optional",
    "parse_json",
    "parse_json_line",
    "read_json",
    "shown",
]
