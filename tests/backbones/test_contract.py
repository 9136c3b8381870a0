"""The feature contract, tested over the whole registry, and the paper's sizes pinned at width 64."""

from __future__ import annotations

import pytest
import torch

from clipcop.backbones import ARCHS, TAPS, build_backbone
from clipcop.backbones.resnet3d import middle_channels
from clipcop.errors import UsageError

# Parameters at width 64 with BN and no FC layers (design.md): C3D ~27.7M, R3D ~14.4M, R(2+1)D ~14.4M.
PAPER_PARAMS = {"c3d": 27_658_688, "r3d": 14_361_792, "r21d": 14_365_477}
TAP_SHAPES_16x112 = {
    "c3d": [(64, 16, 112, 112), (128, 16, 56, 56), (256, 8, 28, 28), (512, 4, 14, 14), (512, 2, 7, 7)],
    "r3d": [(64, 16, 56, 56), (64, 16, 56, 56), (128, 8, 28, 28), (256, 4, 14, 14), (512, 2, 7, 7)],
}
TAP_SHAPES_16x112["r21d"] = TAP_SHAPES_16x112["r3d"]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_parameter_count_at_the_papers_width(arch: str) -> None:
    model = build_backbone(arch)
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMS[arch]
    assert model.num_features == 512


@pytest.mark.parametrize("arch", list(ARCHS))
def test_taps_and_pooled_feature_shapes(arch: str) -> None:
    model = build_backbone(arch, width=8).eval()
    x = torch.randn(2, 3, 16, 112, 112)
    with torch.no_grad():
        taps = model.forward_intermediates(x, TAPS)
        pooled = model(x)
        unpooled = model.forward_features(x)
    scaled = [(c // 8, t, h, w) for c, t, h, w in TAP_SHAPES_16x112[arch]]
    assert [tuple(taps[t].shape[1:]) for t in TAPS] == scaled
    assert [info.channels for info in model.feature_info] == [s[0] for s in scaled]
    assert pooled.shape == (2, 64) == (2, model.num_features)
    assert torch.allclose(pooled, unpooled.mean(dim=(2, 3, 4)), atol=1e-5)
    assert torch.allclose(model.forward_head(taps["conv5"]), pooled, atol=1e-5)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_small_clips_and_shallow_taps_stop_early(arch: str) -> None:
    model = build_backbone(arch, width=4).eval()
    with torch.no_grad():
        out = model.forward_intermediates(torch.randn(1, 3, 8, 32, 32), ["conv2"])
    assert list(out) == ["conv2"]


def test_r21d_middle_channels_follow_the_rule() -> None:
    # M = floor(t d^2 Nin Nout / (d^2 Nin + t Nout)), Tran et al. 2018
    assert middle_channels(64, 64, (3, 3, 3)) == 144
    assert middle_channels(3, 64, (3, 7, 7)) == 83
    assert middle_channels(256, 512, (3, 3, 3)) == 921


def test_unknown_arch_and_tap() -> None:
    with pytest.raises(UsageError, match="unknown arch"):
        build_backbone("i3d")
    with pytest.raises(UsageError, match="unknown layer"):
        build_backbone("r3d", width=4).forward_intermediates(torch.randn(1, 3, 4, 16, 16), ["pool5"])
