"""torchvision EfficientNets (B0-B2) without their pooling and classifier: stride 32."""

from __future__ import annotations

import torch
import torchvision.models as tvm
from torch import nn

from lp.models.backbones.weights import build_torchvision

_ARCHS = {
    "efficientnet_b0": (tvm.efficientnet_b0, tvm.EfficientNet_B0_Weights.IMAGENET1K_V1),
    "efficientnet_b1": (tvm.efficientnet_b1, tvm.EfficientNet_B1_Weights.IMAGENET1K_V1),
    "efficientnet_b2": (tvm.efficientnet_b2, tvm.EfficientNet_B2_Weights.IMAGENET1K_V1),
}


class EfficientNetBackbone(nn.Module):
    stride = 32

    def __init__(self, arch: str, weights: str):
        super().__init__()
        builder, imagenet = _ARCHS[arch]
        net = build_torchvision(builder, imagenet, weights, arch)
        self.body = net.features
        self.out_channels = net.classifier[-1].in_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # (B, C, H/32, W/32)
