"""The order head matches an obviously-correct loop over clip pairs (Eq. (3))."""

from __future__ import annotations

import itertools
from typing import cast

import pytest
import torch

from clipcop.backbones import build_backbone
from clipcop.heads.vcop import VCOPHead, VCOPModel


def reference_head(head: VCOPHead, features: torch.Tensor) -> torch.Tensor:
    """Eq. (3) written out as in the paper: h_k = ReLU(W1 (f_i || f_j) + b1) for i < j, then W2 [h_1..h_K]."""
    pairs = []
    for i, j in itertools.combinations(range(features.shape[1]), 2):
        pairs.append(torch.relu(head.pair_fc(torch.cat([features[:, i], features[:, j]], dim=1))))
    return cast(torch.Tensor, head.order_fc(torch.cat(pairs, dim=1)))


@pytest.mark.parametrize("tl", [2, 3, 4, 5])
def test_head_matches_the_reference(tl: int) -> None:
    torch.manual_seed(0)
    head = VCOPHead(feature_dim=16, tuple_len=tl, hidden=8).eval()
    features = torch.randn(5, tl, 16)
    logits = head(features)
    assert logits.shape == (5, [2, 6, 24, 120][tl - 2])
    assert torch.allclose(logits, reference_head(head, features), atol=1e-6)


def test_model_runs_the_backbone_once_over_all_clips() -> None:
    backbone = build_backbone("r3d", width=4)
    calls = []
    backbone.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    model = VCOPModel(backbone, tuple_len=3).eval()
    out = model(torch.randn(2, 3, 3, 4, 16, 16))
    assert out.shape == (2, 6) and calls == [6]
