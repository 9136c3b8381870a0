"""Resumable training state (optimizer, scheduler, RNGs, counters) in its own safetensors file.

Optimizer state is a nested dict of tensors and numbers; tensors go into the safetensors body under
``optim.<param>.<name>`` and everything else into JSON metadata, so resuming never unpickles.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from clipcop.engine.atomic import write_atomic
from clipcop.errors import CheckpointError, MalformedCheckpointError
from clipcop.validation import ANY, BOOL, INT, NUMBER, OBJECT, Fields, list_of, object_of, optional, parse_json

META_KEY = "clipcop.state"
STATE_WHAT = "training state header"


def _split_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, values in state["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{name}"] = value
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def _cuda_initialized() -> bool:
    """Whether this process has set CUDA up (a typed face on torch's unannotated ``is_initialized``)."""
    return cast(Callable[[], bool], torch.cuda.is_initialized)()


def capture_rng() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Torch (CPU and this process's GPU), numpy-global and Python RNG states, as tensors plus JSON.

    Only the current GPU's generator is kept: under torchrun every process seeds alike and draws alike
    (dropout), so rank 0's GPU state is every rank's, and each restores it into its own GPU.
    """
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and _cuda_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    py_state = random.getstate()
    np_state: tuple[Any, ...] = tuple(np.random.get_state())
    meta = {
        "python": [py_state[0], list(py_state[1]), py_state[2]],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Undo :func:`capture_rng`."""
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])  # into this process's GPU (torchrun: LOCAL_RANK)
    else:  # state files written before 2026-11-27 kept every GPU's generator as rank 0 saw it
        cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def save_state(
    path: str | Path,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    counters: dict[str, Any],
) -> Path:
    """Save everything besides the weights that a resumed run needs to continue bit-for-bit."""
    optim_tensors, optim_meta = _split_optimizer(optimizer.state_dict())
    rng_tensors, rng_meta = capture_rng()
    meta = {
        "optimizer": optim_meta,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": rng_meta,
        "counters": counters,
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in {**optim_tensors, **rng_tensors}.items()}
    header = {META_KEY: json.dumps(meta)}
    return write_atomic(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def load_state(
    path: str | Path,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    need: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Restore optimizer, scheduler and RNGs from ``path``; returns the saved counters (``need``: those
    that must be present, e.g. :data:`COUNTERS` for a training run)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
        text = header[META_KEY]
    except (SafetensorError, OSError, KeyError, ValueError) as err:
        raise CheckpointError(f"training state {path} is unreadable ({err}); cannot resume") from None
    meta = read_state_meta(text, path, need)
    try:
        optimizer.load_state_dict(_join_optimizer(tensors, meta["optimizer"]))
        if scheduler is not None and meta["scheduler"] is not None:
            scheduler.load_state_dict(meta["scheduler"])
    except (ValueError, KeyError, TypeError, IndexError) as err:  # e.g. other parameter groups: settings changed
        raise CheckpointError(f"training state {path} does not fit this run ({err}); cannot resume") from None
    try:
        restore_rng(tensors, meta["rng"])
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError, OverflowError) as err:
        raise CheckpointError(f"training state {path} holds unusable RNG states ({err}); cannot resume") from None
    counters: dict[str, Any] = meta["counters"]
    return counters


_GROUP = {
    "params": list_of(INT),
    "betas": list_of(NUMBER, 2),
    "nesterov": BOOL,
    "maximize": BOOL,
    **dict.fromkeys(("lr", "momentum", "dampening", "weight_decay", "eps", "initial_lr"), NUMBER),
}
"""The shapes of an optimizer parameter group's entries (SGD's and Adam's)."""

COUNTERS = {"epoch": INT, "step": INT, "best_val_loss": NUMBER, "best_epoch": INT}
"""The counters a training run saves, and their shapes."""


def read_state_meta(text: str, path: Path, need: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON header of a training state file, every part :func:`load_state` uses checked for its shape."""
    fields = Fields(
        parse_json(text, path, STATE_WHAT, error=MalformedCheckpointError),
        path,
        STATE_WHAT,
        error=MalformedCheckpointError,
    )
    optim = fields.sub("optimizer", required=True)
    for number, group in enumerate(optim.get("param_groups", list_of(OBJECT), required=True)):
        prefix = f"optimizer.param_groups[{number}]"
        Fields(group, path, STATE_WHAT, prefix=prefix, error=MalformedCheckpointError).check(
            _GROUP, required=("params", "lr")
        )
    optim.get("scalars", object_of(OBJECT), required=True)
    fields.get("scheduler", optional(OBJECT), required=True)
    rng = fields.sub("rng", required=True)
    rng.get("python", list_of(ANY, 3), required=True)
    rng.get("numpy", list_of(ANY, 5), required=True)
    fields.sub("counters", required=True).check(COUNTERS, required=need)
    return fields.value
