"""torchvision ResNets without their pooling and classifier: stride 32."""

from __future__ import annotations

import torch
import torchvision.models as tvm
from torch import nn

from lp.models.backbones.weights import build_torchvision

_ARCHS = {
    "resnet18": (tvm.resnet18, tvm.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (tvm.resnet34, tvm.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (tvm.resnet50, tvm.ResNet50_Weights.IMAGENET1K_V2),
    "resnet101": (tvm.resnet101, tvm.ResNet101_Weights.IMAGENET1K_V2),
    "resnet152": (tvm.resnet152, tvm.ResNet152_Weights.IMAGENET1K_V2),
}


class ResNetBackbone(nn.Module):
    stride = 32

    def __init__(self, arch: str, weights: str):
        super().__init__()
        builder, imagenet = _ARCHS[arch]
        net = build_torchvision(builder, imagenet, weights, arch)
        self.body = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )
        self.out_channels = net.fc.in_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # (B, C, H/32, W/32)
