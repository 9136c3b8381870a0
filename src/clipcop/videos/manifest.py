"""The probe manifest: every video probed once (frames, fps, size, or why it is unreadable), cached.

The manifest is a JSON file beside the data (``<video root>/.clipcop/manifest.json``) or, when the data
folder is read-only, in the cache folder. An entry is reused while the file's size and modification time
are unchanged, so a later run probes only new or changed files.

Verdicts are kept per decoder (``--backend``): a file that decord cannot open may be fine for PyAV, so
a run with another backend probes it again instead of inheriting "unreadable". A manifest of the first
format (no backend recorded) is still read: its readable files are reused by every backend, its
unreadable ones are probed again. The backend name is checked before anything is probed or saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from clipcop.config import check_backend
from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.lock import locked
from clipcop.errors import ClipcopError, MalformedDataError
from clipcop.paths import cache_dir, is_writable_dir
from clipcop.processes.isolated import probe_isolated
from clipcop.validation import INT, NUMBER, OBJECT, STR, Fields, optional, read_json
from clipcop.videos.decoder import VideoInfo, probe_file

FORMAT_VERSION = 2
ANY_BACKEND = "*"
"""The key of a verdict read from a first-format manifest, which recorded no backend (readable files only)."""


@dataclass(frozen=True, kw_only=True)
class ManifestEntry:
    """One probed file: its identity (size, mtime) and either ``info`` or the ``error`` that stopped it."""

    size: int
    mtime_ns: int
    info: VideoInfo | None
    error: str | None


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """Probe results for the videos under ``video_root``, keyed by relative POSIX path."""

    video_root: Path
    location: Path
    entries: dict[str, ManifestEntry]
    probed: int
    reused: int

    def info(self, rel: str) -> VideoInfo | None:
        """The probed info of ``rel``, or None if it is unreadable or unknown."""
        entry = self.entries.get(rel)
        return entry.info if entry else None

    def error(self, rel: str) -> str | None:
        """Why ``rel`` could not be read (None when it can)."""
        entry = self.entries.get(rel)
        return entry.error if entry else "not probed"


def manifest_location(video_root: Path) -> Path:
    """Where the manifest for ``video_root`` lives: beside the data, or in the cache when read-only."""
    beside = video_root / ".clipcop"
    if (beside.is_dir() and is_writable_dir(beside)) or (not beside.exists() and is_writable_dir(video_root)):
        return beside / "manifest.json"
    key = hashlib.sha1(str(video_root.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "manifests" / f"{key}.json"


@dataclass(frozen=True, kw_only=True)
class _Saved:
    """One file as saved: its identity and each backend's verdict (``info`` or ``error``)."""

    size: int
    mtime_ns: int
    verdicts: dict[str, tuple[VideoInfo | None, str | None]]

    def entry(self, backend: str) -> ManifestEntry | None:
        """This file's verdict for ``backend`` (a first-format readable verdict serves every backend)."""
        verdict = self.verdicts.get(backend)
        if verdict is None and self.verdicts.get(ANY_BACKEND, (None, None))[0] is not None:
            verdict = self.verdicts[ANY_BACKEND]
        if verdict is None:
            return None
        return ManifestEntry(size=self.size, mtime_ns=self.mtime_ns, info=verdict[0], error=verdict[1])


_INFO = {"num_frames": INT, "fps": NUMBER, "height": INT, "width": INT}
_VERDICT = {"info": optional(OBJECT), "error": optional(STR)}
_FILE = {"size": INT, "mtime_ns": INT}
WHAT = "manifest"


def _read(location: Path) -> dict[str, _Saved]:
    """The saved files; a manifest that is missing, of another format or malformed is a cache miss (a
    malformed one is named in a warning, and every video is probed again)."""
    if not location.is_file():
        return {}
    try:
        return _files(read_json(location, WHAT, error=MalformedDataError), location)
    except MalformedDataError as err:
        warnings.warn(f"{err}; probing its videos again", stacklevel=2)
        return {}


def _verdict(fields: Fields) -> tuple[VideoInfo | None, str | None]:
    """One verdict's ``info`` (checked field by field) and ``error``."""
    item = fields.check(_VERDICT)
    info = None
    if item.get("info") is not None:
        numbers = fields.sub("info").check(_INFO, required=tuple(_INFO))
        info = VideoInfo(**{key: numbers[key] for key in _INFO})
    return info, item.get("error")


def _files(raw: object, location: Path) -> dict[str, _Saved]:
    """The files of a manifest's JSON, every field checked (:mod:`clipcop.validation`)."""
    if not isinstance(raw, dict) or raw.get("format") not in (1, FORMAT_VERSION):
        return {}  # another version's manifest: probe again
    version = raw["format"]
    videos = Fields(raw, location, WHAT, error=MalformedDataError).sub("videos")
    saved = {}
    for rel in videos.value:
        fields = videos.sub(rel)
        item = fields.check(_FILE, required=tuple(_FILE))
        verdicts: dict[str, tuple[VideoInfo | None, str | None]] = {}
        if version == 1:  # no backend recorded: keep readable verdicts for every backend, probe the rest again
            first = _verdict(fields)
            if first[0] is not None:
                verdicts[ANY_BACKEND] = first
        else:
            by_backend = fields.sub("verdicts", required=True)
            verdicts = {str(name): _verdict(by_backend.sub(name)) for name in by_backend.value}
        saved[rel] = _Saved(size=item["size"], mtime_ns=item["mtime_ns"], verdicts=verdicts)
    return saved


def _write(location: Path, video_root: Path, saved: dict[str, _Saved]) -> None:
    location.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_VERSION,
        "video_root": str(video_root.resolve()),
        "videos": {
            rel: {
                "size": f.size,
                "mtime_ns": f.mtime_ns,
                "verdicts": {
                    backend: {"info": asdict(info) if info else None, "error": error}
                    for backend, (info, error) in sorted(f.verdicts.items())
                },
            }
            for rel, f in sorted(saved.items())
        },
    }
    write_text_atomic(location, json.dumps(payload))  # readable by colleagues, like every file clipcop writes


def _merge(
    saved: dict[str, _Saved], entries: dict[str, ManifestEntry], backend: str, video_root: Path
) -> dict[str, _Saved]:
    """``saved`` with this run's verdicts for ``backend``; other backends' verdicts of an unchanged file are
    kept, and files outside this call (another split's) keep theirs while they exist."""
    merged = {k: v for k, v in saved.items() if k not in entries and (video_root / k).exists()}
    for rel, entry in entries.items():
        old = saved.get(rel)
        same = old is not None and (old.size, old.mtime_ns) == (entry.size, entry.mtime_ns)
        verdicts = dict(old.verdicts) if same and old is not None else {}
        verdicts[backend] = (entry.info, entry.error)
        merged[rel] = _Saved(size=entry.size, mtime_ns=entry.mtime_ns, verdicts=verdicts)
    return merged


def build_manifest(
    video_root: Path,
    rel_paths: Iterable[str],
    *,
    workers: int = 2,
    timeout: float = 120.0,
    backend: str = "auto",
    reprobe: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> Manifest:
    """Probe the files ``rel_paths`` under ``video_root``, reusing cached entries of unchanged files.

    Files that vanished are dropped from the manifest; new or changed ones (every one with ``reprobe``)
    are probed in isolated worker processes (see :func:`clipcop.processes.isolated.probe_isolated`). A file
    that cannot be opened or read, and a probe the machine could not run, are reported but not saved.
    """
    check_backend(backend)  # before anything is probed: a mistyped name must never reach the manifest
    location = manifest_location(video_root)
    saved = _read(location)
    cached = {} if reprobe else saved
    wanted = sorted(set(rel_paths))
    entries: dict[str, ManifestEntry] = {}
    unsaved: set[str] = set()
    stale: list[tuple[str, int, int]] = []
    reused = 0
    for rel in wanted:
        path = video_root / rel
        try:
            stat = path.stat()
        except OSError as err:  # e.g. a broken symbolic link
            entries[rel] = ManifestEntry(size=-1, mtime_ns=-1, info=None, error=f"cannot open: {err.strerror}")
            unsaved.add(rel)
            continue
        if not os.access(path, os.R_OK):
            entries[rel] = ManifestEntry(
                size=stat.st_size, mtime_ns=stat.st_mtime_ns, info=None, error="no permission to read it"
            )
            unsaved.add(rel)
            continue
        found = cached.get(rel)
        old = found.entry(backend) if found is not None else None
        if old is not None and old.size == stat.st_size and old.mtime_ns == stat.st_mtime_ns:
            entries[rel] = old
            reused += 1
        else:
            stale.append((rel, stat.st_size, stat.st_mtime_ns))
    outcomes = probe_isolated(
        [video_root / rel for rel, _, _ in stale], probe=probe_file, workers=workers, timeout=timeout, backend=backend
    )
    for done, outcome in enumerate(outcomes, start=1):
        rel, size, mtime_ns = stale[outcome.index]
        entries[rel] = ManifestEntry(size=size, mtime_ns=mtime_ns, info=outcome.info, error=outcome.error)
        if outcome.unprobed:  # like files without read permission: never saved, probed again next run
            unsaved.add(rel)
        if on_progress is not None:
            on_progress(done, len(stale))
    kept = {k: v for k, v in entries.items() if k not in unsaved}
    # A manifest not saved (a read-only folder, a full disk, another run holding it for long) only costs a
    # re-probe next time. Under its lock the latest saved manifest is merged: two runs lose no verdicts.
    with contextlib.suppress(OSError, ClipcopError), locked(location, folder=False, wait=30.0):
        latest = _read(location)
        merged = _merge(latest, kept, backend, video_root)
        if merged != latest:
            _write(location, video_root, merged)
    return Manifest(
        video_root=video_root,
        location=location,
        entries=entries,
        probed=len(stale),
        reused=reused,
    )
