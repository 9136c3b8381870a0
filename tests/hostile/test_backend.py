"""A mistyped ``--backend`` is refused before any work by every command that takes one, and the manifest
keeps each backend's verdicts apart (a file one decoder cannot open is not unreadable for the other)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clipcop.videos import manifest as manifest_module
from clipcop.videos.decoder import VideoInfo
from clipcop.videos.manifest import build_manifest, manifest_location
from tests.cli.run import one_error_line, run_cli
from tests.hostile.helpers import snapshot
from tests.workflows.test_pretrain import TINY

REFUSED = "Invalid value for '--backend': 'pyavv' is not one of 'auto', 'decord', 'pyav'. (see --help)"


@pytest.mark.parametrize(
    "command",
    [
        ["data", "index", "{data}", "--workers", "0"],
        ["data", "index", "{data}", "--workers", "1"],
        ["data", "cache", "{data}", "--resize", "24x32", "--out", "{out}", "--workers", "1"],
        ["pretrain", "--data", "{data}", "--epochs", "1", "--out", "{out}", *map(str, TINY[:-6]), "--workers", "1"],
        ["extract", "--data", "{data}", "--random", "--arch", "r3d", "--out", "{out}/f.safetensors", "--workers", "1"],
    ],
    ids=["index", "index-worker", "cache", "pretrain-worker", "extract"],
)
def test_a_mistyped_backend_is_one_line_before_any_work(
    tiny_synth: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [a.format(data=tiny_synth, out=out) for a in command] + ["--backend", "pyavv"]
    before = snapshot(tiny_synth)
    result = run_cli(capsys, *args)
    assert one_error_line(result).endswith(REFUSED)
    assert result.code == 2
    assert "DataLoader" not in result.err and "worker" not in result.err
    assert not out.exists()  # nothing made: no cache folder, run folder or feature file
    assert snapshot(tiny_synth) == before  # and no manifest verdict was written


def _fake_probe(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """decord cannot open ``odd.avi``; PyAV can; every other file is readable by both."""
    if Path(path).name == "odd.avi" and backend == "decord":
        return None, "decord: cannot open"
    return VideoInfo(num_frames=30, fps=25.0, height=24, width=32), None


def test_verdicts_are_kept_per_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_module, "probe_file", _fake_probe)
    root = tmp_path / "videos"
    root.mkdir()
    for name in ("odd.avi", "fine.avi"):
        (root / name).write_bytes(b"\0" * 10)
    rels = ["odd.avi", "fine.avi"]
    first = build_manifest(root, rels, workers=0, backend="decord")
    assert first.error("odd.avi") == "decord: cannot open" and first.probed == 2
    second = build_manifest(root, rels, workers=0, backend="pyav")
    assert second.info("odd.avi") is not None and second.probed == 2  # not "unreadable" for PyAV
    third = build_manifest(root, rels, workers=0, backend="decord")
    assert third.probed == 0 and third.error("odd.avi") == "decord: cannot open"
    saved = json.loads(manifest_location(root).read_text())
    assert saved["format"] == 2
    assert set(saved["videos"]["odd.avi"]["verdicts"]) == {"decord", "pyav"}


def test_a_first_format_manifest_is_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_module, "probe_file", _fake_probe)
    root = tmp_path / "videos"
    root.mkdir()
    stats = {}
    for name in ("odd.avi", "fine.avi"):
        (root / name).write_bytes(b"\0" * 10)
        stat = (root / name).stat()
        stats[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    info = {"num_frames": 30, "fps": 25.0, "height": 24, "width": 32}
    old = {
        "format": 1,
        "video_root": str(root),
        "videos": {
            "fine.avi": {**stats["fine.avi"], "info": info, "error": None},
            "odd.avi": {**stats["odd.avi"], "info": None, "error": "unknown video backend 'pyavv'"},
        },
    }
    location = manifest_location(root)
    location.parent.mkdir(parents=True)
    location.write_text(json.dumps(old))
    built = build_manifest(root, ["odd.avi", "fine.avi"], workers=0, backend="pyav")
    assert built.reused == 1 and built.probed == 1  # the readable verdict reused, the unreadable one probed again
    assert built.info("odd.avi") is not None


def test_the_library_refuses_the_name_too(tmp_path: Path) -> None:
    from clipcop.clips.sources import DecodedVideos
    from clipcop.errors import UsageError

    with pytest.raises(UsageError, match="--backend must be one of"):
        DecodedVideos("pyavv")
    with pytest.raises(UsageError, match="--backend must be one of"):
        build_manifest(tmp_path, [], backend="pyavv")
