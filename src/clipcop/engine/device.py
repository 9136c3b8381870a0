"""Device and numeric settings: where to run, and the fast defaults that are exact enough.

On CUDA: bf16 autocast, channels_last_3d memory format, cuDNN autotuning and TF32 are on by default;
``precision="fp32"`` turns autocast and TF32 off (true fp32, for reproducing the paper). On the CPU
everything stays fp32 and denormal floats are flushed (late in a decaying schedule they slowed steps ~8x
in our measurements).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

import torch
from torch import nn

from clipcop.config import PRECISIONS
from clipcop.engine.pixels import normalize
from clipcop.errors import UsageError
from clipcop.processes.torchrun_env import env_local_rank, env_world_size


@dataclass(frozen=True)
class Runtime:
    """The resolved device and numeric policy for a run."""

    device: torch.device
    precision: str
    channels_last: bool
    pixels: str = "standardised"
    """How uint8 frames become the model's input (:func:`clipcop.engine.pixels.normalize`): the model's own
    ``--pixels`` choice, set with :meth:`with_pixels` once the model is known."""

    def with_pixels(self, pixels: str) -> Runtime:
        """This runtime feeding a model that takes ``pixels`` (``standardised`` or ``unit``) input."""
        return replace(self, pixels=pixels)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The autocast dtype, or None for full fp32."""
        return torch.bfloat16 if self.precision == "bf16" else None

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Autocast context for forward passes (a no-op in fp32)."""
        if self.autocast_dtype is None:
            yield
            return
        with torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype):
            yield

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device in the chosen memory format."""
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last_3d)
        return model

    def clips(self, clips: torch.Tensor) -> torch.Tensor:
        """uint8 clips ``(..., T, H, W, 3)`` from a loader -> normalised float ``(..., 3, T, H, W)`` on the device.

        The uint8 batch crosses to the device (non-blocking from pinned memory, 4x fewer bytes than
        float); channels move forward during the float conversion there, into the model's memory format.
        """
        clips = clips.to(self.device, non_blocking=True)
        return normalize(clips, channels_last=self.channels_last, pixels=self.pixels)


def _check_gpu_index(device: torch.device, *, asked: str) -> None:
    """Refuse a GPU number this machine does not have, naming where the number came from."""
    count = torch.cuda.device_count()
    if device.index is not None and device.index < count:
        return
    if asked in ("auto", "cuda"):
        raise UsageError(
            f"LOCAL_RANK={device.index} but {count} GPUs are visible: start at most {count} torchrun "
            "processes per machine (--nproc_per_node)"
        )
    raise UsageError(f"--device {asked} asked for, but {count} GPUs are visible (cuda:0 to cuda:{count - 1})")


def _fast_bf16(device: torch.device) -> bool:
    """Whether ``device`` has bf16 tensor cores (compute capability 8.0, Ampere, or newer). Older GPUs
    emulate bf16 (``torch.cuda.is_bf16_supported`` still says yes) and cuDNN has no bf16 3D convolutions
    for them, so bf16 would be slower than fp32 there."""
    return torch.cuda.get_device_capability(device) >= (8, 0)


def resolve_runtime(device: str = "auto", precision: str = "auto") -> Runtime:
    """Pick the device and precision. ``auto`` is CUDA when available; ``auto`` and ``cuda`` mean GPU
    ``LOCAL_RANK`` (set by torchrun, else 0), so each process of a multi-GPU job takes its own GPU."""
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if device == "auto":
        resolved = torch.device("cuda", env_local_rank()) if torch.cuda.is_available() else torch.device("cpu")
    else:
        try:
            resolved = torch.device(device)
        except RuntimeError:
            resolved = torch.device("meta")  # not a device name at all: refused just below
        if resolved.type not in ("cpu", "cuda"):
            raise UsageError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise UsageError(f"device {device!r} asked for, but no CUDA GPU is visible")
        if resolved.type == "cuda" and resolved.index is None:  # under torchrun: this process's own GPU
            resolved = torch.device("cuda", env_local_rank())
        elif resolved.type == "cuda" and env_world_size() > 1 and resolved.index != env_local_rank():
            raise UsageError(
                f"--device {device} under torchrun would put every process on one GPU: use --device cuda "
                f"(each process takes GPU LOCAL_RANK, here {env_local_rank()}), or CUDA_VISIBLE_DEVICES to choose GPUs"
            )
    if resolved.type == "cuda":
        _check_gpu_index(resolved, asked=device)
        torch.cuda.set_device(resolved)
        chosen = precision if precision != "auto" else "bf16" if _fast_bf16(resolved) else "fp32"
        torch.backends.cudnn.benchmark = True
        # TF32 is reduced precision too: an explicit fp32 means true fp32 everywhere (paper reproduction)
        torch.backends.cuda.matmul.allow_tf32 = chosen != "fp32"
        torch.backends.cudnn.allow_tf32 = chosen != "fp32"
        return Runtime(resolved, chosen, channels_last=True)
    torch.set_flush_denormal(True)
    return Runtime(resolved, "fp32" if precision == "auto" else precision, channels_last=False)
