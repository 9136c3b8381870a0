"""Shared pieces of the hostile-input tests: JSON of any shape, mutations of valid documents, raw
safetensors headers, and the promise every reader keeps (a one-line clipcop error naming the file, and
the file unchanged)."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from clipcop.errors import ClipcopError

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
"""Any JSON value, small: scalars (NaN and huge integers included), lists and objects nested a few deep."""

DELETE = object()
"""A mutation that removes the field instead of replacing it."""

DEEP = "[" * 100_000 + "]" * 100_000
"""A list nested 100,000 deep: json itself and any recursive code would raise RecursionError."""


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in ``value`` (the root first), lists' first three items only."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            yield from paths(child, (*prefix, index))


def mutated(doc: Any, where: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``doc`` with the value at ``where`` replaced by ``new`` (removed for :data:`DELETE`)."""
    if not where:
        return None if new is DELETE else new
    copy = json.loads(json.dumps(doc))
    parent = copy
    for step in where[:-1]:
        parent = parent[step]
    if new is DELETE:
        del parent[where[-1]]
    else:
        parent[where[-1]] = new
    return copy


def mutation(draw: st.DrawFn, doc: Any) -> Any:
    """One hostile variant of ``doc``: a place in it replaced by any JSON value, or removed."""
    where = draw(st.sampled_from(list(paths(doc))))
    new = draw(JSON_VALUES | st.just(DELETE)) if where else draw(JSON_VALUES)
    return mutated(doc, where, new)


def variants(doc: Any) -> st.SearchStrategy[Any]:
    """Hostile variants of ``doc`` (see :func:`mutation`)."""
    return st.composite(lambda draw: mutation(draw, doc))()


def read_header(path: Path) -> tuple[dict[str, Any], bytes]:
    """A safetensors file's JSON header and its data bytes."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def write_header(path: Path, header: dict[str, Any] | str, body: bytes) -> Path:
    """A safetensors file of ``header`` (a dict, or raw JSON text) over ``body``, padded to 8 bytes."""
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)
    return path


def with_metadata(path: Path, key: str, text: str) -> Path:
    """``path`` rewritten with its ``__metadata__[key]`` set to ``text`` (any string: JSON or not)."""
    header, body = read_header(path)
    header.setdefault("__metadata__", {})[key] = text
    return write_header(path, header, body)


def refused_or_read(read: Callable[[], object], path: Path) -> ClipcopError | None:
    """Call ``read`` on a hostile ``path``: it either reads it or raises a one-line clipcop error naming
    the file; anything else (a TypeError, a RecursionError) fails the test. The file is never changed."""
    before = path.read_bytes()
    try:
        read()
    except ClipcopError as err:
        message = str(err)
        assert "\n" not in message and path.name in message, message
        return err
    finally:
        assert path.read_bytes() == before, f"{path} was changed"
    return None
