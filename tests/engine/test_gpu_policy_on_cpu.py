"""The numeric policy clipcop uses on CUDA (bf16 autocast, channels_last_3d inputs and weights), run on
the CPU so that CI exercises the code paths a GPU takes: pretraining, checkpoints and extraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from clipcop.engine.device import Runtime
from clipcop.features.store import read_features
from clipcop.workflows import extract as extract_module
from clipcop.workflows import pretrain as pretrain_module
from clipcop.workflows.extract import ExtractConfig, ModelSource, extract
from clipcop.workflows.pretrain import pretrain


def gpu_like(device: str = "auto", precision: str = "auto") -> Runtime:
    """What ``resolve_runtime`` returns on CUDA, with the CPU as the device."""
    return Runtime(torch.device("cpu"), "bf16" if precision == "auto" else precision, channels_last=True)


def test_bf16_channels_last_training_and_extraction_work_and_match_fp32(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pretrain_module, "resolve_runtime", gpu_like)
    monkeypatch.setattr(extract_module, "resolve_runtime", gpu_like)
    run = pretrain(
        data=str(tiny_synth),
        width=4,
        clip_len=4,
        interval=2,
        resize=(24, 32),
        crop=16,
        epochs=2,
        batch_size=4,
        workers=0,
        optimizer="adam",
        out=str(tmp_path / "run"),
    )
    assert [np.isfinite(e["train_loss"]) and np.isfinite(e["val_loss"]) for e in run.fit.history] == [True, True]
    assert 0.0 <= run.test_accuracy <= 1.0

    source = ModelSource(checkpoint=str(run.best_checkpoint))
    features = {}
    for precision in ("bf16", "fp32"):
        out = tmp_path / f"{precision}.safetensors"
        extract(
            ExtractConfig(source=source, data=str(tiny_synth), clips=2, workers=0, precision=precision, out=str(out))
        )
        features[precision] = np.asarray(read_features(out).features, dtype=np.float64)
    bf16, fp32 = features["bf16"], features["fp32"]
    assert bf16.shape == fp32.shape and np.isfinite(bf16).all()
    cosine = (bf16 * fp32).sum(1) / (np.linalg.norm(bf16, axis=1) * np.linalg.norm(fp32, axis=1) + 1e-12)
    assert cosine.min() > 0.98  # bf16 has 8 mantissa bits: close, not equal
    assert not np.array_equal(bf16, fp32)  # autocast really ran
