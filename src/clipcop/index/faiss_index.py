"""Building, searching and persisting FAISS inner-product indexes over L2-normalised vectors.

Cosine similarity = inner product of unit vectors. ``flat`` is exact; searched in query blocks with all
cores it beats a torch matmul + top-k on our 2 cores (``benchmarks/retrieve.py``). ``ivf`` and ``hnsw`` are
approximate and scale to millions of clips; results are flagged approximate wherever they are shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np

from clipcop.config import INDEX_KINDS, available_cores
from clipcop.engine.atomic import write_atomic, write_text_atomic
from clipcop.errors import ClipcopError, FeatureFileError, MalformedFeatureFileError, UsageError
from clipcop.outputs import Output
from clipcop.validation import INT, STR, Fields, list_of, malformed, read_json

QUERY_BLOCK = 4096


@dataclass(frozen=True, kw_only=True)
class IndexSpec:
    """Which index to build. ``flat`` is exact; ``ivf`` (``nlist`` lists, ``nprobe`` searched) and
    ``hnsw`` (``hnsw_m`` links per node) are approximate."""

    kind: str = "flat"
    nlist: int | None = None
    nprobe: int = 16
    hnsw_m: int = 32

    def __post_init__(self) -> None:
        if self.kind not in INDEX_KINDS:
            raise UsageError(f"unknown index kind {self.kind!r}; choose one of {', '.join(INDEX_KINDS)}")

    @property
    def exact(self) -> bool:
        """True for exhaustive search."""
        return self.kind == "flat"


def set_threads(threads: int | None = None) -> int:
    """Use ``threads`` OpenMP threads in FAISS (default: every core this process may use; macOS and Windows
    have no affinity mask, so there every core of the machine)."""
    count = threads or available_cores()
    faiss.omp_set_num_threads(count)
    return count


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (zero rows stay zero)."""
    out = np.array(x, dtype=np.float32, copy=True, order="C")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def build_index(xb: np.ndarray, spec: IndexSpec | None = None) -> faiss.Index:
    """An inner-product index over the (already normalised) gallery vectors ``xb`` ``(n, d)``."""
    spec = spec or IndexSpec()
    xb = np.ascontiguousarray(xb, dtype=np.float32)
    n, d = xb.shape
    set_threads()
    index: Any
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    else:
        nlist = spec.nlist or max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(xb)
        index.nprobe = min(spec.nprobe, nlist)
    index.add(xb)
    return cast(faiss.Index, index)


def search(index: faiss.Index, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(D, I)``: similarities and gallery rows of the ``k`` nearest, searched in query blocks."""
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    if xq.shape[1] != index.d:
        raise FeatureFileError(f"query features have {xq.shape[1]} dimensions but the index holds {index.d}")
    set_threads()
    k = min(k, index.ntotal)
    distances = np.empty((len(xq), k), dtype=np.float32)
    labels = np.empty((len(xq), k), dtype=np.int64)
    for first in range(0, len(xq), QUERY_BLOCK):
        block = slice(first, first + QUERY_BLOCK)
        distances[block], labels[block] = index.search(xq[block], k)
    return distances, labels


def save_index(index: faiss.Index, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write the index (FAISS's own binary format, not a pickle) and ``<path>.json`` with its metadata."""
    path = Path(path)
    write_atomic(path, lambda tmp: faiss.write_index(index, str(tmp)))
    write_text_atomic(path.with_name(path.name + ".json"), json.dumps(meta, indent=1))
    return path


def load_index(path: str | Path) -> tuple[faiss.Index, dict[str, Any]]:
    """Read an index written by :func:`save_index` and its metadata."""
    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    if not path.is_file() or not sidecar.is_file():
        raise FeatureFileError(f"index {path} (and its {sidecar.name}) not found")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as err:
        raise FeatureFileError(f"{path} is not a FAISS index ({str(err).splitlines()[0]})") from None
    what = "index metadata"
    fields = Fields(
        read_json(sidecar, what, error=MalformedFeatureFileError), sidecar, what, error=MalformedFeatureFileError
    )
    meta = fields.check(INDEX_META)
    for key in ("video", "labels"):
        if key in meta and len(meta[key]) != index.ntotal:
            why = f"{key} has {len(meta[key])} entries for an index of {index.ntotal} vectors"
            raise malformed(sidecar, what, why, error=MalformedFeatureFileError, field=key)
    return index, meta


def is_index(path: Path) -> bool:
    """Whether ``path`` is an index :func:`save_index` wrote (both it and its metadata read back)."""
    try:
        load_index(path)
    except ClipcopError:
        return False
    return True


def index_outputs(path: str | Path, flag: str = "--save-index") -> list[Output]:
    """The two files :func:`save_index` writes at ``path``, for :func:`clipcop.outputs.check_outputs`."""
    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    return [
        Output(flag, path, "a clipcop FAISS index", is_index),
        Output(f"{flag} (metadata)", sidecar, "a clipcop index's metadata", lambda _: is_index(path)),
    ]


INDEX_META = {"level": STR, "features": STR, "kind": STR, "video": list_of(INT), "labels": list_of(INT)}
"""The metadata :func:`save_index` writes beside an index, and its shapes."""
