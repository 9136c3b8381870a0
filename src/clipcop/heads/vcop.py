"""The clip order prediction head of Eq. (3) and the full VCOP model (Sec. III-C, Fig. 2).

Every pair ``(i < j)`` of clip features goes through one shared ``Linear(2D, H)`` + ReLU; the ``tl(tl-1)/2``
pair vectors are concatenated, passed through dropout (p = 0.5, Sec. IV-A) and a ``Linear(H * pairs,
tl!)`` that gives the order logits (softmax / cross-entropy outside, Eq. (4)).
"""

from __future__ import annotations

import itertools
import math
from typing import cast

import torch
from torch import nn

from clipcop.backbones.base import VideoBackbone


class VCOPHead(nn.Module):
    """Pairwise order head: features ``(B, tl, D)`` -> order logits ``(B, tl!)``."""

    first: torch.Tensor
    second: torch.Tensor

    def __init__(self, feature_dim: int = 512, tuple_len: int = 3, hidden: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        pairs = list(itertools.combinations(range(tuple_len), 2))
        self.tuple_len = tuple_len
        self.register_buffer("first", torch.tensor([i for i, _ in pairs]), persistent=False)
        self.register_buffer("second", torch.tensor([j for _, j in pairs]), persistent=False)
        self.pair_fc = nn.Linear(2 * feature_dim, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.order_fc = nn.Linear(hidden * len(pairs), math.factorial(tuple_len))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``features`` ``(B, tl, D)`` in shuffled order -> logits ``(B, tl!)``."""
        pair_input = torch.cat([features[:, self.first], features[:, self.second]], dim=-1)  # (B, P, 2D)
        relations = self.relu(self.pair_fc(pair_input))  # (B, P, H)
        return cast(torch.Tensor, self.order_fc(self.dropout(relations.flatten(1))))  # (B, tl!)


class VCOPModel(nn.Module):
    """Backbone + order head. The backbone runs once over all ``B * tl`` clips of a batch."""

    def __init__(self, backbone: VideoBackbone, tuple_len: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        dim = backbone.num_features
        self.head = VCOPHead(feature_dim=dim, tuple_len=tuple_len, hidden=dim, dropout=dropout)

    @property
    def tuple_len(self) -> int:
        """Clips per tuple this head orders."""
        return self.head.tuple_len

    def forward(self, tuples: torch.Tensor) -> torch.Tensor:
        """Shuffled tuples ``(B, tl, 3, T, H, W)`` -> order logits ``(B, tl!)``."""
        batch, clips = tuples.shape[:2]
        features = self.backbone(tuples.flatten(0, 1))  # (B * tl, D)
        return cast(torch.Tensor, self.head(features.view(batch, clips, -1)))
