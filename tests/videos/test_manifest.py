"""The probe manifest: probed once, reused unless files change, isolated from hangs and crashes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clipcop.processes.isolated import probe_isolated
from clipcop.videos.decoder import VideoInfo
from clipcop.videos.manifest import Manifest, build_manifest, manifest_location
from tests.conftest import write_index_video
from tests.videos import dying_worker
from tests.videos.slow_probe import hang_or_crash, report_sigint


def _frames(manifest: Manifest, rel: str) -> int:
    """Frame count the manifest holds for ``rel``, which must have probed cleanly."""
    info = manifest.info(rel)
    assert info is not None, manifest.error(rel)
    return info.num_frames


def test_manifest_probes_once_and_reprobes_changed_files(tmp_path: Path) -> None:
    for i in range(3):
        write_index_video(tmp_path / f"v{i}.avi", 10 + i)
    (tmp_path / "bad.avi").write_text("not a video")
    rels = ["v0.avi", "v1.avi", "v2.avi", "bad.avi"]
    first = build_manifest(tmp_path, rels, workers=2)
    assert first.probed == 4 and first.reused == 0
    assert [_frames(first, f"v{i}.avi") for i in range(3)] == [10, 11, 12]
    assert first.info("bad.avi") is None and first.error("bad.avi")
    assert first.location == tmp_path / ".clipcop" / "manifest.json"
    umask = os.umask(0o022)
    os.umask(umask)
    assert first.location.stat().st_mode & 0o777 == 0o666 & ~umask  # colleagues can read shared data's manifest
    second = build_manifest(tmp_path, rels, workers=2)
    assert second.probed == 0 and second.reused == 4
    write_index_video(tmp_path / "v1.avi", 20)
    os.utime(tmp_path / "v1.avi", ns=(time.time_ns(), time.time_ns() + 10**9))
    third = build_manifest(tmp_path, rels, workers=0)
    assert third.probed == 1 and _frames(third, "v1.avi") == 20


def test_read_only_data_keeps_its_manifest_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "ro"
    write_index_video(data / "v.avi", 8)
    # Root can write anywhere, so stand in for a read-only mount at the permission check itself.
    monkeypatch.setattr("clipcop.videos.manifest.is_writable_dir", lambda path: False)
    location = manifest_location(data)
    assert Path(os.environ["CLIPCOP_CACHE"]) in location.parents
    manifest = build_manifest(data, ["v.avi"], workers=0)
    assert _frames(manifest, "v.avi") == 8 and location.is_file()
    assert not (data / ".clipcop").exists()


def test_a_hanging_or_crashing_decoder_costs_only_its_file(tmp_path: Path) -> None:
    paths = [write_index_video(tmp_path / f"ok{i}.avi", 9) for i in range(3)]
    for name in ("hang.avi", "crash.avi"):
        (tmp_path / name).write_bytes(b"x")
    paths[1:1] = [tmp_path / "hang.avi", tmp_path / "crash.avi"]
    started = time.monotonic()
    outcomes = {o.index: o for o in probe_isolated(paths, workers=2, timeout=3.0, probe=hang_or_crash)}
    assert time.monotonic() - started < 30
    assert len(outcomes) == 5
    assert "longer than 3 s" in (outcomes[1].error or "")
    assert "crashed" in (outcomes[2].error or "")
    assert [(info.num_frames if (info := outcomes[i].info) else None) for i in (0, 3, 4)] == [9, 9, 9]


def test_a_worker_dying_before_it_reads_its_file_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Such a worker leaves its task unread: the parent's read fails with a connection reset, which
    # used to escape as a traceback (EOFError was the only death handled).
    paths = [write_index_video(tmp_path / f"ok{i}.avi", 9) for i in range(3)]
    monkeypatch.setenv(dying_worker.DIE, "1")
    outcomes = list(probe_isolated(paths, workers=2, timeout=10.0, probe=dying_worker.probe))
    assert sorted(o.index for o in outcomes) == [0, 1, 2]
    assert all(o.info is None and "keep exiting at start (exit code 3)" in (o.error or "") for o in outcomes)
    assert all(o.unprobed for o in outcomes)  # so the manifest never saves these as the files' verdicts
    assert all('if __name__ == "__main__":' in (o.error or "") for o in outcomes)  # the usual cause, named


def test_workers_that_keep_dying_before_taking_a_file_cannot_hang_probing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first worker answers and dies idle; every replacement exits at start, often before it can be
    # sent a file. Each file must still get an outcome (it used to respawn workers forever).
    paths = [write_index_video(tmp_path / f"ok{i}.avi", 9) for i in range(3)]
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(dying_worker.ONCE, str(marks))
    started, outcomes = time.monotonic(), []
    for outcome in probe_isolated(paths, workers=1, timeout=10.0, probe=dying_worker.answer_then_die):
        outcomes.append(outcome)
        time.sleep(1.0)  # the next file is sent only now, after the worker has died idle
    assert time.monotonic() - started < 60
    assert sorted(o.index for o in outcomes) == [0, 1, 2]
    assert [o.info is not None for o in sorted(outcomes, key=lambda o: o.index)] == [True, False, False]
    assert all("exit code 5" in (o.error or "") for o in outcomes if o.info is None)


def test_workers_dying_at_start_beside_a_healthy_one_cost_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three workers in a row die as they start while the first works on: the healthy worker (and any
    healthy replacement) probes every file; before, the files left were all reported unprobed."""
    paths = [write_index_video(tmp_path / f"ok{i}.avi", 9) for i in range(6)]
    tally = tmp_path / "tally"
    tally.mkdir()
    monkeypatch.setenv(dying_worker.SOME, str(tally))
    outcomes = list(probe_isolated(paths, workers=2, timeout=30.0, probe=dying_worker.slow_probe))
    assert sorted(o.index for o in outcomes) == list(range(6))
    assert all(o.info is not None and o.info.num_frames == 9 for o in outcomes), [o.error for o in outcomes]
    assert len(list(tally.iterdir())) >= 4  # the three that died were replaced, or their slot given up


def test_probing_workers_leave_ctrl_c_to_the_command(tmp_path: Path) -> None:
    """A Ctrl-C reaches every process of the terminal's group: workers ignore it (no traceback of theirs
    while they start up), the command handles it and stops them; its own handler is left as it was."""
    before = signal.getsignal(signal.SIGINT)
    (outcome,) = probe_isolated([write_index_video(tmp_path / "v.avi", 9)], workers=1, probe=report_sigint)
    assert outcome.error == "SIGINT: <Handlers.SIG_IGN: 1>"
    assert signal.getsignal(signal.SIGINT) is before


def test_what_says_nothing_about_the_file_is_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file without read permission, a broken link and a probe the machine could not start are
    reported but never saved: once fixed, the next run probes them. ``reprobe`` probes everything."""
    from clipcop.processes.isolated import ProbeOutcome

    for name in ("a.avi", "b.avi", "c.avi"):
        write_index_video(tmp_path / name, 9)
    (tmp_path / "gone.avi").symlink_to(tmp_path / "nowhere.avi")
    rels = ["a.avi", "b.avi", "c.avi", "gone.avi"]
    real_access = os.access
    # Root may read anything: stand in for a file without read permission at the check itself.
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p).name != "a.avi")

    def workers_cannot_start(paths: list[Path], **kwargs: Any) -> Iterator[ProbeOutcome[VideoInfo]]:
        for index, path in enumerate(paths):
            if path.name == "b.avi":
                yield ProbeOutcome(index, None, "probe workers keep exiting at start (exit code 255)", unprobed=True)
            else:
                outcomes: Iterator[ProbeOutcome[VideoInfo]] = probe_isolated([path], **kwargs)
                for outcome in outcomes:
                    yield ProbeOutcome(index, outcome.info, outcome.error)

    monkeypatch.setattr("clipcop.videos.manifest.probe_isolated", workers_cannot_start)
    first = build_manifest(tmp_path, rels, workers=0)
    assert first.error("a.avi") == "no permission to read it" and "exiting at start" in (first.error("b.avi") or "")
    assert "cannot open" in (first.error("gone.avi") or "") and _frames(first, "c.avi") == 9
    monkeypatch.setattr(os, "access", real_access)
    monkeypatch.setattr("clipcop.videos.manifest.probe_isolated", probe_isolated)
    second = build_manifest(tmp_path, rels, workers=0)
    assert second.probed == 2 and second.reused == 1  # a and b again, c from the manifest
    assert _frames(second, "a.avi") == _frames(second, "b.avi") == 9
    assert build_manifest(tmp_path, rels, workers=0, reprobe=True).probed == 3
