"""Which decoder clipcop installs and prefers where, and the one warning when a slower one decodes."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from clipcop.videos import decoder
from clipcop.videos.decoder import available_backends, decord_expected, read_frames
from tests.conftest import frame_index, write_index_video

if sys.version_info >= (3, 11):
    import tomllib  # novermin: the standard library's TOML parser from 3.11 on
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

PLATFORMS = {
    # name: (sys_platform, platform_system, platform_machine)
    "linux-x86_64": ("linux", "Linux", "x86_64"),
    "linux-aarch64": ("linux", "Linux", "aarch64"),
    "macos-arm64": ("darwin", "Darwin", "arm64"),
    "windows-amd64": ("win32", "Windows", "AMD64"),
}
"""The platforms clipcop supports; decord2 publishes wheels for each (CPython 3.10 to 3.14)."""
ELSEWHERE = {
    "macos-x86_64": ("darwin", "Darwin", "x86_64"),
    "windows-arm64": ("win32", "Windows", "ARM64"),
    "linux-ppc64le": ("linux", "Linux", "ppc64le"),
}
"""Platforms without decord2 wheels: pip would fail there (no sdist), so PyAV alone must be asked for."""


def _installed(where: tuple[str, str, str], python: str) -> set[str]:
    """The runtime requirements whose markers hold on ``where`` under CPython ``python``."""
    sys_platform, system, machine = where
    env = {
        "sys_platform": sys_platform,
        "platform_system": system,
        "platform_machine": machine,
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "os_name": "nt" if system == "Windows" else "posix",
    }
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = [Requirement(line) for line in dependencies]
    return {r.name for r in requirements if r.marker is None or r.marker.evaluate(env)}


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12", "3.13", "3.14"])
def test_markers_install_decord2_exactly_where_it_has_wheels(python: str) -> None:
    version = (3, int(python.split(".")[1]))
    for where in PLATFORMS.values():
        names = _installed(where, python)
        assert {"decord2", "av", "torch"} <= names, where
        assert "decord" not in names  # decord 0.6: the same import name, no arm wheels, unmaintained
        assert decord_expected(where[1], where[2], version)
    for where in ELSEWHERE.values():
        assert "decord2" not in _installed(where, python), where
        assert "av" in _installed(where, python)
        assert not decord_expected(where[1], where[2], version)


def test_no_decord2_for_a_python_it_has_no_wheels_for() -> None:
    assert "decord2" not in _installed(PLATFORMS["linux-x86_64"], "3.15")
    assert not decord_expected("Linux", "x86_64", (3, 15))


def test_auto_prefers_decord_then_pyav() -> None:
    names = available_backends()
    assert names[-1] == "pyav"
    if decord_expected():  # where clipcop's dependencies install it, decord is what auto decodes with first
        assert names == ["decord", "pyav"]
        assert [impl.name for impl in decoder._backends_for("auto")] == ["decord", "pyav"]


def _record_reads(tmp_path: Path, backend: str) -> list[str]:
    """Warnings while reading two videos twice, every warning kept (no de-duplication by Python)."""
    videos = [write_index_video(tmp_path / f"v{k}.avi", 6) for k in range(2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            for video in videos:
                assert frame_index(read_frames(video, [4], backend=backend).mean()).item() == 4
    return [str(w.message) for w in caught]


def _slower_decoder_only(monkeypatch: pytest.MonkeyPatch, expected: bool) -> None:
    """As if decord were not installed, on a platform with (``expected``) or without decord2 wheels."""
    monkeypatch.setattr(decoder, "available_backends", lambda: ["pyav"])
    monkeypatch.setattr(decoder, "decord_expected", lambda: expected)
    monkeypatch.setattr(decoder, "_slow_decoder_reported", False)
    monkeypatch.delenv(decoder.SLOW_DECODER_REPORTED, raising=False)


def test_pyav_instead_of_decord_says_so_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _slower_decoder_only(monkeypatch, expected=True)
    messages = _record_reads(tmp_path, "auto")
    assert len(messages) == 1
    assert "PyAV" in messages[0] and "pip install decord2" in messages[0] and "\n" not in messages[0]
    assert _record_reads(tmp_path, "auto") == []  # the rest of the process stays quiet
    # ...and so do the processes it starts from now on (spawned workers inherit the environment).
    monkeypatch.setattr(decoder, "_slow_decoder_reported", False)  # a fresh process's module state
    assert _record_reads(tmp_path, "auto") == []


def test_no_warning_where_pyav_is_the_best_there_is_or_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slower_decoder_only(monkeypatch, expected=False)  # e.g. Windows on ARM: no decord2 wheel
    assert _record_reads(tmp_path, "auto") == []
    monkeypatch.setattr(decoder, "decord_expected", lambda: True)
    assert _record_reads(tmp_path, "pyav") == []  # --backend pyav is a choice, not a missing install
