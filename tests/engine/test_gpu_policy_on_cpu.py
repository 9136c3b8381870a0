"""The numeric policy clipcop uses on CUDA (bf16 autocast, channels_last_3d inputs and weights), run on
the CPU so that CI exercises the code paths a GPU takes: pretraining, checkpoints and extraction.

Each half of the policy is tested on its own: on the CPU the two together make torch's bf16
channels-last 3D kernels nondeterministic (validation losses differed run to run with one seed, and one
CI run got a NaN), a combination clipcop never uses on a CPU; each half alone is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from clipcop.engine.device import Runtime, resolve_runtime
from clipcop.errors import UsageError
from clipcop.features.store import read_features
from clipcop.workflows import extract as extract_module
from clipcop.workflows import pretrain as pretrain_module
from clipcop.workflows import training as training_module
from clipcop.workflows.extract import ExtractConfig, ModelSource, extract
from clipcop.workflows.pretrain import pretrain
from tests.conftest import TINY_PRETRAIN


def cpu_runtime(channels_last: bool, autocast: str) -> Callable[..., Runtime]:
    """A stand-in for ``resolve_runtime``: the CPU with part of the CUDA policy (``precision`` auto picks it)."""

    def resolve(device: str = "auto", precision: str = "auto") -> Runtime:
        return Runtime(torch.device("cpu"), autocast if precision == "auto" else precision, channels_last)

    return resolve


def train_and_extract(
    data: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *, channels_last: bool, autocast: str
) -> tuple[pretrain_module.PretrainResult, dict[str, np.ndarray]]:
    """Two epochs of VCOP under the given policy, then features in that policy (``auto``) and in fp32."""
    monkeypatch.setattr(training_module, "resolve_runtime", cpu_runtime(channels_last, autocast))
    monkeypatch.setattr(extract_module, "resolve_runtime", cpu_runtime(channels_last, autocast))
    run = pretrain(data=str(data), epochs=2, out=str(out / "run"), **TINY_PRETRAIN)
    source = ModelSource(checkpoint=str(run.best_checkpoint))
    features = {}
    for precision in ("auto", "fp32"):
        path = out / f"{precision}.safetensors"
        extract(
            ExtractConfig.from_options(
                source=source, data=str(data), clips=2, workers=0, precision=precision, out=str(path)
            )
        )
        features[precision] = np.asarray(read_features(path).features, dtype=np.float64)
    return run, features


def test_channels_last_training_and_extraction_work(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, features = train_and_extract(tiny_synth, tmp_path, monkeypatch, channels_last=True, autocast="fp32")
    assert [np.isfinite([e["train_loss"], e["val_loss"]]).all() for e in run.fit.history] == [True, True]
    assert 0.0 <= run.test_accuracy <= 1.0 and np.isfinite(features["auto"]).all()
    # The same weights on contiguous inputs: the memory format changes only the order of float sums.
    monkeypatch.setattr(extract_module, "resolve_runtime", cpu_runtime(False, "fp32"))
    contiguous = tmp_path / "contiguous.safetensors"
    source = ModelSource(checkpoint=str(run.best_checkpoint))
    extract(ExtractConfig.from_options(source=source, data=str(tiny_synth), clips=2, workers=0, out=str(contiguous)))
    np.testing.assert_allclose(features["auto"], read_features(contiguous).features, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_training_and_extraction_work_and_match_fp32(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, features = train_and_extract(tiny_synth, tmp_path, monkeypatch, channels_last=False, autocast="bf16")
    assert [np.isfinite([e["train_loss"], e["val_loss"]]).all() for e in run.fit.history] == [True, True]
    bf16, fp32 = features["auto"], features["fp32"]
    assert bf16.shape == fp32.shape and np.isfinite(bf16).all()
    cosine = (bf16 * fp32).sum(1) / (np.linalg.norm(bf16, axis=1) * np.linalg.norm(fp32, axis=1) + 1e-12)
    assert cosine.min() > 0.98  # bf16 has 8 mantissa bits: close, not equal
    assert not np.array_equal(bf16, fp32)  # autocast really ran


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``torch.cuda`` says a GPU is there; the global TF32/cuDNN flags ``resolve_runtime`` sets are restored."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: None)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))  # an H100
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark
    yield
    matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = saved


@pytest.mark.usefixtures("fake_cuda")
@pytest.mark.parametrize(
    ("precision", "autocast", "tf32"), [("auto", "bf16", True), ("bf16", "bf16", True), ("fp32", "fp32", False)]
)
def test_what_each_precision_turns_on_for_cuda(precision: str, autocast: str, tf32: bool) -> None:
    """On a CUDA device: bf16 autocast by default, TF32 with it; ``--precision fp32`` is true fp32 (no TF32)."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    matmul.allow_tf32 = cudnn.allow_tf32 = not tf32  # the opposite, so the call must set them
    cudnn.benchmark = False
    runtime = resolve_runtime("auto", precision)
    assert runtime.device == torch.device("cuda", 0) and runtime.precision == autocast and runtime.channels_last
    assert matmul.allow_tf32 is tf32 and cudnn.allow_tf32 is tf32 and cudnn.benchmark is True


@pytest.mark.usefixtures("fake_cuda")
def test_auto_precision_is_fp32_on_gpus_without_bf16_tensor_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A V100 or T4 (compute capability 7.x) only emulates bf16: ``auto`` keeps fp32 there; asked, bf16 runs."""
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 0))
    assert resolve_runtime("auto", "auto").precision == "fp32"
    assert resolve_runtime("auto", "bf16").precision == "bf16"


@pytest.mark.usefixtures("fake_cuda")
def test_under_torchrun_a_fixed_gpu_number_must_be_the_process_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--device cuda:0`` on every process of a 2-GPU job would put both on GPU 0 (NCCL then fails)."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(UsageError, match=r"--device cuda:0 under torchrun would put every process on one GPU"):
        resolve_runtime("cuda:0")
    assert resolve_runtime("cuda:1").device == torch.device("cuda", 1)
    assert resolve_runtime("cuda").device == torch.device("cuda", 1)


@pytest.mark.usefixtures("fake_cuda")
def test_each_torchrun_process_takes_its_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--device auto`` and ``--device cuda`` follow torchrun's LOCAL_RANK; ``cuda:N`` is taken as asked."""
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_runtime("auto").device == torch.device("cuda", 3)
    assert resolve_runtime("cuda").device == torch.device("cuda", 3)
    assert resolve_runtime("cuda:1").device == torch.device("cuda", 1)


@pytest.mark.usefixtures("fake_cuda")
def test_a_gpu_this_machine_lacks_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"--device cuda:7 asked for, but 4 GPUs are visible"):
        resolve_runtime("cuda:7")
    monkeypatch.setenv("LOCAL_RANK", "5")
    with pytest.raises(UsageError, match=r"LOCAL_RANK=5 but 4 GPUs are visible: start at most 4 torchrun"):
        resolve_runtime("auto")
    for name in ("mps", "meta", "gpu"):
        with pytest.raises(UsageError, match=f"unknown device '{name}'"):
            resolve_runtime(name)
