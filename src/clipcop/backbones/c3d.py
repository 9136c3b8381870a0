"""C3D (Tran et al. 2015) as modified in Sec. IV-A: 8 conv layers, BN, 4 max-poolings, and global
spatiotemporal average pooling as the 5th pooling, in place of pool5 and the two fully connected layers.

Taps: conv1 = conv1a, conv2 = conv2a, conv3 = conv3b, conv4 = conv4b, conv5 = conv5b (each after ReLU,
before the pooling that follows it). At width 64: 27.7M parameters, 512-d output.
"""

from __future__ import annotations

from torch import nn

from clipcop.backbones.base import FeatureInfo, VideoBackbone, conv_bn_relu, init_weights


def _pool(size: tuple[int, int, int]) -> nn.MaxPool3d:
    """C3D's max-pooling; ``ceil_mode`` keeps short or small clips (e.g. 4 frames) from pooling to nothing
    and changes no shape at the paper's 16x112x112."""
    return nn.MaxPool3d(size, size, ceil_mode=True)


class C3D(VideoBackbone):
    """C3D with batch normalisation; ``width`` is the channel count of conv1a (64 in the paper).

    ``weight_init="uniform"`` gives the convolutions a bias, as the authors' C3D has (PyTorch's default
    ``bias=True``, models/c3d.py lines 18-48), initialised with the weights; ``he`` has none (BN follows).
    ``shortcut`` is accepted for a uniform signature; C3D has no shortcut.
    """

    arch = "c3d"

    def __init__(self, width: int = 64, *, weight_init: str = "he", shortcut: str = "conv") -> None:
        del shortcut
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 8 * width
        b = weight_init == "uniform"
        stages = {
            "conv1": conv_bn_relu(3, c1, bias=b),
            "conv2": nn.Sequential(_pool((1, 2, 2)), conv_bn_relu(c1, c2, bias=b)),
            "conv3": nn.Sequential(_pool((2, 2, 2)), conv_bn_relu(c2, c3, bias=b), conv_bn_relu(c3, c3, bias=b)),
            "conv4": nn.Sequential(_pool((2, 2, 2)), conv_bn_relu(c3, c4, bias=b), conv_bn_relu(c4, c4, bias=b)),
            "conv5": nn.Sequential(_pool((2, 2, 2)), conv_bn_relu(c4, c4, bias=b), conv_bn_relu(c4, c4, bias=b)),
        }
        info = [
            FeatureInfo("conv1", c1, 1),
            FeatureInfo("conv2", c2, 2),
            FeatureInfo("conv3", c3, 4),
            FeatureInfo("conv4", c4, 8),
            FeatureInfo("conv5", c4, 16),
        ]
        super().__init__(stages, info, width)
        self.weight_init = weight_init
        init_weights(self, weight_init)
