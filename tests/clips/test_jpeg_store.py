"""The JPEG frame store serves the frames the decoder gives (within JPEG's loss), reads only a tuple's frames,
and never decodes damaged bytes: torn shards, truncated indexes and undecodable JPEGs are named and rewritten
or skipped with a count; concurrent writers and torchrun ranks write the same store as one process."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from clipcop.clips import jpeg_store, jpeg_writer
from clipcop.clips.datasets import VCOPTupleDataset, VideoRef
from clipcop.clips.frame_cache import video_key
from clipcop.clips.jpeg_store import JpegStore, load_index, runs, store_folder
from clipcop.clips.sources import DecodedVideos, JpegFrames, StoredFrames
from clipcop.config import ClipGeometry, TupleSpec
from clipcop.engine.reporting import Reporter
from clipcop.errors import DataError, UsageError, VideoDecodeError
from clipcop.workflows.cache import cache_frames, frame_source
from tests.conftest import frame_index, write_index_video, write_moving_video

GEOMETRY = ClipGeometry(resize=(32, 44), crop=24)
SPEC = TupleSpec(clip_len=4, interval=2, tuple_len=3)
SIZE = (24, 32)


class Notes(Reporter):
    """A quiet reporter that keeps its warnings (what a user would read on stderr)."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _store(tmp_path: Path, lengths: list[int], shard_frames: int = 20_000) -> tuple[list[VideoRef], Path]:
    """Videos of ``lengths`` frames in class folders, and a JPEG store of them at GEOMETRY.resize."""
    data = tmp_path / "data"
    videos = [
        VideoRef(write_moving_video(data / f"c{i % 2}" / f"v{i}.avi", n, seed=i), n, i % 2)
        for i, n in enumerate(lengths)
    ]
    root = tmp_path / "store"
    cache_frames(
        data,
        resize=GEOMETRY.resize,
        out=root,
        workers=1,
        format="jpeg",
        backend="pyav",
        reporter=Notes(),
        shard_frames=shard_frames,
    )  # type: ignore[arg-type]
    return videos, root


def _jpeg(root: Path) -> JpegFrames:
    return JpegFrames(JpegStore(root), DecodedVideos("pyav"))


def _files(store: Path) -> dict[str, bytes]:
    """Every file of a store folder but the lock files, by relative path."""
    return {
        str(p.relative_to(store)): p.read_bytes()
        for p in sorted(store.rglob("*"))
        if p.is_file() and p.suffix != ".lock"
    }


def test_stored_items_are_the_decoded_items_within_jpeg_loss(tmp_path: Path) -> None:
    videos, root = _store(tmp_path, [30, 37, 33], shard_frames=30)
    index = load_index(store_folder(root, GEOMETRY.resize))
    assert index is not None and len(index.videos) == 3 and len(index.shards) == 3 and index.quality == 90
    for train in (True, False):
        decoded = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=train, seed=3, source=DecodedVideos("pyav"))
        stored = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=train, seed=3, source=_jpeg(root))
        assert stored.fully_cached() and not decoded.fully_cached()
        for key in [(1, 0), (2, 1), (0, 2)]:
            a, b = decoded[key], stored[key]
            assert torch.equal(a["target"], b["target"]) and int(b["failed_reads"]) == 0
            difference = (a["clips"].double() - b["clips"].double()).abs()
            # This texture of random colour blocks is JPEG's worst case (its colour is subsampled): 7 levels
            # on average at quality 90, where a frame's neighbour differs by 17.
            assert difference.mean() < 10.0, float(difference.mean())
    # Spawned loader workers receive the store pickled and open their own files.
    clone = pickle.loads(pickle.dumps(JpegStore(root)))
    assert clone.contains(videos[0].path, GEOMETRY.resize)


def test_a_tuple_reads_one_run_per_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = write_index_video(tmp_path / "data" / "c0" / "index.avi", 40)
    root = tmp_path / "store"
    cache_frames(tmp_path / "data", resize=GEOMETRY.resize, out=root, workers=1, format="jpeg", reporter=Notes())
    reads: list[int] = []
    real = os.preadv

    def counted(fd: int, buffers: list[bytearray], offset: int) -> int:
        reads.append(offset)
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", counted)
    rows = np.array([[2, 3, 4, 5], [20, 21, 22, 23], [9, 10, 11, 12]])
    frames, where = JpegStore(root).read(video, rows, GEOMETRY.resize) or (None, None)
    assert frames is not None and where is not None and frames.shape == (12, 32, 44, 3)
    assert len(reads) == 3 and where.shape == rows.shape
    assert (frame_index(frames[where].mean(axis=(2, 3, 4))) == rows).all()  # exactly the frames asked for
    assert runs(np.array([1, 2, 3, 7, 9, 10])) == [(0, 3), (3, 4), (4, 6)]


def test_both_cpu_decoders_give_the_same_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    videos, root = _store(tmp_path, [30])
    rows = np.array([[0, 1, 2, 3], [10, 11, 12, 13]])
    assert jpeg_store._simplejpeg() is not None  # the test extra installs it
    fast, where = JpegStore(root).read(videos[0].path, rows, GEOMETRY.resize) or (None, None)
    monkeypatch.setattr(jpeg_store, "_simplejpeg", lambda: None)  # torchvision's decode_jpeg instead
    plain, again = JpegStore(root).read(videos[0].path, rows, GEOMETRY.resize) or (None, None)
    assert fast is not None and plain is not None and np.array_equal(fast, plain)
    assert where is not None and again is not None and np.array_equal(where, again)
    wrong = JpegStore(root).read(videos[0].path, rows, (24, 32))  # no store at that size: None, not pixels
    assert wrong is None


def test_a_torn_shard_is_never_decoded_and_is_rewritten(tmp_path: Path) -> None:
    videos, root = _store(tmp_path, [30, 31, 32, 33], shard_frames=60)
    store = store_folder(root, GEOMETRY.resize)
    before = _files(store)
    shard = sorted((store / "shards").glob("*.jpegs"))[0]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # a copy or a write cut short
    (shard.parent / f".{shard.name}.k1ll3d.tmp").write_bytes(b"half a shard")  # a writer killed midway
    data = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=True, seed=0, source=_jpeg(root))
    index = load_index(store)
    assert index is not None
    torn = [
        i for i, v in enumerate(videos) if index.shards[index.videos[video_key(v.path, GEOMETRY.resize)][0]][0] == shard
    ]
    item = data[(0, torn[0])]
    assert int(item["failed_reads"]) >= 1 and int(item["index"]) != torn[0]
    with pytest.raises(VideoDecodeError, match=re.escape(f"shard {shard} is torn")):
        JpegStore(root).read(videos[torn[0]].path, np.arange(4), GEOMETRY.resize)
    notes = Notes()
    report = cache_frames(
        tmp_path / "data",
        resize=GEOMETRY.resize,
        out=root,
        workers=1,
        format="jpeg",
        backend="pyav",
        shard_frames=60,
        reporter=notes,
    )
    assert any(str(shard) in w and "torn" in w for w in notes.warnings), notes.warnings
    assert report.written == len(torn) and _files(store) == before  # rewritten to the same bytes


def test_a_truncated_index_is_named_and_rebuilt(tmp_path: Path) -> None:
    videos, root = _store(tmp_path, [30, 31])
    store = store_folder(root, GEOMETRY.resize)
    before = _files(store)
    table = next(store.glob("index-*.npy"))
    table.write_bytes(table.read_bytes()[:-40])
    with pytest.raises(DataError, match=re.escape(f"{table} is truncated")):
        JpegStore(root).contains(videos[0].path, GEOMETRY.resize)
    (store / "index.json").write_text('{"format": "clipcop-jpeg-st')
    with pytest.raises(DataError, match=r"index\.json is not valid JSON .*rebuild it"):
        frame_source(str(root)).holds(videos[0].path, GEOMETRY.resize)
    report = cache_frames(
        tmp_path / "data", resize=GEOMETRY.resize, out=root, workers=1, format="jpeg", backend="pyav", reporter=Notes()
    )
    assert report.written == 0 and _files(store) == before  # the shards were whole: only the index is rewritten
    assert JpegStore(root).contains(videos[1].path, GEOMETRY.resize)


def test_damaged_and_undecodable_frames_are_skipped_with_a_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = jpeg_writer.encode_video

    def one_bad_jpeg(path: str, num_frames: int, size: tuple[int, int], quality: int, backend: str) -> list[bytes]:
        blobs = real(path, num_frames, size, quality, backend)
        if path.endswith("v1.avi"):  # an encoder that wrote something that is not a JPEG (its CRC matches)
            blobs[5] = b"\xff\xd8 not a jpeg" + bytes(50)
        return blobs

    monkeypatch.setattr(jpeg_writer, "encode_video", one_bad_jpeg)
    videos, root = _store(tmp_path, [30, 30, 30])
    with pytest.raises(VideoDecodeError, match="does not decode"):
        JpegStore(root).read(videos[1].path, np.array([[4, 5, 6, 7]]), GEOMETRY.resize)
    data = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=False, seed=0, source=_jpeg(root))
    item = data[1]  # every tuple of this length spans frame 5
    assert int(item["failed_reads"]) == 1 and int(item["index"]) == 2
    # Bytes damaged on disk after writing fail their CRC before any decoder sees them.
    store = store_folder(root, GEOMETRY.resize)
    index = load_index(store)
    assert index is not None
    shard, first, _ = index.videos[video_key(videos[0].path, GEOMETRY.resize)]
    offset = int(index.table[first + 3]["offset"]) + 30
    with open(index.shards[shard][0], "r+b") as handle:
        handle.seek(offset)
        handle.write(b"\x00" * 8)
    with pytest.raises(VideoDecodeError, match="fails its CRC"):
        JpegStore(root).read(videos[0].path, np.array([[2, 3, 4, 5]]), GEOMETRY.resize)


def test_a_video_that_does_not_decode_is_counted_and_not_tried_again(tmp_path: Path) -> None:
    videos, _ = _store(tmp_path, [30, 31, 32])
    victim = videos[1].path
    stat = victim.stat()
    victim.write_bytes(bytes(stat.st_size))  # same size and time: the manifest and the key still match
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    other = tmp_path / "store2"
    notes = Notes()
    report = cache_frames(
        tmp_path / "data", resize=GEOMETRY.resize, out=other, workers=1, format="jpeg", backend="pyav", reporter=notes
    )
    assert report.failed == (str(victim),) and report.written == 2
    assert any(w.startswith(f"skipped {victim}") for w in notes.warnings), notes.warnings
    again = cache_frames(
        tmp_path / "data", resize=GEOMETRY.resize, out=other, workers=1, format="jpeg", backend="pyav", reporter=Notes()
    )
    assert again.written == 0 and again.failed == (str(victim),)
    assert len(list((store_folder(other, GEOMETRY.resize) / "shards").glob("*.jpegs"))) == 1


def test_source_selection_and_decode_on(tmp_path: Path) -> None:
    videos, root = _store(tmp_path, [30])
    source = frame_source(str(root))
    assert isinstance(source, StoredFrames) and isinstance(source.fallback, JpegFrames)
    assert source.holds(videos[0].path, GEOMETRY.resize)
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match=r"--decode-on cuda .* needs a CUDA GPU"):
            frame_source(str(root), decode_on="cuda")
    with pytest.raises(UsageError, match="--quality must be 1 to 100"):
        cache_frames(tmp_path / "data", resize=SIZE, out=root, format="jpeg", quality=0)
    with pytest.raises(UsageError, match="holds quality 90, not 75"):
        cache_frames(
            tmp_path / "data",
            resize=GEOMETRY.resize,
            out=root,
            workers=1,
            format="jpeg",
            backend="pyav",
            quality=75,
            reporter=Notes(),
        )


def _data_cache(data: Path, out: Path, *extra: str) -> list[str]:
    args = ["data", "cache", str(data), "--resize", "24x32", "--out", str(out), "--format", "jpeg"]
    return [*args, "--shard-frames", "200", "--workers", "1", "--quiet", "--json", *extra]


def _clipcop(*args: str, torchrun: bool = False) -> subprocess.Popen[str]:
    """``clipcop ARGS`` started in a child process (two under torchrun), one thread each."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] if torchrun else []
    command = [sys.executable, *launcher, "-m", "clipcop", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The JSON record of a finished child, which must have succeeded."""
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return dict(json.loads(out))


def test_two_writers_at_once_write_one_whole_store(tiny_synth: Path, tmp_path: Path) -> None:
    alone = _finished(_clipcop(*_data_cache(tiny_synth, tmp_path / "one")))
    both = [_clipcop(*_data_cache(tiny_synth, tmp_path / "both")) for _ in range(2)]
    records = [_finished(p) for p in both]
    assert sum(r["written"] for r in records) == 32  # each video encoded once, by one writer or the other
    # Every shard, its table and the index byte for byte as one writer's: the last index lists every shard.
    assert _files(store_folder(tmp_path / "both", SIZE)) == _files(store_folder(tmp_path / "one", SIZE))
    assert alone["format"] == "jpeg" and alone["mib_total"] > 0


def test_the_index_waits_for_a_shard_another_process_is_writing(tmp_path: Path) -> None:
    """A shard held under its lock (another writer finishing it) when the index is rebuilt is waited for
    and listed, not skipped: the race that left a concurrent writer's index short."""
    import threading

    _, root = _store(tmp_path, [30, 31, 32], shard_frames=30)  # three shards
    store = store_folder(root, GEOMETRY.resize)
    (store / "index.json").unlink()
    busy = sorted((store / "shards").glob("*.jpegs"))[1].stem
    with jpeg_writer.locked(store / "shards" / f"{busy}.lock"):
        rebuild = threading.Thread(target=jpeg_writer.rebuild_index, args=(store, GEOMETRY.resize, 90))
        rebuild.start()
        rebuild.join(timeout=0.5)  # still waiting for the shard, whatever the machine's speed
        waited = rebuild.is_alive()
    rebuild.join(timeout=120)
    index = load_index(store)
    assert waited and index is not None and len(index.videos) == 3
    assert busy in [shard["name"] for shard in json.loads((store / "index.json").read_text())["shards"]]


def test_two_torchrun_ranks_write_the_store_one_process_writes(tiny_synth: Path, tmp_path: Path) -> None:
    _finished(_clipcop(*_data_cache(tiny_synth, tmp_path / "one")))
    record = _finished(_clipcop(*_data_cache(tiny_synth, tmp_path / "two"), torchrun=True))  # rank 0 alone prints
    assert record["written"] == 32 and record["failed"] == 0
    one, two = _files(store_folder(tmp_path / "one", SIZE)), _files(store_folder(tmp_path / "two", SIZE))
    assert len([n for n in one if n.endswith(".jpegs")]) >= 4 and one == two


def test_worker_processes_decode_on_the_cpu_when_cuda_is_asked(tmp_path: Path) -> None:
    videos, root = _store(tmp_path, [30, 31])
    store = JpegStore(root, decode_on="cuda")  # a worker process cannot start CUDA: it decodes on the CPU
    data = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=False, source=JpegFrames(store, DecodedVideos("pyav")))
    plain = VCOPTupleDataset(videos, SPEC, GEOMETRY, train=False, source=_jpeg(root))
    batch = next(iter(DataLoader(data, batch_size=2, num_workers=1)))
    assert int(batch["failed_reads"].sum()) == 0
    assert torch.equal(batch["clips"][1], plain[1]["clips"])


def test_a_full_disk_is_one_error_naming_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clipcop.workflows import jpeg_cache

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jpeg_cache, "write_shard", full)
    write_moving_video(tmp_path / "data" / "c0" / "v.avi", 30)
    root = tmp_path / "store"
    with pytest.raises(DataError, match=r"cannot write a JPEG store shard in .*: No space left on device"):
        cache_frames(tmp_path / "data", resize=GEOMETRY.resize, out=root, workers=1, format="jpeg", reporter=Notes())


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("videos", [1, 2], "videos is a list"),
        ("shards", [{"name": 3}], "shards is a list"),
        ("table_bytes", "abc", "table_bytes is a string"),
        ("quality", None, "quality is null"),
    ],
)
def test_an_index_of_the_wrong_shape_is_one_error_naming_the_field(
    tmp_path: Path, field: str, value: object, said: str
) -> None:
    videos, root = _store(tmp_path, [30])
    index = store_folder(root, GEOMETRY.resize) / "index.json"
    meta = json.loads(index.read_text())
    index.write_text(json.dumps({**meta, field: value}))
    with pytest.raises(DataError, match=re.escape(f"{index} is a malformed JPEG store index: {said}")):
        frame_source(str(root)).holds(videos[0].path, GEOMETRY.resize)


def test_a_shard_table_of_the_wrong_shape_is_a_torn_shard(tmp_path: Path) -> None:
    _, root = _store(tmp_path, [30])
    shards = store_folder(root, GEOMETRY.resize) / "shards"
    table = next(shards.glob("*.json"))
    table.write_text(json.dumps({**json.loads(table.read_text()), "videos": [[1]]}))
    assert jpeg_writer.read_table(shards, table.stem) is None  # rewritten by the next data cache, never read
