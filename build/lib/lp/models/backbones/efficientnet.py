"""torchvision EfficientNets (B0-B2) without their pooling and classifier: stride 32.
torchvision is imported only when one is built (importing it costs about 2 s)."""

from __future__ import annotations

import torch
from torch import nn

from lp.models.backbones.weights import build_torchvision

_ARCHS = {  # torchvision builder name, then its ImageNet weights (enum class, member)
    "efficientnet_b0": ("efficientnet_b0", ("EfficientNet_B0_Weights", "IMAGENET1K_V1")),
    "efficientnet_b1": ("efficientnet_b1", ("EfficientNet_B1_Weights", "IMAGENET1K_V1")),
    "efficientnet_b2": ("efficientnet_b2", ("EfficientNet_B2_Weights", "IMAGENET1K_V1")),
}


class EfficientNetBackbone(nn.Module):
    stride = 32

    def __init__(self, arch: str, weights: str):
        super().__init__()
        import torchvision.models as tvm

        name, imagenet = _ARCHS[arch]
        net = build_torchvision(lambda: getattr(tvm, name)(weights=None), imagenet, weights, arch)
        self.body = net.features
        self.out_channels = net.classifier[-1].in_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # (B, C, H/32, W/32)
