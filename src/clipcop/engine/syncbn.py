"""Batch statistics over all processes of a DDP job, so N processes train like one on the global batch.

On GPUs this is ``torch.nn.SyncBatchNorm``. It refuses CPU tensors, so for CPU process groups (gloo)
:class:`GroupBatchNorm3d` all-reduces per-channel sums with an autograd-aware collective instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn


def _summed(stats: torch.Tensor) -> torch.Tensor:
    """``stats`` summed over the process group, with gradients flowing back (a typed face on torch's
    unannotated ``all_reduce``)."""
    all_reduce = cast(Callable[[torch.Tensor], torch.Tensor], dist_fn.all_reduce)
    return all_reduce(stats)


class GroupBatchNorm3d(nn.BatchNorm3d):
    """``BatchNorm3d`` whose training statistics cover the whole process group (CPU/gloo)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(x)
        dims = (0, 2, 3, 4)
        count = torch.full((1,), x.numel() / x.shape[1], dtype=x.dtype, device=x.device)
        stats = torch.cat([x.sum(dim=dims), (x * x).sum(dim=dims), count])
        stats = _summed(stats)  # (2C + 1,), summed over processes, gradients flow back
        channels = x.shape[1]
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels : 2 * channels] / total - mean * mean
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                momentum = self.momentum if self.momentum is not None else 0.1
                unbiased = var * total / (total - 1)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
                if self.num_batches_tracked is not None:
                    self.num_batches_tracked.add_(1)
        shape = (1, channels, 1, 1, 1)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def _convert_cpu(module: nn.Module) -> nn.Module:
    """Turn every ``BatchNorm3d`` into a :class:`GroupBatchNorm3d` in place, keeping its parameter and
    buffer objects (an optimizer built before the conversion keeps updating them)."""
    for child in module.modules():
        if type(child) is nn.BatchNorm3d:
            child.__class__ = GroupBatchNorm3d
    return module


def sync_batch_norm(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` with batch norm synchronised across the process group.

    State-dict keys and parameter objects are unchanged (``SyncBatchNorm.convert_sync_batchnorm``
    reuses them too), so optimizers and checkpoints are unaffected.
    """
    if device.type == "cuda":
        convert = cast(Callable[[nn.Module], nn.Module], nn.SyncBatchNorm.convert_sync_batchnorm)
        return convert(model)
    return _convert_cpu(model)
