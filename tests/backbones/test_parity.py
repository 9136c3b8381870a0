"""The parity switches with the authors' code (docs/protocols.md): each reproduces the official layer,
initialisation or input exactly, and ``--protocol`` sets them all."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from clipcop.backbones import ARCHS, build_backbone
from clipcop.backbones.resnet3d import BasicBlock
from clipcop.config import ModelChoices, ModelSpec
from clipcop.engine.pixels import normalize
from clipcop.errors import UsageError
from clipcop.features.pooling import conv5_grid, pool_tap, pooled_dim, uses_strided
from clipcop.heads.classifier import ActionClassifier
from clipcop.heads.vcop import VCOPModel

OFFICIAL = ModelChoices.preset("official")


def test_strided_pool5_equals_the_official_layer_exactly() -> None:
    generator = torch.Generator().manual_seed(0)
    conv5 = torch.randn(2, 512, 2, 7, 7, generator=generator)
    reference = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))(conv5).view(2, -1)
    ours = pool_tap(conv5, "spatiotemporal", 512, strided=True)
    assert ours.shape == (2, 9216)
    assert torch.equal(ours, reference)
    # the official windows never see row or column 7: changing them changes nothing
    edited = conv5.clone()
    edited[..., 6, :] = 100.0
    edited[..., :, 6] = 100.0
    assert torch.equal(pool_tap(edited, "spatiotemporal", 512, strided=True), reference)
    # the adaptive grid (the default) has the same size but uses every position
    adaptive = pool_tap(conv5, "spatiotemporal", 512)
    assert adaptive.shape == (2, 9216) and not torch.equal(adaptive, reference)
    assert pool_tap(edited, "spatiotemporal", 512).max() == 100.0


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize(("clip_len", "crop"), [(16, 112), (4, 32), (8, 48)])
def test_the_strided_grid_follows_every_backbones_conv5(arch: str, clip_len: int, crop: int) -> None:
    model = build_backbone(arch, width=2).eval()
    with torch.no_grad():
        conv5 = model.forward_intermediates(torch.randn(1, 3, clip_len, crop, crop), ["conv5"])["conv5"]
    pooled = pool_tap(conv5, "spatiotemporal", model.num_features, strided=True)
    grid = conv5_grid(clip_len, crop)
    assert pooled.shape[1] == pooled_dim("spatiotemporal", 16, 16, strided_grid=grid) == 16 * math.prod(grid)
    assert conv5_grid(16, 112) == (2, 3, 3)


def test_strided_pooling_is_for_conv5_spatiotemporal_only() -> None:
    assert uses_strided("spatiotemporal", "conv5", "strided")
    assert not uses_strided("global", "conv5", "strided")
    assert not uses_strided("spatiotemporal", "conv4", "strided")
    assert not uses_strided("spatiotemporal", "conv5", "adaptive")
    with pytest.raises(UsageError, match="conv5 at least 2x2"):
        conv5_grid(16, 16)


def _convs(model: nn.Module) -> list[nn.Conv3d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv3d)]


def _bns(model: nn.Module) -> list[nn.BatchNorm3d]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]


def _within_fan_in_bound(layer: nn.Conv3d | nn.Linear, tensor: torch.Tensor) -> bool:
    """Uniform in +-1/sqrt(fan_in): inside the bound, and filling it (the largest layers reach 98% of it)."""
    bound = 1.0 / math.sqrt(layer.weight[0].numel())
    spread = float(tensor.detach().abs().max())
    return spread <= bound and (tensor.numel() < 64 or spread > 0.9 * bound)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_official_initialisation_is_pytorch_041s(arch: str) -> None:
    torch.manual_seed(0)
    model = build_backbone(arch, width=16, choices=OFFICIAL)
    assert model.weight_init == "uniform"
    for conv in _convs(model):
        assert _within_fan_in_bound(conv, conv.weight)
        assert float(conv.weight.mean().abs()) < 0.2 / math.sqrt(conv.weight[0].numel())  # centred
        # the authors' C3D convolutions have PyTorch's default bias; their ResNets' have none
        assert (conv.bias is not None) == (arch == "c3d")
        if conv.bias is not None:
            assert _within_fan_in_bound(conv, conv.bias)
    scales = torch.cat([bn.weight.detach() for bn in _bns(model)])
    assert float(scales.min()) >= 0.0 and float(scales.max()) <= 1.0
    assert 0.4 < float(scales.mean()) < 0.6 and float(scales.std()) > 0.25  # uniform on [0, 1]: std 0.29
    assert all(torch.count_nonzero(bn.bias) == 0 for bn in _bns(model))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_clipcop_initialisation_is_he_with_unit_bn(arch: str) -> None:
    model = build_backbone(arch, width=16)
    assert model.weight_init == "he"
    assert all(conv.bias is None for conv in _convs(model))
    assert all(torch.all(bn.weight == 1) and torch.all(bn.bias == 0) for bn in _bns(model))
    conv = _convs(model)[-1]  # He-normal: std sqrt(2 / fan_out)
    fan_out = conv.weight.shape[0] * conv.weight[0, 0].numel()
    assert float(conv.weight.std()) == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)


def test_heads_take_pytorchs_linear_default_which_is_041s() -> None:
    torch.manual_seed(0)
    backbone = build_backbone("r3d", width=16, choices=OFFICIAL)
    vcop = VCOPModel(backbone, tuple_len=3)
    classifier = ActionClassifier(build_backbone("r3d", width=16, choices=OFFICIAL), num_classes=101)
    for layer in (vcop.head.pair_fc, vcop.head.order_fc, classifier.classifier):
        assert _within_fan_in_bound(layer, layer.weight.detach())
        assert layer.bias is not None and _within_fan_in_bound(layer, layer.bias.detach())


def _shortcut(model: nn.Module) -> nn.Module:
    """The projection shortcut of conv3's block (64 -> 128 channels at width 64)."""
    block = model.get_submodule("stages.conv3")
    assert isinstance(block, BasicBlock)
    return block.shortcut


def test_factorised_shortcut_is_the_official_r21d_one() -> None:
    conv = build_backbone("r21d")
    official = build_backbone("r21d", choices=OFFICIAL)
    assert sum(p.numel() for p in conv.parameters()) == 14_365_477
    # Each projection shortcut: cin*M + 2M (spatial conv + BN) + M*cout + 2cout (temporal conv + BN), with
    # M = floor(cin*cout / (cin + cout)) = 42, 85, 170, against cin*cout + 2cout for the strided 1x1x1 conv.
    assert sum(p.numel() for p in official.parameters()) == 14_365_477 - 44 + 42 - 172 == 14_365_303
    shortcut = _shortcut(official)
    layers = [(type(m).__name__, getattr(m, "stride", None)) for m in shortcut.modules() if not list(m.children())]
    assert layers == [
        ("Conv3d", (1, 2, 2)),
        ("BatchNorm3d", None),
        ("ReLU", None),
        ("Conv3d", (2, 1, 1)),
        ("BatchNorm3d", None),
    ]
    spatial, temporal = (m for m in shortcut.modules() if isinstance(m, nn.Conv3d))
    assert (spatial.in_channels, spatial.out_channels, spatial.kernel_size) == (64, 42, (1, 1, 1))
    assert (temporal.in_channels, temporal.out_channels, temporal.kernel_size) == (42, 128, (1, 1, 1))
    assert [type(m).__name__ for m in _shortcut(conv).children()] == ["Conv3d", "BatchNorm3d"]
    x = torch.randn(1, 3, 16, 112, 112)
    with torch.no_grad():
        assert official.eval()(x).shape == conv.eval()(x).shape == (1, 512)


def test_r3ds_official_shortcut_is_its_plain_one() -> None:
    plain = build_backbone("r3d", width=8)
    official = build_backbone("r3d", width=8, choices=ModelChoices(shortcut="factorised"))
    assert plain.state_dict().keys() == official.state_dict().keys()
    assert all(plain.state_dict()[k].shape == v.shape for k, v in official.state_dict().items())


def test_unit_pixels_are_frames_in_0_1() -> None:
    clips = torch.randint(0, 256, (2, 4, 8, 8, 3), dtype=torch.uint8)
    unit = normalize(clips, pixels="unit")
    assert torch.equal(unit, clips.permute(0, 4, 1, 2, 3).float() / 255)
    assert float(unit.min()) >= 0.0 and float(unit.max()) <= 1.0
    standardised = normalize(clips)  # the default centres by the video mean: negative values too
    assert float(standardised.min()) < 0.0
    with pytest.raises(UsageError, match="--pixels"):
        normalize(clips, pixels="imagenet")


def test_protocol_sets_every_switch_and_a_switch_given_wins() -> None:
    assert ModelSpec().choices() == ModelChoices() and ModelChoices().protocol == "clipcop"
    official = ModelSpec(protocol="official").choices()
    assert official == ModelChoices(pool5="strided", weight_init="uniform", pixels="unit", shortcut="factorised")
    assert official.protocol == "official"
    mixed = ModelSpec(protocol="official", pool5="adaptive").choices()
    assert mixed.pool5 == "adaptive" and mixed.pixels == "unit" and mixed.protocol == "custom"
    assert ModelSpec(pixels="unit").choices().entries() == {
        "protocol": "custom",
        "pool5": "adaptive",
        "weight_init": "he",
        "pixels": "unit",
        "shortcut": "conv",
    }
    with pytest.raises(UsageError, match="--protocol must be one of clipcop, official"):
        ModelSpec(protocol="authors")
    with pytest.raises(UsageError, match="--shortcut must be one of conv, factorised"):
        ModelSpec(shortcut="identity")
