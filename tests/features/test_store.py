"""Feature files are ordinary safetensors, written in place row by row and read back memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from clipcop.engine.atomic import file_mode
from clipcop.errors import FeatureFileError
from clipcop.features.store import FeatureWriter, read_features


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_rows_written_out_of_order_read_back_exactly(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(6, 5)).astype(np.float32)
    writer = FeatureWriter(
        tmp_path / "f.safetensors", rows=6, dim=5, videos=3, meta={"video_ids": ["a", "b", "c"]}, dtype=dtype
    )
    for video in (2, 0, 1):
        rows = slice(2 * video, 2 * video + 2)
        writer.write_rows(2 * video, feats[rows], np.full(2, video), np.array([0, 7]))
    writer.write_labels(np.array([1, 0, 1]))
    ids = [name * 30_000 for name in "abc"]  # metadata larger than the reserved header
    path = writer.finish({"failed": ["b"], "video_ids": ids})
    back = read_features(path)
    assert np.allclose(back.features, feats, atol=1e-3 if dtype == "float16" else 0)
    assert back.video.tolist() == [0, 0, 1, 1, 2, 2] and back.start.tolist() == [0, 7] * 3
    assert back.labels.tolist() == [1, 0, 1] and back.failed == ["b"] and back.video_ids == ids
    reference = load_file(str(path))  # the official safetensors reader agrees
    assert np.array_equal(reference["features"], np.asarray(back.features))
    assert not list(tmp_path.glob(".*partial*"))
    assert path.stat().st_mode & 0o777 == file_mode()  # readable by colleagues, unlike a bare temp file


def test_two_writers_to_one_file_never_share_rows(tmp_path: Path) -> None:
    """Two jobs extracting to the same cache file each write their own temporary file; the last to
    finish wins whole, and one that gives up leaves nothing behind."""
    target = tmp_path / "f.safetensors"
    first, second = (FeatureWriter(target, rows=2, dim=3, videos=1, meta={"video_ids": ["v"]}) for _ in range(2))
    assert first.tmp != second.tmp and first.tmp.name.startswith(".f.safetensors.")
    for writer, value in ((first, 1.0), (second, 2.0)):
        writer.write_rows(0, np.full((2, 3), value, dtype=np.float32), np.zeros(2), np.array([0, 4]))
        writer.write_labels(np.array([0]))
    first.finish({})
    assert np.all(np.asarray(read_features(target).features) == 1.0)
    second.discard()
    assert np.all(np.asarray(read_features(target).features) == 1.0) and not list(tmp_path.glob(".*partial"))


def test_damaged_or_foreign_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeatureFileError, match="does not exist"):
        read_features(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(FeatureFileError, match=r"junk\.safetensors is not valid JSON"):
        read_features(junk)
    writer = FeatureWriter(tmp_path / "f.safetensors", rows=4, dim=3, videos=2, meta={"video_ids": ["a", "b"]})
    path = writer.finish({})
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-10])
    with pytest.raises(FeatureFileError, match="truncated"):
        read_features(tmp_path / "cut.safetensors")
