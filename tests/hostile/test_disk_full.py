"""A full disk at any write ends in one line naming the file and the space left, whatever library raised it
(safetensors raises ``SafetensorError``, not ``OSError``); nothing half-written is left under a final name
and no temporary file stays behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from clipcop.clips import frame_cache
from clipcop.engine import checkpoint
from clipcop.engine.atomic import append_line, write_text_atomic
from clipcop.engine.checkpoint import save_checkpoint
from clipcop.errors import WriteError
from clipcop.features.store import FeatureWriter
from clipcop.paths import human_size
from clipcop.workflows import cache as cache_module
from tests.cli.run import one_error_line, run_cli
from tests.hostile.helpers import snapshot
from tests.workflows.test_pretrain import TINY

SAFETENSORS_FULL = (
    'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'
)
FULL = r"cannot write .*: no space left on the device \(\d+(\.\d)? (B|KiB|MiB|GiB|TiB) free in .*\)"


def _full_after_half(real: Any) -> Any:
    """``save_file`` that writes half a file, then fails as safetensors does on a full disk."""

    def failing(tensors: dict[str, torch.Tensor], filename: str, metadata: dict[str, str] | None = None) -> None:
        real(tensors, filename, metadata=metadata)
        size = os.path.getsize(filename)
        with open(filename, "r+b") as handle:
            handle.truncate(size // 2)
        raise SafetensorError(SAFETENSORS_FULL)

    return failing


def test_human_sizes_never_say_zero_gib() -> None:
    assert [human_size(n) for n in (0, 512, 3277, 14 * 2**20, 1.5 * 2**30, 3 * 2**40)] == [
        "0 B",
        "512 B",
        "3.2 KiB",
        "14.0 MiB",
        "1.5 GiB",
        "3.0 TiB",
    ]


def test_a_checkpoint_save_on_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "best.safetensors"
    save_checkpoint(target, {"w": torch.ones(3)}, {"kind": "vcop"})
    before = target.read_bytes()
    monkeypatch.setattr(checkpoint, "save_file", _full_after_half(save_file))
    with pytest.raises(WriteError, match=FULL) as caught:
        save_checkpoint(target, {"w": torch.zeros(1000)}, {"kind": "vcop"})
    assert str(target) in str(caught.value) and "\n" not in str(caught.value)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]


def test_pretrain_on_a_full_disk_is_one_line(
    tiny_synth: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(checkpoint, "save_file", _full_after_half(save_file))
    before = snapshot(tiny_synth)
    result = run_cli(capsys, "pretrain", "--data", tiny_synth, *TINY, "--epochs", 1, "--out", "run")
    line = one_error_line(result)
    assert result.code == 2
    assert line.startswith(f"clipcop: error: cannot write run{os.sep}best.safetensors: no space left on the device (")
    assert "SafetensorError" not in result.err
    assert not (workdir / "run" / "best.safetensors").exists()
    assert not list((workdir / "run").glob(".*.tmp"))
    assert snapshot(tiny_synth) == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_every_writer_names_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def full(*_: object, **__: object) -> None:
        raise OSError(code, os.strerror(code))

    write_text_atomic(tmp_path / "summary.json", "x" * 10)
    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(WriteError, match=FULL):  # text files: manifests, settings, reports, summaries
        write_text_atomic(tmp_path / "summary.json", "y")
    monkeypatch.undo()
    assert (tmp_path / "summary.json").read_text() == "x" * 10
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setattr("builtins.open", _failing_open(code))
    with pytest.raises(WriteError, match=rf"cannot write {run / 'metrics.jsonl'}: no space left"):
        append_line(run / "metrics.jsonl", "{}")


def _failing_open(code: int) -> Any:
    real = open

    def opened(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wa+"):
            raise OSError(code, os.strerror(code), str(file))
        return real(file, mode, *args, **kwargs)

    return opened


def test_a_frame_cache_entry_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "v.avi"
    from tests.conftest import write_index_video

    write_index_video(video, 6, 24, 32)

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "save", full)
    root = tmp_path / "cache"
    with pytest.raises(WriteError, match=FULL):
        frame_cache.cache_video(root, video, 6, (24, 32))
    assert not [p for p in root.rglob("*") if p.is_file()]  # no entry, no temporary file, no lock file


def test_a_feature_file_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "features.safetensors"
    writer = FeatureWriter(out, rows=4, dim=2, videos=2, meta={})
    monkeypatch.setattr("builtins.open", _failing_open(errno.ENOSPC))
    with pytest.raises(WriteError, match=rf"cannot write {out}: no space left"):
        writer.write_rows(0, np.zeros((4, 2)), np.zeros(4), np.zeros(4))
    monkeypatch.undo()
    writer.discard()
    assert not list(tmp_path.iterdir())


def test_a_small_cache_says_its_size_in_fitting_units(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cache_module, "_free_bytes", lambda root: 1000)
    out = tmp_path / "cache"
    result = run_cli(capsys, "data", "cache", tiny_synth, "--resize", "24x32", "--out", out, "--workers", 0)
    line = one_error_line(result)
    assert result.code == 2
    assert " MiB at 24x32 for 32 videos but " in line and "has 1000 B free" in line
    assert "0.0 GiB" not in line
    assert not list(out.rglob("*.npy"))


def test_a_video_written_on_a_full_disk_names_the_video_not_its_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipcop.videos import writer

    def full(name: str, **_: object) -> None:
        Path(name).write_bytes(b"\0" * 100)  # a first part, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)

    monkeypatch.setattr(av, "open", full)
    target = tmp_path / "v.avi"
    with pytest.raises(WriteError, match=FULL) as caught:
        writer.write_video(target, [np.zeros((16, 16, 3), np.uint8)])
    assert str(caught.value).startswith(f"cannot write {target}: ")
    assert not list(tmp_path.iterdir())
