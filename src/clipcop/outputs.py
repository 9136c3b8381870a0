"""The guard every output path passes before a command does any work.

An output may be a new file in a folder that exists or can be made, or a file of the same kind that clipcop
wrote earlier (replaced). It is never a folder, never one of the command's inputs (the same file under any
name: same device and inode), never another output of the same command, and never an existing file that
clipcop did not write: ``retrieve --save-index`` onto the checkpoint it reads, ``vqa eval --predictions``
onto the feature file, or ``--neighbours`` onto somebody's notes all stop in one line, with nothing read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from clipcop.errors import ClipcopError, UsageError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_SOFTWARE = "clipcop"
"""The ``Software`` text of every PNG clipcop writes, by which it knows them again."""


@dataclass(frozen=True)
class Output:
    """One output path of a command: the flag that named it, the path, what it holds (``a clipcop FAISS index``)
    and how to tell an existing file of that kind that clipcop wrote (None: any existing file is refused)."""

    flag: str
    path: Path
    what: str
    ours: Callable[[Path], bool] | None = None


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (same device and inode; by resolved path if one is absent)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.absolute().resolve() == b.absolute().resolve()


def check_outputs(outputs: Iterable[Output], inputs: Mapping[str, str | Path | None]) -> None:
    """Refuse, in one line, any output that is a folder, one of ``inputs`` (``{flag: path}``, None for an
    input not given), another output, or an existing file that its ``ours`` does not recognise."""
    given = {flag: Path(path) for flag, path in inputs.items() if path is not None}
    seen: list[Output] = []
    for out in outputs:
        if out.path.is_dir():
            raise UsageError(f"{out.flag} {out.path} is a folder; name the file to write ({out.what})")
        for flag, path in given.items():
            if same_file(out.path, path):
                raise UsageError(
                    f"{out.flag} {out.path} is the file {flag} reads; writing it would destroy it: choose another name"
                )
        for other in seen:
            if same_file(out.path, other.path):
                raise UsageError(f"{out.flag} and {other.flag} both name {out.path}: choose two names")
        if out.path.exists() and (out.ours is None or not _recognised(out)):
            raise UsageError(
                f"{out.flag} {out.path} exists and is not {out.what}; choose another name, or move that file away"
            )
        folder = next((p for p in out.path.absolute().parents if p.exists()), Path("/"))
        if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            raise UsageError(f"{out.flag} {out.path}: cannot write in {folder}")
        seen.append(out)


def _recognised(out: Output) -> bool:
    try:
        return out.ours is not None and out.path.is_file() and out.ours(out.path)
    except (OSError, ValueError, RecursionError, ClipcopError):
        return False


def _head(path: Path, size: int = 1 << 16) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def is_clipcop_png(path: Path) -> bool:
    """A PNG whose text says clipcop wrote it (or matplotlib did, as clipcop's reports did before)."""
    head = _head(path)
    return head.startswith(PNG_MAGIC) and (PNG_SOFTWARE.encode() in head or b"Matplotlib" in head)


def _tail(path: Path, size: int = 1 << 16) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
        return handle.read()


def is_clipcop_figure(path: Path) -> bool:
    """A picture clipcop drew (PNG, SVG or PDF): its text names clipcop or matplotlib, which draws them.
    A PDF's document information sits at its end, so both ends of the file are read."""
    if path.suffix.lower() == ".png":
        return is_clipcop_png(path)
    ends = _head(path) + _tail(path)
    starts = (b"%PDF",) if path.suffix.lower() == ".pdf" else (b"<?xml", b"<svg")
    return ends.lstrip().startswith(starts) and (PNG_SOFTWARE.encode() in ends or b"Matplotlib" in ends)


def starts_with(prefix: str) -> Callable[[Path], bool]:
    """Recognises a text file that begins with ``prefix`` (a CSV header, an HTML page's head)."""
    return lambda path: _head(path, len(prefix.encode()) + 3).decode("utf-8-sig", "replace").startswith(prefix)


__all__ = ["PNG_SOFTWARE", "Output", "check_outputs", "is_clipcop_figure", "is_clipcop_png", "same_file", "starts_with"]
