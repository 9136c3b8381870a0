"""torchvision's video ResNet-18s (``r3d_18``, ``mc3_18``, ``r2plus1d_18``) behind clipcop's feature contract.

The networks of Tran et al. 2018 as torchvision builds them, two BasicBlocks per stage, so that Kinetics-400
supervised weights (torchvision's weights API, e.g. ``R3D_18_Weights.KINETICS400_V1``) serve as the
"supervised" baseline against VCOP (Table VI). The stages are torchvision's own modules: ``conv1`` = its
``stem``, ``conv2``..``conv5`` = ``layer1``..``layer4``; ``fc`` is dropped, and the pooled 512-d feature is the
global spatiotemporal average that torchvision's ``avgpool`` takes too. These models take clips standardised
by torchvision's Kinetics statistics (``--pixels standardised``: :mod:`clipcop.engine.pixels`), 112x112 crops
of frames resized to 128x171.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from clipcop.backbones.base import FeatureInfo, VideoBackbone
from clipcop.engine.checkpoint import check_finite
from clipcop.errors import UsageError

STAGE_PREFIXES = {"stem.": "stages.conv1.", "layer1.": "stages.conv2.", "layer2.": "stages.conv3."}
STAGE_PREFIXES |= {"layer3.": "stages.conv4.", "layer4.": "stages.conv5."}
"""torchvision's module names -> clipcop's, for reading a torchvision state dict."""

CLASSIFIER_KEYS = ("fc.weight", "fc.bias")
"""The Kinetics classifier of a torchvision state dict, which a clipcop backbone has no place for."""


def check_torchvision_choices(arch: str, *, width: int | None, weight_init: str, pixels: str, shortcut: str) -> None:
    """Refuse a switch that torchvision's ``arch`` does not have: it is 64 channels wide, starts from
    torchvision's He-normal initialisation (``--weight-init he``), has strided 1x1x1 projection shortcuts
    (``--shortcut conv``), and its Kinetics weights expect standardised pixels (torchvision's statistics)."""
    asked = {"--width": width, "--weight-init": weight_init, "--pixels": pixels, "--shortcut": shortcut}
    fixed = {"--width": 64, "--weight-init": "he", "--pixels": "standardised", "--shortcut": "conv"}
    for flag, value in asked.items():
        if value is not None and value != fixed[flag]:
            raise UsageError(
                f"{arch} is torchvision's network with {flag} {fixed[flag]}, not {value} "
                f"(leave {flag} and --protocol out for torchvision's models)"
            )


class TorchvisionResNet(VideoBackbone):
    """A torchvision video ResNet-18 with its stages renamed ``conv1``..``conv5`` (64, 64, 128, 256, 512
    channels; spatial reductions 2, 2, 4, 8, 16 as clipcop's R3D; time is halved from conv3 on, except
    in ``mc3_18``, whose 2D stages keep every frame).

    ``weight_init`` ``he`` is torchvision's own initialisation (He-normal convolutions, unit BN scale);
    pretrained weights replace it (:func:`load_torchvision_state`).
    """

    def __init__(self, width: int = 64, *, weight_init: str = "he", shortcut: str = "conv") -> None:
        check_torchvision_choices(
            self.arch, width=width, weight_init=weight_init, pixels="standardised", shortcut=shortcut
        )
        from torchvision.models import video

        net = getattr(video, self.arch)(weights=None)
        stages = {"conv1": net.stem, "conv2": net.layer1, "conv3": net.layer2, "conv4": net.layer3, "conv5": net.layer4}
        channels, reductions = (64, 64, 128, 256, 512), (2, 2, 4, 8, 16)
        info = [FeatureInfo(f"conv{i + 1}", c, r) for i, (c, r) in enumerate(zip(channels, reductions, strict=True))]
        super().__init__(stages, info, width)  # initialised by torchvision as clipcop's he; seeded by the caller
        self.weight_init, self.shortcut = weight_init, shortcut


class TorchvisionR3D18(TorchvisionResNet):
    """torchvision's R3D-18: full 3x3x3 kernels throughout. 33.2M parameters, 512-d output."""

    arch = "r3d_18"


class TorchvisionMC318(TorchvisionResNet):
    """torchvision's MC3-18: 3x3x3 kernels in conv1 and conv2, 1x3x3 (2D) from conv3 on. 11.5M parameters."""

    arch = "mc3_18"


class TorchvisionR2Plus1D18(TorchvisionResNet):
    """torchvision's R(2+1)D-18: every kernel factorised into spatial then temporal, stem included. 31.3M."""

    arch = "r2plus1d_18"


TORCHVISION_BACKBONES: dict[str, type[TorchvisionResNet]] = {
    cls.arch: cls for cls in (TorchvisionR3D18, TorchvisionMC318, TorchvisionR2Plus1D18)
}
"""The torchvision backbones by the names ``--arch`` accepts (:data:`clipcop.config.TORCHVISION_ARCHS`)."""


def clipcop_state(state: Mapping[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    """A torchvision-format state dict (``stem.*``, ``layer1.*``..``layer4.*``, optionally ``fc.*`` and a
    ``module.`` prefix from DataParallel) under clipcop's names (``stages.conv1.*``..); names already in
    clipcop's form pass as they are. ``where`` names the source in the error for a key of neither form."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key.removeprefix("module.")
        if name in CLASSIFIER_KEYS:
            continue
        prefix = next((p for p in STAGE_PREFIXES if name.startswith(p)), None)
        if prefix is not None:
            name = STAGE_PREFIXES[prefix] + name[len(prefix) :]
        elif not name.startswith("stages."):
            raise UsageError(f"{where} is not a torchvision video ResNet state dict (it has {key!r})")
        out[name] = value
    return out


def load_torchvision_state(backbone: TorchvisionResNet, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Copy a torchvision-format state dict into ``backbone``; one clear error if it belongs to another network
    or holds NaN or infinite weights (as for checkpoints)."""
    given, own = clipcop_state(state, where), backbone.state_dict()
    check_finite(where, given)
    why = _misfit(given, own)
    if why:
        raise UsageError(f"{where} does not fit torchvision's {backbone.arch} ({why})")
    backbone.load_state_dict(given)


def _misfit(given: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]) -> str:
    """How a state dict differs from the network's, in a few words (the first tensor of each kind), or ""."""
    missing = [key for key in own if key not in given]
    extra = [key for key in given if key not in own]
    resized = [key for key in own if key in given and given[key].shape != own[key].shape]
    parts = []
    if resized:
        key = resized[0]
        file, net = list(given[key].shape), list(own[key].shape)
        parts.append(f"{len(resized)} tensors of another shape, e.g. {key}: {file} in the file, {net} here")
    if missing:
        parts.append(f"{len(missing)} missing, e.g. {missing[0]}")
    if extra:
        parts.append(f"{len(extra)} unexpected, e.g. {extra[0]}")
    return "; ".join(parts)


__all__ = [
    "TORCHVISION_BACKBONES",
    "TorchvisionMC318",
    "TorchvisionR2Plus1D18",
    "TorchvisionR3D18",
    "TorchvisionResNet",
    "clipcop_state",
    "load_torchvision_state",
]
