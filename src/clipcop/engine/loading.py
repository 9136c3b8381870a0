"""Data loaders: worker processes for decoding, threads for datasets served from the frame cache.

Decoding is CPU-bound Python-and-C work that needs processes. A tuple from the frame cache is only a
few window copies out of memory maps, and numpy releases the GIL while it copies: there, moving every
batch between processes (shared memory, page faults, a second copy for pinning) costs more than making
it. :class:`ThreadLoader` fills batches with threads in the training process instead, stacking them
straight into pinned memory on CUDA (measured in ``benchmarks/load_tuples.py``; docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from clipcop.engine.device import Runtime
from clipcop.engine.sampler import EpochSampler
from clipcop.engine.seeding import worker_init

Batch = dict[str, torch.Tensor]


class ThreadLoader:
    """Batches of ``dataset[key]`` for the sampler's keys, made by ``threads`` threads, ``prefetch`` ahead.

    Batches are identical to a ``DataLoader``'s with the same sampler and batch size (items are pure
    functions of their keys and land in their own slots); an item's error is raised when its batch is
    reached, as a ``DataLoader`` does.
    """

    def __init__(
        self,
        dataset: Dataset[Batch],
        sampler: EpochSampler,
        *,
        batch_size: int,
        threads: int,
        pin_memory: bool = False,
        prefetch: int = 4,
    ) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.batch_size = batch_size
        self.threads = max(1, threads)
        self.pin_memory = pin_memory
        self.prefetch = max(1, prefetch)

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def _collate(self, items: Sequence[Batch]) -> Batch:
        """Stack item tensors key by key (into pinned memory when asked)."""
        batch: Batch = {}
        for key, first in items[0].items():
            out = torch.empty((len(items), *first.shape), dtype=first.dtype, pin_memory=self.pin_memory)
            batch[key] = torch.stack([item[key] for item in items], out=out)
        return batch

    def __iter__(self) -> Iterator[Batch]:
        keys = list(self.sampler)
        chunks = iter([keys[i : i + self.batch_size] for i in range(0, len(keys), self.batch_size)])
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="clipcop-load")
        pending: deque[list[Future[Batch]]] = deque()

        def submit() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                pending.append([pool.submit(self.dataset.__getitem__, key) for key in chunk])

        try:
            for _ in range(self.prefetch):
                submit()
            while pending:
                items = [future.result() for future in pending.popleft()]
                submit()
                yield self._collate(items)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def uses_threads(dataset: Dataset[Batch], workers: int) -> bool:
    """Whether ``make_loader`` serves ``dataset`` with threads: workers asked for, every video cached."""
    fully_cached = getattr(dataset, "fully_cached", None)
    return workers > 0 and callable(fully_cached) and bool(fully_cached())


def make_loader(
    dataset: Dataset[Batch],
    sampler: EpochSampler,
    *,
    batch_size: int,
    workers: int,
    runtime: Runtime,
    persistent: bool = False,
    threads: bool | None = None,
) -> Any:
    """A loader over ``(epoch, index)`` keys, pinned on CUDA: threads when the frame cache holds every
    video of ``dataset``, else a ``DataLoader`` with ``workers`` processes (``persistent`` keeps them
    across epochs). ``threads`` overrides that choice (True: threads, False: processes), e.g. to
    compare the two.

    No loader touches the global torch RNG (a ``DataLoader`` draws a worker seed from it each time it
    starts iterating, which with persistent workers happens once per run and otherwise once per epoch),
    so training is the same whatever ``workers`` is, and a resumed run draws what the straight run drew.
    """
    pin = runtime.device.type == "cuda"
    use_threads = uses_threads(dataset, workers) if threads is None else threads
    if use_threads:
        return ThreadLoader(dataset, sampler, batch_size=batch_size, threads=workers, pin_memory=pin)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        worker_init_fn=worker_init if workers else None,
        persistent_workers=persistent and workers > 0,
        prefetch_factor=4 if workers else None,
        drop_last=False,
        generator=torch.Generator(),  # its seed draw must not move the global RNG (dropout masks)
    )
