"""Action recognition: a backbone plus one new linear layer on its pooled feature (Sec. IV-C).

``freeze_until`` freezes every stage up to and including the named one (weights and batch-norm
statistics), the hierarchical fine-tuning of Fig. 10; deeper stages and the classifier train.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from clipcop.backbones.base import TAPS, VideoBackbone
from clipcop.errors import UsageError


class ActionClassifier(nn.Module):
    """Clips ``(B, 3, T, H, W)`` -> class logits ``(B, num_classes)``."""

    def __init__(self, backbone: VideoBackbone, num_classes: int, freeze_until: str | None = None) -> None:
        super().__init__()
        if num_classes < 2:
            raise UsageError(f"action recognition needs at least 2 classes, not {num_classes}")
        if freeze_until is not None and freeze_until not in TAPS:
            raise UsageError(f"--freeze-until must be one of {', '.join(TAPS)}, not {freeze_until!r}")
        self.backbone = backbone
        self.classifier = nn.Linear(backbone.num_features, num_classes)
        self.frozen = list(TAPS[: TAPS.index(freeze_until) + 1]) if freeze_until else []
        for name in self.frozen:
            for param in backbone.stages[name].parameters():
                param.requires_grad_(False)

    def train(self, mode: bool = True) -> ActionClassifier:
        """Like ``nn.Module.train`` but frozen stages stay in eval mode (their BN statistics do not move)."""
        super().train(mode)
        for name in self.frozen:
            self.backbone.stages[name].eval()
        return self

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Clips ``(B, 3, T, H, W)`` -> logits ``(B, num_classes)``."""
        return cast(torch.Tensor, self.classifier(self.backbone(clips)))
