"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename over the target.

Every write clipcop makes goes through :func:`guarded_write` (the atomic writers here use it): a full disk,
a read-only folder or a quota ends in one :class:`clipcop.errors.WriteError` naming the file and the space
left, whatever library raised it (safetensors raises ``SafetensorError``, not ``OSError``). Temporary files
are named ``.NAME.<8 random characters>.tmp``; :func:`remove_leftovers` removes those a killed run left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from clipcop.errors import WriteError
from clipcop.paths import free_space, human_size

_UMASK_LOCK = threading.Lock()

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_FULL_WORDS = ("no space left", "storagefull", "os error 28", "code: 28", "quota exceeded", "file too large")
_WRITE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO, errno.ENOTDIR, errno.EISDIR)
TEMP_PATTERN = re.compile(r"^\..+\.[a-z0-9_]{8}\.(tmp|partial)$")
"""The names of clipcop's temporary files (``tempfile.mkstemp``'s 8 random characters), and nothing else's."""


def _disk_full(err: BaseException) -> bool:
    """Whether ``err`` says the disk (or a quota) is full, as an ``OSError`` errno or in a library's text."""
    if isinstance(err, OSError) and err.errno in _FULL_ERRNOS:
        return True
    text = str(err).lower()
    return any(words in text for words in _FULL_WORDS)


def write_failure(target: Path, err: BaseException) -> WriteError | None:
    """The one-line error for ``err`` raised while writing ``target`` (None: not a write failure)."""
    if _disk_full(err):
        free = free_space(target.parent)
        left = f"{human_size(free)} free" if free is not None else "free space unknown"
        return WriteError(f"cannot write {target}: no space left on the device ({left} in {target.parent})")
    if isinstance(err, OSError) and err.errno in _WRITE_ERRNOS:
        return WriteError(f"cannot write {target}: {err.strerror}")
    return None


@contextlib.contextmanager
def guarded_write(target: str | Path) -> Iterator[None]:
    """Turn a failure to write ``target`` in the block (a full disk, a read-only folder), from any library,
    into one :class:`WriteError` naming ``target`` and the free space; other errors pass unchanged."""
    try:
        yield
    except WriteError:
        raise
    except Exception as err:
        failure = write_failure(Path(target), err)
        if failure is None:
            raise
        raise failure from None


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Remove the temporary files a killed writer left directly in ``folder`` (names :data:`TEMP_PATTERN`
    matches only; nothing else is touched) and return them. Call it only while holding the folder's lock
    (:mod:`clipcop.engine.lock`): another process's temporary file is still being written."""
    removed = []
    with contextlib.suppress(OSError):
        for path in Path(folder).iterdir():
            if TEMP_PATTERN.match(path.name) and path.is_file() and not path.is_symlink():
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return sorted(removed)


def _umask() -> int:
    """The process umask, read from ``/proc`` where Linux shows it, else by setting and restoring it.

    Setting it changes it for every thread, so that fallback holds a lock and sets the strict 0o077 for
    the instant it takes: a file another thread creates meanwhile comes out too private, never too open.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0o077)
        os.umask(umask)
    return umask


def file_mode() -> int:
    """The mode ``open()`` gives a new file under the current umask (0o644 under the usual 0o022)."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` in one rename.

    A run killed mid-write leaves the previous ``target`` intact (and at most a stray temp file, which
    :func:`remove_leftovers` clears when the run starts again); a failed write raises one
    :class:`WriteError` (:func:`guarded_write`) and leaves no temp file. The
    result gets the umask's usual permissions, not the owner-only ones of a temporary file, so that
    colleagues can read shared runs.
    """
    target = Path(target)
    with guarded_write(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fchmod(handle.fileno(), file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except Exception as err:
        tmp.unlink(missing_ok=True)  # first: the free space then said is what the user has
        failure = None if isinstance(err, WriteError) else write_failure(target, err)
        if failure is None:
            raise
        raise failure from None
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result over ``target`` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically."""

    def write(tmp: Path) -> None:
        tmp.write_text(text)

    return write_atomic(target, write)


def append_line(target: str | Path, line: str) -> None:
    """Append ``line`` and a newline to ``target`` (a log such as ``metrics.jsonl``, which readers take line
    by line and which tolerates a last line cut short); a failure is one :class:`WriteError`."""
    with guarded_write(target), open(target, "a") as handle:
        handle.write(line + "\n")
