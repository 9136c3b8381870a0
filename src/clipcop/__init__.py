"""clipcop: self-supervised video representation learning by Video Clip Order Prediction.

The library API mirrors the command line; heavy modules load on first use so that ``import clipcop``
stays fast (and worker processes that only decode video never import torch).

>>> import clipcop  # doctest: +SKIP
>>> result = clipcop.pretrain(arch="r3d", tuple_len=3, data="synthetic", width=16, epochs=5)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from clipcop._version import __version__

_LAZY = {
    "pretrain": "clipcop.workflows.pretrain",
    "PretrainConfig": "clipcop.workflows.pretrain",
    "index_data": "clipcop.workflows.index",
    "load_dataset": "clipcop.videos.layouts",
    "read_frames": "clipcop.videos.decoder",
    "probe_video": "clipcop.videos.decoder",
    "write_synthetic": "clipcop.synth.dataset",
    "SynthSpec": "clipcop.synth.dataset",
    "build_backbone": "clipcop.backbones",
    "TupleSpec": "clipcop.config",
    "ClipGeometry": "clipcop.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'clipcop' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["__version__", *_LAZY]
