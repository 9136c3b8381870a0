"""clipcop: self-supervised video representation learning by Video Clip Order Prediction.

The library API mirrors the command line: each command is a function here taking the same options as
keywords (or a config of frozen specs), and :func:`load_backbone` hands a trained 3D CNN to your own code.
Heavy modules load on first use so that ``import clipcop`` stays fast (and worker processes that only
decode video never import torch). ``docs/api.md`` lists every name with its signature.

>>> import clipcop  # doctest: +SKIP
>>> result = clipcop.pretrain(arch="r3d", tuple_len=3, data="synthetic", width=16, epochs=5)  # doctest: +SKIP
>>> backbone = clipcop.load_backbone(result.best_checkpoint)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clipcop._version import __version__

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
    from clipcop.backbones import build_backbone
    from clipcop.config import ClipGeometry, DataSpec, ModelChoices, ModelSpec, RunSpec, TrainingSpec, TupleSpec
    from clipcop.engine.pixels import normalize
    from clipcop.errors import CheckpointError, ClipcopError, DataError, UsageError
    from clipcop.features.extract import ExtractionStats
    from clipcop.synth.dataset import SynthSpec, write_synthetic
    from clipcop.videos.decoder import probe_video, read_frames
    from clipcop.videos.layouts import load_dataset
    from clipcop.workflows.extract import ExtractConfig, ModelSource, extract
    from clipcop.workflows.finetune import FinetuneConfig, FinetuneResult, finetune
    from clipcop.workflows.index import index_data
    from clipcop.workflows.models import load_backbone
    from clipcop.workflows.pretrain import PretrainConfig, PretrainResult, pretrain
    from clipcop.workflows.retrieve import RetrievalResult, RetrieveConfig, retrieve

_LAZY = {
    # The commands, their configs and results.
    "pretrain": "clipcop.workflows.pretrain",
    "PretrainConfig": "clipcop.workflows.pretrain",
    "PretrainResult": "clipcop.workflows.pretrain",
    "extract": "clipcop.workflows.extract",
    "ExtractConfig": "clipcop.workflows.extract",
    "ModelSource": "clipcop.workflows.extract",
    "ExtractionStats": "clipcop.features.extract",
    "retrieve": "clipcop.workflows.retrieve",
    "RetrieveConfig": "clipcop.workflows.retrieve",
    "RetrievalResult": "clipcop.workflows.retrieve",
    "finetune": "clipcop.workflows.finetune",
    "FinetuneConfig": "clipcop.workflows.finetune",
    "FinetuneResult": "clipcop.workflows.finetune",
    "index_data": "clipcop.workflows.index",
    # A trained model for your own code.
    "load_backbone": "clipcop.workflows.models",
    "normalize": "clipcop.engine.pixels",
    "build_backbone": "clipcop.backbones",
    # The specs the configs are made of.
    "ModelSpec": "clipcop.config",
    "ModelChoices": "clipcop.config",
    "TupleSpec": "clipcop.config",
    "ClipGeometry": "clipcop.config",
    "DataSpec": "clipcop.config",
    "TrainingSpec": "clipcop.config",
    "RunSpec": "clipcop.config",
    # Videos and datasets.
    "load_dataset": "clipcop.videos.layouts",
    "read_frames": "clipcop.videos.decoder",
    "probe_video": "clipcop.videos.decoder",
    "write_synthetic": "clipcop.synth.dataset",
    "SynthSpec": "clipcop.synth.dataset",
    # Errors a caller can catch: every one a user can cause is a ClipcopError.
    "ClipcopError": "clipcop.errors",
    "UsageError": "clipcop.errors",
    "DataError": "clipcop.errors",
    "CheckpointError": "clipcop.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'clipcop' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


# In the order of _LAZY's groups, which docs/api.md follows.
__all__ = [  # noqa: RUF022
    "__version__",
    "pretrain",
    "PretrainConfig",
    "PretrainResult",
    "extract",
    "ExtractConfig",
    "ModelSource",
    "ExtractionStats",
    "retrieve",
    "RetrieveConfig",
    "RetrievalResult",
    "finetune",
    "FinetuneConfig",
    "FinetuneResult",
    "index_data",
    "load_backbone",
    "normalize",
    "build_backbone",
    "ModelSpec",
    "ModelChoices",
    "TupleSpec",
    "ClipGeometry",
    "DataSpec",
    "TrainingSpec",
    "RunSpec",
    "load_dataset",
    "read_frames",
    "probe_video",
    "write_synthetic",
    "SynthSpec",
    "ClipcopError",
    "UsageError",
    "DataError",
    "CheckpointError",
]
