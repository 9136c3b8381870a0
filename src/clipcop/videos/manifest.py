"""The probe manifest: every video probed once (frames, fps, size, or why it is unreadable), cached.

The manifest is a JSON file beside the data (``<video root>/.clipcop/manifest.json``) or, when the data
folder is read-only, in the cache folder. An entry is reused while the file's size and modification time
are unchanged, so a later run probes only new or changed files.
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

from clipcop.engine.atomic import write_text_atomic
from clipcop.errors import MalformedDataError
from clipcop.paths import cache_dir, is_writable_dir
from clipcop.processes.isolated import probe_isolated
from clipcop.validation import INT, NUMBER, OBJECT, STR, Fields, optional, read_json
from clipcop.videos.decoder import VideoInfo, probe_file

FORMAT_VERSION = 1


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


_INFO = {"num_frames": INT, "fps": NUMBER, "height": INT, "width": INT}
_ENTRY = {"size": INT, "mtime_ns": INT, "info": optional(OBJECT), "error": optional(STR)}
WHAT = "manifest"


def _read(location: Path) -> dict[str, ManifestEntry]:
    """The saved entries; a manifest that is missing, of another format or malformed is a cache miss (a
    malformed one is named in a warning, and every video is probed again)."""
    if not location.is_file():
        return {}
    try:
        return _entries(read_json(location, WHAT, error=MalformedDataError), location)
    except MalformedDataError as err:
        warnings.warn(f"{err}; probing its videos again", stacklevel=2)
        return {}


def _entries(raw: object, location: Path) -> dict[str, ManifestEntry]:
    """The entries of a manifest's JSON, every field checked (:mod:`clipcop.validation`)."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        return {}  # another version's manifest: probe again
    videos = Fields(raw, location, WHAT, error=MalformedDataError).sub("videos")
    entries = {}
    for rel in videos.value:
        fields = videos.sub(rel)
        item = fields.check(_ENTRY, required=("size", "mtime_ns"))
        info = None
        if item.get("info") is not None:
            numbers = fields.sub("info").check(_INFO, required=tuple(_INFO))
            info = VideoInfo(**{key: numbers[key] for key in _INFO})
        entries[rel] = ManifestEntry(size=item["size"], mtime_ns=item["mtime_ns"], info=info, error=item.get("error"))
    return entries


def _write(location: Path, video_root: Path, entries: dict[str, ManifestEntry]) -> None:
    location.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_VERSION,
        "video_root": str(video_root.resolve()),
        "videos": {
            rel: {
                "size": e.size,
                "mtime_ns": e.mtime_ns,
                "info": asdict(e.info) if e.info else None,
                "error": e.error,
            }
            for rel, e in sorted(entries.items())
        },
    }
    write_text_atomic(location, json.dumps(payload))  # readable by colleagues, like every file clipcop writes


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
        old = cached.get(rel)
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
    # Files outside this call (another split's) keep their verdicts while they exist.
    others = {k: v for k, v in saved.items() if k not in entries and (video_root / k).exists()}
    merged = {**others, **{k: v for k, v in entries.items() if k not in unsaved}}
    if merged != saved:
        with contextlib.suppress(OSError):  # a manifest that cannot be saved only costs a re-probe next time
            _write(location, video_root, merged)
    return Manifest(
        video_root=video_root,
        location=location,
        entries=entries,
        probed=len(stale),
        reused=reused,
    )
