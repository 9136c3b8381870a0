"""A compressed frame store: every frame of every video as a JPEG, in a few large shard files per dataset.

The raw cache (:mod:`clipcop.clips.frame_cache`) costs ``frames x H x W x 3`` bytes a video, terabytes for
Kinetics-400; JPEG at quality 90 takes about a tenth of that on camera footage. Layout under the store's
folder ``ROOT/jpeg/HxW/``:

- ``shards/NAME.jpegs``: the JPEG bytes of each frame of each video of the shard, back to back;
- ``shards/NAME.json``: that shard's table (per video: key, byte length and CRC-32 of each frame),
  written after the shard, so a shard without its table is never read;
- ``index-CRC.npy``: one row ``(offset, length, crc)`` per frame of the whole store, and ``index.json``:
  the shards with their byte sizes, each video's shard and first row, and the table's size and CRC.

A tuple then costs one ``pread`` per run of consecutive frames (a clip) and a decode of just those frames
with libjpeg-turbo (simplejpeg where installed, else torchvision's ``decode_jpeg``) on the CPU, or a batch
decode with nvJPEG on a GPU (``decode_on="cuda"``). Every frame's
bytes are checked against their CRC before decoding, a shard shorter than the index says is named as torn,
and a truncated index is refused as a whole: damaged bytes are never decoded into frames.
"""

from __future__ import annotations

import itertools
import os
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipcop.clips.frame_cache import video_key
from clipcop.config import DECODE_ON
from clipcop.errors import DataError, MalformedDataError, UsageError, VideoDecodeError
from clipcop.validation import INT, STR, Fields, Shape, list_of, object_of, read_json
from clipcop.videos.decoder import Size

STORE_FORMAT = "clipcop-jpeg-store"
SHARD_FORMAT = "clipcop-jpeg-shard"
VERSION = 1
ROW = np.dtype([("offset", "<i8"), ("length", "<u4"), ("crc", "<u4")])
"""One frame in the index table: where its JPEG starts in its shard, its length and CRC-32."""
REBUILD = "run clipcop data cache --format jpeg again to rebuild it"

# torchvision 0.29 announces that TorchCodec will take over its JPEG codec one day; until then its
# decode_jpeg (libjpeg-turbo, nvJPEG) is the one both CPU and GPU decoding use, warned about on every call.
warnings.filterwarnings("ignore", "The image decoding and encoding capabilities of TorchVision", DeprecationWarning)


def store_folder(root: Path, size: Size) -> Path:
    """The JPEG store of frames at ``size`` under the cache folder ``root``."""
    return root / "jpeg" / f"{size[0]}x{size[1]}"


def holds_jpeg_store(root: Path) -> bool:
    """Whether the cache folder ``root`` holds a JPEG store (at any size)."""
    return any(root.glob("jpeg/*/index.json"))


def file_crc(path: Path) -> int:
    """CRC-32 of a whole file, read in 4 MiB blocks."""
    crc = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


@dataclass(frozen=True)
class StoreIndex:
    """A loaded store index: the frame table, the shard files with their sizes, and per video key
    ``(shard number, first table row, frames)``."""

    folder: Path
    table: np.ndarray
    shards: tuple[tuple[Path, int], ...]
    videos: dict[str, tuple[int, int, int]]
    quality: int


_SHARD = Shape(
    "a JSON object with a name and a size", lambda v: isinstance(v, dict) and STR(v.get("name")) and INT(v.get("bytes"))
)
_INDEX = {
    "table": STR,
    "table_bytes": INT,
    "shards": list_of(_SHARD),
    "videos": object_of(list_of(INT, 3)),
    "quality": INT,
}


def _read_json(path: Path) -> dict[str, Any]:
    """The store's ``index.json``, every field checked (:mod:`clipcop.validation`); anything else is one
    :class:`DataError` naming the file and saying how to rebuild it."""
    try:
        meta = read_json(path, "JPEG store index", error=MalformedDataError)
    except MalformedDataError as err:
        raise DataError(f"{err}: {REBUILD}") from None
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT or meta.get("version") != VERSION:
        raise DataError(f"{path} is not a version {VERSION} clipcop JPEG store index: {REBUILD}")
    try:
        Fields(meta, path, "JPEG store index", error=MalformedDataError).check(_INDEX, required=tuple(_INDEX))
    except MalformedDataError as err:
        raise DataError(f"{err}: {REBUILD}") from None
    return meta


def load_index(folder: Path) -> StoreIndex | None:
    """The index of the store in ``folder``, None when there is none; a truncated or altered index
    raises :class:`DataError` naming it (never a partial table read as frames)."""
    meta_path = folder / "index.json"
    if not meta_path.is_file():
        return None
    meta = _read_json(meta_path)
    table_path = folder / str(meta["table"])
    try:
        actual = table_path.stat().st_size
    except OSError:
        raise DataError(f"JPEG store index table {table_path} is missing: {REBUILD}") from None
    if actual != meta["table_bytes"]:
        raise DataError(
            f"JPEG store index table {table_path} is truncated ({actual} of {meta['table_bytes']} bytes): {REBUILD}"
        )
    table = np.load(table_path, mmap_mode="r")  # shared by every loader process through the page cache
    if table.dtype != ROW or table.ndim != 1:
        raise DataError(f"JPEG store index table {table_path} holds {table.dtype} {table.shape}: {REBUILD}")
    shards = tuple((folder / "shards" / f"{s['name']}.jpegs", int(s["bytes"])) for s in meta["shards"])
    videos = {key: (int(v[0]), int(v[1]), int(v[2])) for key, v in meta["videos"].items()}
    return StoreIndex(folder, table, shards, videos, int(meta["quality"]))


def runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` positions of the runs of consecutive values in the sorted unique ``rows``."""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    edges = [0, *breaks.tolist(), len(rows)]
    return list(itertools.pairwise(edges))


def check_decode_on(decode_on: str) -> None:
    """Refuse ``--decode-on`` values that cannot work here (``cuda`` without a GPU), in one line."""
    if decode_on not in DECODE_ON:
        raise UsageError(f"--decode-on must be cpu or cuda, not {decode_on!r}")
    if decode_on == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--decode-on cuda decodes JPEG frames with nvJPEG and needs a CUDA GPU: none found")


def _simplejpeg() -> Any:
    """simplejpeg (the optional extra ``clipcop[jpeg]``) when installed, else None."""
    try:
        import simplejpeg
    except ImportError:
        return None
    return simplejpeg


def decode_jpegs(blobs: list[memoryview], size: Size, decode_on: str = "cpu") -> np.ndarray:
    """Decode a tuple's JPEGs to ``(N, H, W, 3)`` uint8 RGB frames of ``size``.

    CPU: straight into the output array with simplejpeg where installed (12 ms for a 48-frame tuple at
    128x171 on one of our cores), else torchvision's ``decode_jpeg`` frame by frame (16 ms; its list
    form took 20); both are libjpeg-turbo and give the same pixels. ``cuda``: torchvision's batch
    ``decode_jpeg`` with nvJPEG, the frames copied back to host memory for cropping. Raises ValueError or
    RuntimeError for bytes that do not decode to ``size``.
    """
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    height, width = size
    if decode_on == "cuda":
        tensors = [torch.frombuffer(blob, dtype=torch.uint8) for blob in blobs]
        images = decode_jpeg(tensors, mode=ImageReadMode.RGB, device="cuda")
        return torch.stack(images).permute(0, 2, 3, 1).cpu().numpy()
    frames = np.empty((len(blobs), height, width, 3), dtype=np.uint8)
    fast = _simplejpeg()
    for frame, blob in zip(frames, blobs, strict=True):
        if fast is not None:
            image = fast.decode_jpeg(blob, colorspace="RGB", buffer=frame)
        else:
            image = decode_jpeg(torch.frombuffer(blob, dtype=torch.uint8), mode=ImageReadMode.RGB).permute(1, 2, 0)
            image = image.numpy()
            if image.shape == frame.shape:
                frame[:] = image
        if image.shape != frame.shape:
            raise ValueError(f"a {image.shape[1]}x{image.shape[0]} JPEG where {width}x{height} was stored")
    return frames


class JpegStore:
    """Reads frames from the JPEG stores under a cache folder (one per frame size).

    Indexes are loaded on first use; shard files stay open per process (a forked or spawned loader
    worker opens its own). Thread-safe: loader threads share the open files, reads are ``pread``.
    """

    def __init__(self, root: str | Path, *, decode_on: str = "cpu") -> None:
        self.root = Path(root)
        self.decode_on = decode_on
        self._indexes: dict[Size, StoreIndex | None] = {}
        self._files: dict[Path, int] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def index(self, size: Size) -> StoreIndex | None:
        """The index of the store at ``size`` (None: no store at that size)."""
        size = (int(size[0]), int(size[1]))
        if size not in self._indexes:
            found = load_index(store_folder(self.root, size))
            with self._lock:
                self._indexes[size] = found
        return self._indexes[size]

    def contains(self, path: Path, size: Size) -> bool:
        """Whether the store holds ``path`` at ``size``."""
        index = self.index(size)
        try:
            return index is not None and video_key(path, size) in index.videos
        except OSError:
            return False

    def _file(self, shard: Path, expected: int) -> int:
        if self._pid != os.getpid():  # a forked worker: its own descriptors, and a lock no thread holds
            self._files, self._lock, self._pid = {}, threading.Lock(), os.getpid()
        with self._lock:
            fd = self._files.get(shard)
            if fd is None:
                try:
                    fd = os.open(shard, os.O_RDONLY)
                except OSError as err:
                    raise DataError(f"JPEG store shard {shard} cannot be opened ({err.strerror}): {REBUILD}") from None
                self._files[shard] = fd
        actual = os.fstat(fd).st_size
        if actual != expected:
            raise DataError(f"JPEG store shard {shard} is torn ({actual} of {expected} bytes): {REBUILD}")
        return fd

    def _blobs(self, index: StoreIndex, shard: int, rows: np.ndarray, video: Path) -> list[memoryview]:
        """The checked JPEG bytes of table ``rows`` (sorted, unique) of ``shard``: one ``pread`` per run."""
        path, expected = index.shards[shard]
        try:
            fd = self._file(path, expected)
        except DataError as err:
            raise VideoDecodeError(video, str(err)) from None
        records = index.table[rows]
        blobs: list[memoryview] = []
        for start, stop in runs(rows):
            first, last = int(records[start]["offset"]), records[stop - 1]
            buffer = bytearray(int(last["offset"]) + int(last["length"]) - first)
            if os.preadv(fd, [buffer], first) != len(buffer):
                raise VideoDecodeError(video, f"JPEG store shard {path} is torn (short read): {REBUILD}")
            view = memoryview(buffer)
            for record in records[start:stop]:
                at, length = int(record["offset"]) - first, int(record["length"])
                blob = view[at : at + length]
                if zlib.crc32(blob) != int(record["crc"]):
                    raise VideoDecodeError(video, f"a frame in JPEG store shard {path} fails its CRC: {REBUILD}")
                blobs.append(blob)
        return blobs

    def read(self, path: Path, rows: np.ndarray, size: Size) -> tuple[np.ndarray, np.ndarray] | None:
        """The distinct frames of ``rows`` of ``path`` decoded, and ``rows`` re-indexed into them; None
        when the store does not hold ``path`` at ``size``."""
        index = self.index(size)
        try:
            entry = None if index is None else index.videos.get(video_key(path, size))
        except OSError:  # the video itself is gone: let the decoder report it
            return None
        if entry is None or index is None:
            return None
        shard, first, count = entry
        wanted = np.unique(rows)
        if wanted[0] < 0 or wanted[-1] >= count:
            raise VideoDecodeError(path, f"frame {int(wanted[-1])} requested but the JPEG store holds {count}")
        blobs = self._blobs(index, shard, first + wanted, path)
        try:
            frames = decode_jpegs(blobs, size, self._device())
        except (RuntimeError, ValueError) as err:
            raise VideoDecodeError(path, f"a JPEG frame in the store does not decode ({err})") from None
        return frames, np.searchsorted(wanted, rows)

    def _device(self) -> str:
        """Where to decode: ``decode_on``, except in a DataLoader worker process (used when some video must
        be decoded from its file), which decodes on the CPU: CUDA does not start in a forked process."""
        if self.decode_on == "cuda":
            from torch.utils.data import get_worker_info

            if get_worker_info() is not None:
                return "cpu"
        return self.decode_on

    def __getstate__(self) -> dict[str, object]:
        # Descriptors and memory maps are per process: a worker started by pickling opens its own.
        state = dict(self.__dict__)
        state["_files"], state["_indexes"] = {}, {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._pid = os.getpid()
