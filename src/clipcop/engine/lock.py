"""Exclusive locks on what a clipcop process writes: a run folder, a feature file, the frame cache, a manifest.

Two runs on one ``--out`` would otherwise both train, each overwriting the other's checkpoints and
interleaving ``metrics.jsonl``. A lock is ``fcntl.flock`` on a lock file (``FOLDER/.clipcop.lock`` for a
folder, ``.NAME.lock`` beside a file): the operating system drops it when its process dies, however it
dies, so a killed run never blocks the next one. The file also holds a JSON record of its holder (pid,
host, start time, command), which the refused process names, and from which a lock left by a killed run is
recognised and taken over: a free lock whose record is still there, or a held one whose holder, on this
host, no longer exists (a helper that inherited the lock outlived it).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from clipcop.engine.atomic import guarded_write
from clipcop.errors import InUseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; locks are then advisory records only
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".clipcop.lock"
"""The lock file of a locked folder."""

_HELD: dict[Path, tuple[int, int]] = {}
"""Lock files this process holds: path -> (file descriptor, times entered), so that one process may lock
a folder again (a curriculum's stage inside its run) without locking itself out."""
_HELD_LOCK = threading.Lock()


def lock_file_of(path: Path, *, folder: bool) -> Path:
    """The lock file guarding ``path``: inside it for a folder, beside it for a file."""
    return path / LOCK_NAME if folder else path.with_name(f".{path.name}.lock")


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lock: from its record, as the refused process names it."""

    pid: int
    host: str
    started: str
    command: str

    @classmethod
    def read(cls, lock_file: Path) -> Holder | None:
        """The record in ``lock_file`` (None when absent, empty or not a record: never trusted further)."""
        try:
            raw = json.loads(lock_file.read_text()[:4096])
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("pid"), int):
            return None
        return cls(raw["pid"], str(raw.get("host", "?")), str(raw.get("started", "?")), str(raw.get("command", "")))

    def describe(self) -> str:
        what = f"{self.command}, " if self.command else ""
        return f"{what}pid {self.pid} on {self.host}, started {self.started}"

    def gone(self) -> bool:
        """Whether the holder is a process of this host that no longer exists."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # another user's live process
            return False
        return False


def _record() -> str:
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    words = []  # the command's name (``clipcop data cache``), without its options and paths
    for word in sys.argv[1:3] if sys.argv and "clipcop" in sys.argv[0] else []:
        if word.startswith("-") or "/" in word:
            break
        words.append(word)
    command = " ".join(["clipcop", *words]) if words else ""
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started, "command": command})


def _try_flock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if err.errno in (errno.ENOLCK, errno.EOPNOTSUPP):  # a file system without locks: the record alone
            return True
        raise
    return True


def _same_file(fd: int, lock_file: Path) -> bool:
    """Whether ``lock_file`` is still the file ``fd`` locked (a releasing holder removes it)."""
    try:
        st = os.stat(lock_file)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


@dataclass
class Acquired:
    """A lock just taken: its file descriptor, and the holder it took over from (a killed process), if any."""

    fd: int
    stale: Holder | None


def _flock_within(fd: int, wait: float) -> bool:
    """Lock ``fd``, trying for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while not _try_flock(fd):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _acquire(lock_file: Path, what: str, wait: float) -> Acquired:
    """Lock ``lock_file`` (waiting up to ``wait`` seconds) or raise :class:`InUseError` naming the holder."""
    taken_over: Holder | None = None
    for _ in range(5):  # the file may be removed under us by a holder releasing it, or by a takeover
        with guarded_write(lock_file):
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        if not _flock_within(fd, wait):
            holder = Holder.read(lock_file)
            os.close(fd)
            if holder is not None and holder.gone():  # held by what the dead holder left running: take over
                with contextlib.suppress(FileNotFoundError):
                    lock_file.unlink()
                taken_over = holder
                continue
            who = holder.describe() if holder is not None else "holder unknown"
            raise InUseError(f"{what} is in use by another clipcop process ({who}); wait for it or use another path")
        if not _same_file(fd, lock_file):
            os.close(fd)
            continue
        stale = Holder.read(lock_file) or taken_over
        with guarded_write(lock_file):
            os.ftruncate(fd, 0)
            os.pwrite(fd, _record().encode(), 0)
        return Acquired(fd, stale)
    raise InUseError(f"{what}: could not take its lock {lock_file} (it keeps changing); try again")


def _release(lock_file: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        if _same_file(fd, lock_file):
            lock_file.unlink()  # before unlocking: a waiting process then finds it gone and starts over
    os.close(fd)


@contextlib.contextmanager
def locked(
    path: str | Path, *, folder: bool, what: str | None = None, wait: float = 0.0, enabled: bool = True
) -> Iterator[Holder | None]:
    """Hold the exclusive lock of ``path`` (a folder, or a file about to be written) for the block.

    Yields the holder of a stale lock taken over (a killed process's record), or None. Another live
    process holding it (for ``wait`` seconds, if given) raises :class:`InUseError` naming that process;
    this process may enter the same lock again. ``enabled=False`` (the ranks other than 0 under torchrun) takes no lock.
    """
    if not enabled:
        yield None
        return
    path = Path(path)
    lock_file = lock_file_of(path, folder=folder)
    made = path if folder else path.parent
    created = [d for d in (made, *made.parents) if not d.exists()] if folder else []  # deepest first
    made.mkdir(parents=True, exist_ok=True)  # an OSError names the path itself
    key = lock_file.resolve()
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is not None:
            _HELD[key] = (held[0], held[1] + 1)
    if held is not None:
        try:
            yield None
        finally:
            with _HELD_LOCK:
                fd, count = _HELD[key]
                _HELD[key] = (fd, count - 1)
        return
    try:
        acquired = _acquire(lock_file, what or str(path), wait)
    except BaseException:
        _remove_if_empty(path, created)
        raise
    with _HELD_LOCK:
        _HELD[key] = (acquired.fd, 1)
    try:
        yield acquired.stale
    finally:
        with _HELD_LOCK:
            del _HELD[key]
        _release(lock_file, acquired.fd)
        _remove_if_empty(path, created)


def _remove_if_empty(folder: Path, created: list[Path]) -> None:
    """Remove the folders this lock created (``created``, deepest first) where nothing was written in them
    (a run refused at once leaves no ``runs/`` behind)."""
    for made in created:
        try:
            made.rmdir()
        except OSError:
            return


def holder_of(path: str | Path, *, folder: bool) -> Holder | None:
    """The recorded holder of ``path``'s lock (None when nobody recorded one)."""
    return Holder.read(lock_file_of(Path(path), folder=folder))


__all__ = ["LOCK_NAME", "Holder", "holder_of", "lock_file_of", "locked"]
