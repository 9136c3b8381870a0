"""Weights for torchvision's video ResNets: its published Kinetics-400 ones, or a local state dict.

``kinetics400`` is torchvision's ``<ARCH>_Weights.KINETICS400_V1``, looked for where torchvision keeps it
(``$TORCH_HOME/hub/checkpoints``, :func:`torch.hub.get_dir`) and downloaded there, hash-checked, when absent.
A local file is a torchvision-format state dict (``model.state_dict()``): ``.safetensors``, or ``.pth``/``.pt``
read with ``torch.load(weights_only=True)``, which loads tensors and never runs pickled code.
"""

from __future__ import annotations

import os
import re
import socket
import urllib.error
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from clipcop.errors import CheckpointError, UsageError

KINETICS = "kinetics400"
"""The ``--weights`` name of torchvision's Kinetics-400 supervised weights."""

TORCH_SUFFIXES = (".pth", ".pt")
DOWNLOAD_TIMEOUT_S = 30.0
"""A download that receives nothing for this long fails rather than hanging."""

_ENUMS = {"r3d_18": "R3D_18_Weights", "mc3_18": "MC3_18_Weights", "r2plus1d_18": "R2Plus1D_18_Weights"}


def kinetics_weights_name(arch: str) -> str:
    """torchvision's name of ``arch``'s Kinetics-400 weights, e.g. ``R3D_18_Weights.KINETICS400_V1``."""
    return f"{_ENUMS[arch]}.KINETICS400_V1"


def kinetics_url(arch: str) -> str:
    """Where torchvision publishes ``arch``'s Kinetics-400 weights (its weights API's URL)."""
    from torchvision.models import video

    return str(getattr(video, _ENUMS[arch]).KINETICS400_V1.url)


def kinetics_cache_file(arch: str) -> Path:
    """Where torchvision keeps (and clipcop looks for) ``arch``'s Kinetics-400 weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(kinetics_url(arch)).path)


def kinetics_state_dict(arch: str, note: Any = None) -> dict[str, torch.Tensor]:
    """torchvision's Kinetics-400 state dict of ``arch``, downloaded into TORCH_HOME first if not there.

    ``note`` (a callable taking a line) is told before a download. No network and no cached file: one
    :class:`UsageError` saying where to put the file, or to pass a local one.
    """
    path = kinetics_cache_file(arch)
    if not path.is_file():
        url = kinetics_url(arch)
        if note is not None:
            note(f"downloading torchvision's {KINETICS} weights for {arch} to {path}")
        try:
            _download(url, path)
        except (OSError, urllib.error.URLError, RuntimeError, ValueError) as err:
            why = _reason(err)
            raise UsageError(
                f"cannot fetch torchvision's {KINETICS} weights for {arch} ({path.name} is not in {path.parent} "
                f"and downloading {url} failed: {why}); download them on a machine with network into TORCH_HOME, "
                "or pass --weights FILE"
            ) from None
    return _torch_file(path, f"torchvision's cached {KINETICS} weights {path} (delete the file to download it again)")


def _download(url: str, path: Path) -> None:
    """``url`` to ``path`` via torch.hub, which checks the hash in the file's name and writes nothing
    under ``path`` unless the whole file arrived."""
    hashed = torch.hub.HASH_REGEX.search(path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        torch.hub.download_url_to_file(url, str(path), hashed.group(1) if hashed else None, progress=False)
    finally:
        socket.setdefaulttimeout(before)


def _reason(err: BaseException) -> str:
    """A download failure in a few words (``Connection refused``, ``timed out``, a hash mismatch)."""
    inner = getattr(err, "reason", None)
    text = str(getattr(inner, "strerror", None) or inner or err)
    return " ".join(text.split())[:160] or type(err).__name__


def state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a torchvision-format state dict file: ``.safetensors``, or ``.pth``/``.pt`` read with
    ``weights_only=True``; a training checkpoint's ``{"model": state_dict, ...}`` gives its ``model``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"--weights {path} is a folder: give a state dict file (.safetensors or .pth) or kinetics400")
    if not path.is_file():
        raise UsageError(f"--weights {path}: no such file (or give kinetics400 for torchvision's weights)")
    if path.suffix == ".safetensors":
        return _safetensors_file(path)
    if path.suffix in TORCH_SUFFIXES:
        return _torch_file(path, str(path))
    raise UsageError(f"--weights {path}: give a .safetensors or a .pth/.pt state dict (or kinetics400)")


def _safetensors_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            if "clipcop" in (f.metadata() or {}):
                raise UsageError(f"{path} is a clipcop checkpoint: pass it with --checkpoint, not --weights")
            return {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read {path} as safetensors ({' '.join(str(err).split())[:160]})") from None


def _load_failure(err: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a few words: the pickled class of a whole saved
    model, else the error's first sentence without torch's terminal styling."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"it pickles {found.group(1)}, not only tensors: save model.state_dict() instead"
    first = " ".join(text.split()).split(". ")[0][:160]
    return first if len(first) > 40 else f"{type(err).__name__}: {first}"  # KeyError: '101' for a text file


def _torch_file(path: Path, what: str) -> dict[str, torch.Tensor]:
    """A ``torch.save``d state dict, loaded with ``weights_only=True``: tensors only, nothing executed."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the unpickler raises many kinds; all mean "not a plain state dict"
        raise CheckpointError(f"cannot read {what} as a weights-only state dict ({_load_failure(err)})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # torchvision's reference scripts save {"model": ..., "optimizer": ...}
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{what} is not a state dict of tensors (save model.state_dict())")
    return state


__all__ = [
    "KINETICS",
    "kinetics_cache_file",
    "kinetics_state_dict",
    "kinetics_url",
    "kinetics_weights_name",
    "state_dict_file",
]
