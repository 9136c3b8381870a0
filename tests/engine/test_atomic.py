"""Atomic writes: the target is replaced in one rename and gets the umask's permissions, not 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from clipcop.engine import atomic
from clipcop.engine.atomic import write_atomic, write_text_atomic
from clipcop.engine.checkpoint import save_checkpoint


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test that sets it."""
    old = os.umask(0o022)
    os.umask(old)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path: Path, mask: int, mode: int) -> None:
    os.umask(mask)
    assert _mode(write_text_atomic(tmp_path / "split.txt", "a\nb\n")) == mode
    ckpt = save_checkpoint(tmp_path / "run" / "best.safetensors", {"w": torch.zeros(2)}, {"kind": "vcop"})
    assert _mode(ckpt) == mode
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["best.safetensors", "run", "split.txt"]  # no temp left


@pytest.mark.usefixtures("umask")
def test_the_umask_fallback_restores_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proc(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("/proc/self/status")

    monkeypatch.setattr(atomic, "open", no_proc, raising=False)  # shadows the builtin inside the module only
    os.umask(0o027)
    assert atomic.file_mode() == 0o640
    assert os.umask(0o027) == 0o027


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "list.txt", "old")

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomic(target, fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["list.txt"]
