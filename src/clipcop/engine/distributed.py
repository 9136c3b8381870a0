"""Multi-process training through ``torchrun`` (PyTorch DDP): process-group setup and rank helpers.

Under ``torchrun`` the environment carries ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; clipcop then joins
the process group (NCCL on GPUs, gloo on the CPU), shards data by rank, and lets rank 0 alone log and
write files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from clipcop.processes.torchrun_env import env_rank, env_world_size


def launched_by_torchrun() -> bool:
    """True inside a ``torchrun`` job with more than one process."""
    return env_world_size() > 1


def init_distributed(device: torch.device) -> bool:
    """Join the process group when launched by torchrun; returns True when distributed."""
    if not launched_by_torchrun():
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
    return True


def rank() -> int:
    """This process's global rank: from the process group, or from torchrun's ``RANK`` before it exists."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return env_rank()


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    """True on the process that logs and writes files."""
    return rank() == 0


def wrap_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` for training across the process group: synchronised batch norm, then DDP.

    Returns ``model`` unchanged outside a distributed job. Parameters are shared with the original
    module, so saving ``unwrap(wrapped).state_dict()`` saves the trained weights.
    """
    if world_size() == 1:
        return model
    from clipcop.engine.syncbn import sync_batch_norm

    synced = sync_batch_norm(model, device)
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(synced, device_ids=device_ids)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over processes in place (identity when not distributed)."""
    if world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def leave_distributed(*, wait: bool) -> None:
    """Leave the process group, if this process joined one, before the process exits.

    With ``wait`` (the command finished) every process first waits for the others, so none exits while
    rank 0 still writes. Exiting with the group alive let a gloo process abort at exit ("terminate called
    without an active exception", exit status -6, seen once in CI after fine-tuning).
    """
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op when not distributed)."""
    if world_size() > 1:
        dist.barrier()


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block on rank 0 first, then on the others (who then find its caches ready)."""
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()


def gather_objects(value: object) -> list[object]:
    """Every process's ``value``, in rank order (``[value]`` when not distributed)."""
    if world_size() == 1:
        return [value]
    holder: list[object] = [None] * world_size()
    dist.all_gather_object(holder, value)
    return holder


def broadcast_object(value: object) -> object:
    """Rank 0's ``value`` on every process."""
    if world_size() == 1:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]
