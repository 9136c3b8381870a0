"""A feature file: safetensors written as a stream, read back memory-mapped.

All shapes are known before extraction starts (videos x clips x dim), so the header is written first with
room to spare, rows are written in place as batches finish (memory does not grow with the dataset, and
several processes can each write their own rows), and the header is rewritten at the end with what only
then is known (e.g. which videos failed). The result is an ordinary safetensors file.

Tensors: ``features`` (videos*clips, D), ``video`` (videos*clips,) int64 row -> video number,
``start`` (videos*clips,) int64 first frame of the clip, ``labels`` (videos,) int64 (-1: unlabelled).
Metadata key ``clipcop`` holds JSON: video ids, class names, layer, pool, clips, checkpoint, dataset.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipcop.engine.atomic import file_mode, guarded_write
from clipcop.engine.card import CheckpointCard
from clipcop.errors import CheckpointError, FeatureFileError, MalformedFeatureFileError
from clipcop.validation import INT, OBJECT, STR, Fields, list_of, malformed, one_of, optional, parse_json

META_KEY = "clipcop"
FORMAT = "clipcop.features/1"
_DTYPES = {"float32": ("F32", np.float32), "float16": ("F16", np.float16), "int64": ("I64", np.int64)}
_CODES = {code: np.dtype(dt) for code, dt in _DTYPES.values()}


def _header_bytes(layout: dict[str, Any], meta: dict[str, Any], size: int | None = None) -> bytes:
    header = {**layout, "__metadata__": {META_KEY: json.dumps(meta, sort_keys=True)}}
    raw = json.dumps(header, separators=(",", ":")).encode()
    if size is not None:
        if len(raw) > size:
            raise ValueError("header grew past its reserved size")
        raw = raw + b" " * (size - len(raw))
    return raw


class FeatureWriter:
    """Writes one feature file in place; ``finish`` makes it visible under its final name.

    The rows go to a temporary file of a name of its own (two jobs extracting to one cache file never
    write into each other's); the processes of one torchrun job share it by passing ``tmp``.
    """

    RESERVE = 1 << 16

    def __init__(
        self,
        path: Path,
        *,
        rows: int,
        dim: int,
        videos: int,
        meta: dict[str, Any],
        dtype: str = "float32",
        create: bool = True,
        tmp: Path | None = None,
    ) -> None:
        self.path = Path(path)
        if tmp is None and not create:
            raise ValueError("a writer that does not create the file needs the creator's tmp path")
        if dtype not in _DTYPES:
            raise ValueError(f"unknown feature dtype {dtype!r}; choose one of {', '.join(_DTYPES)}")
        self.tmp = tmp if tmp is not None else new_partial(self.path)
        self.meta = {"format": FORMAT, **meta}
        code, np_dtype = _DTYPES[dtype]
        self.dtype = np.dtype(np_dtype)
        specs = [
            ("features", code, [rows, dim], self.dtype.itemsize * rows * dim),
            ("video", "I64", [rows], 8 * rows),
            ("start", "I64", [rows], 8 * rows),
            ("labels", "I64", [videos], 8 * videos),
        ]
        self.layout: dict[str, Any] = {}
        offset = 0
        for name, code_, shape, nbytes in specs:
            self.layout[name] = {"dtype": code_, "shape": shape, "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
        guess = len(_header_bytes(self.layout, self.meta)) + self.RESERVE
        self.header_size = (guess + 7) // 8 * 8
        self.data_start = 8 + self.header_size
        self.total = self.data_start + offset
        if create:
            with guarded_write(self.path), open(self.tmp, "wb") as handle:
                handle.write(struct.pack("<Q", self.header_size))
                handle.write(_header_bytes(self.layout, self.meta, self.header_size))
                handle.truncate(self.total)

    def _write(self, name: str, first_row: int, array: np.ndarray) -> None:
        begin = self.layout[name]["data_offsets"][0]
        row_bytes = array[0].nbytes if array.ndim > 1 else array.itemsize
        with guarded_write(self.path), open(self.tmp, "r+b") as handle:
            handle.seek(self.data_start + begin + first_row * row_bytes)
            handle.write(np.ascontiguousarray(array).tobytes())

    def write_rows(self, first_row: int, features: np.ndarray, video: np.ndarray, start: np.ndarray) -> None:
        """Write rows ``first_row ..`` of features and their video numbers and clip starts."""
        self._write("features", first_row, features.astype(self.dtype, copy=False))
        self._write("video", first_row, video.astype(np.int64, copy=False))
        self._write("start", first_row, start.astype(np.int64, copy=False))

    def write_labels(self, labels: np.ndarray) -> None:
        """Write the per-video labels."""
        self._write("labels", 0, labels.astype(np.int64, copy=False))

    def finish(self, extra_meta: dict[str, Any]) -> Path:
        """Rewrite the header with ``extra_meta`` and move the file to its final name."""
        self.meta.update(extra_meta)
        raw = _header_bytes(self.layout, self.meta)
        with guarded_write(self.path):
            if len(raw) <= self.header_size:
                with open(self.tmp, "r+b") as handle:
                    handle.seek(8)
                    handle.write(_header_bytes(self.layout, self.meta, self.header_size))
                    handle.flush()
                    os.fsync(handle.fileno())
            else:
                self._rewrite_with_larger_header(raw)
            os.chmod(self.tmp, file_mode())  # colleagues can read shared features, as with every clipcop file
            os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the unfinished file (an extraction that failed or was interrupted)."""
        self.tmp.unlink(missing_ok=True)

    def _rewrite_with_larger_header(self, raw: bytes) -> None:
        size = (len(raw) + 7) // 8 * 8
        moved = self.tmp.with_name(self.tmp.name + ".grow")
        with open(self.tmp, "rb") as src, open(moved, "wb") as dst:
            dst.write(struct.pack("<Q", size))
            dst.write(raw + b" " * (size - len(raw)))
            src.seek(self.data_start)
            while chunk := src.read(1 << 24):
                dst.write(chunk)
        os.replace(moved, self.tmp)


def new_partial(path: Path) -> Path:
    """A new, empty temporary file beside ``path`` for its rows, named ``.NAME.<random>.partial``."""
    with guarded_write(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    return Path(name)


@dataclass(frozen=True)
class FeatureFile:
    """A feature file, its arrays memory-mapped (nothing is read until used)."""

    path: Path
    features: np.ndarray
    video: np.ndarray
    start: np.ndarray
    labels: np.ndarray
    meta: dict[str, Any]

    @property
    def video_ids(self) -> list[str]:
        """Video identifiers (paths relative to the dataset's video root), in video-number order."""
        ids: list[str] = self.meta.get("video_ids", [])
        return ids

    @property
    def classes(self) -> list[str]:
        """Class names (empty for unlabelled videos)."""
        names: list[str] = self.meta.get("classes", [])
        return names

    def class_name(self, label: int) -> str:
        """The name of class ``label`` in this file's own class list; empty when the file is unlabelled."""
        names = self.classes
        return names[label] if names and 0 <= label < len(names) else ""

    def same_classes(self, other: FeatureFile) -> bool:
        """True when both files are labelled with the same class list, so class ids compare."""
        return bool(self.classes) and self.classes == other.classes

    @property
    def model(self) -> CheckpointCard | None:
        """The card of the model that made these features, as extraction summarised it (kind, arch, width,
        source, seed, tuple_len, epoch; ``extra["identity"]`` names the weights' file); None if unrecorded."""
        source = self.meta.get("source")
        if not isinstance(source, dict) or "kind" not in source:
            return None
        try:
            return CheckpointCard.from_meta(source, self.path)
        except CheckpointError as err:
            raise FeatureFileError(f"{err} (the model that made these features)") from None

    @property
    def dim(self) -> int:
        """Feature dimension."""
        return int(self.features.shape[1])

    @property
    def failed(self) -> list[str]:
        """Videos that could not be decoded (their rows are zeros and are excluded from search)."""
        failed: list[str] = self.meta.get("failed", [])
        return failed

    def check_finite(self, block: int = 1 << 14) -> FeatureFile:
        """This file, after checking that no feature is NaN or infinite (a model with broken weights makes
        such features, and a search over them scores 0% without saying why); one line naming it otherwise."""
        bad, first = 0, -1
        for start in range(0, len(self.features), block):
            rows = ~np.isfinite(np.asarray(self.features[start : start + block], dtype=np.float32)).all(axis=1)
            if rows.any() and first < 0:
                first = start + int(np.argmax(rows))
            bad += int(rows.sum())
        if bad:
            ids = self.video_ids
            number = int(self.video[first])
            video = ids[number] if 0 <= number < len(ids) else f"video {number}"
            raise FeatureFileError(
                f"{self.path} holds non-finite features (NaN or infinity) in {bad} of {len(self.features)} rows, "
                f"e.g. of {video}: the model that made them is broken (NaN weights?); extract them again"
            )
        return self

    def valid_videos(self) -> np.ndarray:
        """Boolean mask over videos: True for those that decoded."""
        bad = set(self.failed)
        return np.array([vid not in bad for vid in self.video_ids], dtype=bool)


def is_feature_file(path: Path) -> bool:
    """Whether ``path`` is a feature file clipcop wrote (it reads back)."""
    try:
        read_features(path)
    except FeatureFileError:
        return False
    return True


def read_features(path: str | Path) -> FeatureFile:
    """Open a feature file written by :class:`FeatureWriter` (or any safetensors file with that layout).

    Everything later code relies on is checked here, once: the header's tensors and their shapes, the
    metadata's fields, video numbers in range of ``video_ids``; a file that breaks one of them raises one-line
    :class:`~clipcop.errors.MalformedFeatureFileError` naming the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FeatureFileError(f"feature file {path} does not exist")
    try:
        with open(path, "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            if size > 1 << 31:
                raise ValueError("header size out of range")
            raw = handle.read(size)
    except (OSError, ValueError, struct.error) as err:
        raise FeatureFileError(f"{path} is not a clipcop feature file ({err})") from None
    header = Fields(parse_json(raw, path, WHAT, error=_BAD), path, WHAT, error=_BAD)
    metadata = header.sub("__metadata__")
    meta = _checked_meta(parse_json(metadata.get(META_KEY, STR, "{}"), path, WHAT, error=_BAD), path)
    arrays = {name: _tensor(path, header.sub(name, required=True), 8 + size) for name in _TENSORS}
    _check_rows(path, arrays, meta)
    return FeatureFile(path, arrays["features"], arrays["video"], arrays["start"], arrays["labels"], meta)


WHAT = "feature file"
_BAD = MalformedFeatureFileError
_TENSORS = {"features": 2, "video": 1, "start": 1, "labels": 1}
"""The tensors of a feature file and their number of dimensions."""
_META = {
    "video_ids": list_of(STR),
    "classes": list_of(STR),
    "failed": list_of(STR),
    "clips": INT,
    "clip_len": INT,
    "layer": STR,
    "pool": STR,
    "crop": INT,
    "resize": list_of(INT, 2),
    "source": optional(OBJECT),
    "dataset": OBJECT,
    "config": OBJECT,
}


def _checked_meta(value: Any, path: Path) -> dict[str, Any]:
    """The feature file's ``clipcop`` metadata, each field a reader uses of the right shape."""
    if isinstance(value, dict) and value.get("format") != FORMAT:
        raise FeatureFileError(f"{path} is a safetensors file but not a clipcop feature file")
    fields = Fields(value, path, WHAT, error=_BAD)
    meta = fields.check(_META, required=("video_ids",))
    fields.sub("dataset").get("video_root", STR)
    if meta.get("clips", 1) < 1:
        raise malformed(path, WHAT, f"clips is {meta['clips']}, not a positive integer", error=_BAD, field="clips")
    return meta


def _tensor(path: Path, spec: Fields, data_start: int) -> np.ndarray:
    """The memory map of the tensor ``spec`` describes, its dtype, shape and place in the file checked."""
    name = spec.prefix
    code = spec.get("dtype", one_of(*_CODES), required=True)
    shape = spec.get("shape", list_of(INT, _TENSORS[name]), required=True)
    begin, end = spec.get("data_offsets", list_of(INT, 2), required=True)
    dtype = _CODES[code]
    if name != "features" and dtype != np.int64:
        raise malformed(path, WHAT, f"{name} is {code}, not I64", error=_BAD, field=name)
    count = int(np.prod(shape)) if all(n >= 0 for n in shape) else -1
    if count < 0 or not 0 <= begin <= end or end - begin != count * dtype.itemsize:
        raise malformed(path, WHAT, f"tensor {name} has {end - begin} bytes for shape {shape}", error=_BAD, field=name)
    if data_start + end > path.stat().st_size:
        raise FeatureFileError(f"{path} is not a clipcop feature file (tensor {name} is truncated)")
    return np.memmap(path, dtype=dtype, mode="r", offset=data_start + begin, shape=tuple(shape))


def _check_rows(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Every row has a video number and a start, and every video number names one of ``video_ids``."""
    rows = len(arrays["features"])
    for name in ("video", "start"):
        if len(arrays[name]) != rows:
            why = f"its {name} tensor has {len(arrays[name])} rows but features has {rows}"
            raise malformed(path, WHAT, why, error=_BAD, field=name)
    videos = len(meta["video_ids"])
    if len(arrays["labels"]) != videos:
        why = f"its labels tensor has {len(arrays['labels'])} entries for {videos} video_ids"
        raise malformed(path, WHAT, why, error=_BAD, field="labels")
    numbers = np.asarray(arrays["video"])
    if rows and (int(numbers.min()) < 0 or int(numbers.max()) >= videos):
        why = f"video numbers {int(numbers.min())}..{int(numbers.max())} are outside 0..{videos - 1}"
        raise malformed(path, WHAT, why, error=_BAD, field="video")
    labels = np.asarray(arrays["labels"])
    classes = len(meta.get("classes", []))
    if classes and videos and (int(labels.min()) < -1 or int(labels.max()) >= classes):
        why = f"labels {int(labels.min())}..{int(labels.max())} are outside -1..{classes - 1}"
        raise malformed(path, WHAT, why, error=_BAD, field="labels")
