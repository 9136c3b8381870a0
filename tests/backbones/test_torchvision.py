"""torchvision's video ResNet-18s behind clipcop's feature contract, and their weight files (``--weights``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import video

from clipcop.backbones import TAPS, TORCHVISION_BACKBONES, build_backbone
from clipcop.config import TORCHVISION_ARCHS, ModelSpec
from clipcop.engine.checkpoint import save_checkpoint
from clipcop.errors import CheckpointError, UsageError
from clipcop.workflows.extract import ModelSource
from clipcop.workflows.models import backbone_from

CLIP = (1, 3, 4, 16, 16)
"""Tiny clips, for speed: 4 frames of 16x16 leave conv5 a 1x1x1 map (4x1x1 for mc3_18)."""


def torchvision_pooled(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's own forward up to ``avgpool``: the feature its ``fc`` classifies."""
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "avgpool"):
        x = getattr(model, name)(x)
    return x.flatten(1)


@pytest.mark.parametrize("arch", TORCHVISION_ARCHS)
def test_torchvision_arch_follows_the_contract_and_loads_a_state_dict_file(arch: str, tmp_path: Path) -> None:
    """Every tap conv1..conv5 has feature_info's channels; a torchvision state dict saved as safetensors and
    read with --weights gives exactly the saved model's pooled features."""
    torch.manual_seed(0)
    reference = getattr(video, arch)().eval()
    path = tmp_path / f"{arch}.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    backbone, card = backbone_from(arch=arch, weights=str(path))
    backbone.eval()
    x = torch.randn(*CLIP)
    with torch.no_grad():
        taps = backbone.forward_intermediates(x, TAPS)
        pooled, expected = backbone.forward_head(taps["conv5"]), torchvision_pooled(reference, x)
    assert [taps[t].shape[1] for t in TAPS] == [i.channels for i in backbone.feature_info] == [64, 64, 128, 256, 512]
    assert [taps[t].shape[-1] for t in TAPS] == [16 // i.reduction for i in backbone.feature_info]
    assert torch.equal(pooled, expected) and pooled.shape == (1, backbone.num_features)
    assert (card.kind, card.arch, card.width, card.weights, card.source) == (
        "torchvision",
        arch,
        64,
        str(path.resolve()),
        str(path.resolve()),
    )
    assert card.choices().pixels == "standardised"  # torchvision's Kinetics statistics


def test_pth_state_dicts_load_weights_only_and_anything_else_is_refused(tmp_path: Path) -> None:
    torch.manual_seed(1)
    reference = video.mc3_18().eval()
    torch.save(reference.state_dict(), tmp_path / "mc3.pth")
    torch.save({"model": reference.state_dict(), "epoch": 3}, tmp_path / "train.pth")  # torchvision's references
    x = torch.randn(*CLIP)
    for name in ("mc3.pth", "train.pth"):
        backbone, _ = backbone_from(arch="mc3_18", weights=str(tmp_path / name))
        with torch.no_grad():
            assert torch.equal(backbone.eval()(x), torchvision_pooled(reference, x))
    torch.save({"model": reference.state_dict(), "args": argparse.Namespace(lr=0.1)}, tmp_path / "pickled.pth")
    with pytest.raises(CheckpointError, match=r"weights-only state dict \(it pickles argparse.Namespace, not only"):
        backbone_from(arch="mc3_18", weights=str(tmp_path / "pickled.pth"))
    (tmp_path / "cut.pth").write_bytes((tmp_path / "mc3.pth").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"weights-only state dict \(PytorchStreamReader failed [^.]*\)$") as err:
        backbone_from(arch="mc3_18", weights=str(tmp_path / "cut.pth"))
    assert "\x1b" not in str(err.value)
    with pytest.raises(
        UsageError,
        match=r"does not fit torchvision's r3d_18 \(12 tensors of another shape, e.g. stages.conv3.0.conv1.0.weight: "
        r"\[128, 64, 1, 3, 3\] in the file, \[128, 64, 3, 3, 3\] here\)$",
    ):
        backbone_from(arch="r3d_18", weights=str(tmp_path / "mc3.pth"))
    with pytest.raises(UsageError, match=r"r2plus1d_18 \(5 tensors .*; 118 missing, e.g. .*; 16 unexpected, e.g. "):
        backbone_from(arch="r2plus1d_18", weights=str(tmp_path / "mc3.pth"))
    save_checkpoint(tmp_path / "clipcop.safetensors", {"backbone.x": torch.zeros(1)}, {"kind": "vcop"})
    with pytest.raises(UsageError, match="pass it with --checkpoint"):
        backbone_from(arch="mc3_18", weights=str(tmp_path / "clipcop.safetensors"))
    with pytest.raises(UsageError, match="no such file"):
        backbone_from(arch="mc3_18", weights=str(tmp_path / "absent.pth"))
    with pytest.raises(UsageError, match="is a folder: give a state dict file"):
        backbone_from(arch="mc3_18", weights=str(tmp_path))


def test_random_torchvision_arch_is_seeded_and_its_switches_are_torchvisions() -> None:
    """``--random --arch r3d_18`` is torchvision's initialisation; switches it does not have are refused."""
    first, _, _, _ = ModelSource(random=True, arch="r2plus1d_18", seed=4).build()
    again, card, clip_len, geometry = ModelSource(random=True, arch="r2plus1d_18", seed=4).build()
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True))
    other, _, _, _ = ModelSource(random=True, arch="r2plus1d_18", seed=5).build()  # --seed reaches the weights
    assert not torch.equal(first.state_dict()["stages.conv1.0.weight"], other.state_dict()["stages.conv1.0.weight"])
    assert (card.kind, card.arch, clip_len, geometry.crop, geometry.resize) == (
        "random",
        "r2plus1d_18",
        16,
        112,
        (128, 171),
    )
    assert type(first) is TORCHVISION_BACKBONES["r2plus1d_18"]
    refused: list[tuple[dict[str, Any], str]] = [
        ({"pixels": "unit"}, "--pixels standardised, not unit"),
        ({"protocol": "official"}, "torchvision's network"),
        ({"shortcut": "factorised"}, "--shortcut conv"),
        ({"width": 16}, "--width 64, not 16"),
    ]
    for given, words in refused:
        with pytest.raises(UsageError, match=words):
            ModelSource(random=True, arch="r3d_18", **given)
    with pytest.raises(UsageError, match="torchvision's network with --width 64"):
        build_backbone("mc3_18", width=8)


def test_weights_need_a_torchvision_arch_and_pretrain_refuses_one() -> None:
    with pytest.raises(
        UsageError, match=r"--weights needs --arch r3d_18, mc3_18 or r2plus1d_18 \(torchvision's networks\), not r3d$"
    ):
        ModelSource(arch="r3d", weights="kinetics400")
    with pytest.raises(
        UsageError, match="exactly one of --checkpoint CKPT, --random --arch ARCH, or --arch ARCH --weights"
    ):
        ModelSource(checkpoint="best.safetensors", arch="r3d_18", weights="kinetics400")
    with pytest.raises(UsageError, match="pretrain builds c3d, r3d, r21d; r3d_18 is torchvision's network"):
        ModelSpec(arch="r3d_18")


def test_retrieve_s_source_errors_name_weights_too() -> None:
    """Retrieval's one-line errors list every way to name a model, --weights included."""
    from clipcop.workflows.retrieve import RetrieveConfig

    source = ModelSource(arch="r3d_18", weights="kinetics400")
    with pytest.raises(UsageError, match=r"or a model \(--checkpoint, --random or --weights\) with --data$"):
        RetrieveConfig(source=source, gallery="g.safetensors", queries="q.safetensors")
    with pytest.raises(UsageError, match=r"--query needs a gallery: .*--weights"):
        RetrieveConfig(query="video.avi")
