"""Backbones: images (B, 3, H, W) -> features (B, out_channels, H/stride, W/stride).

To add one: a new file with a module class that sets `out_channels` and `stride`, one line in
BACKBONES below, and its name in lp.config.BackboneArch (a test checks the two agree).
"""

from __future__ import annotations

from functools import partial

from torch import nn

from lp.models.backbones.efficientnet import EfficientNetBackbone
from lp.models.backbones.resnet import ResNetBackbone

BACKBONES = {
    "resnet18": partial(ResNetBackbone, "resnet18"),
    "resnet34": partial(ResNetBackbone, "resnet34"),
    "resnet50": partial(ResNetBackbone, "resnet50"),
    "resnet101": partial(ResNetBackbone, "resnet101"),
    "resnet152": partial(ResNetBackbone, "resnet152"),
    "efficientnet_b0": partial(EfficientNetBackbone, "efficientnet_b0"),
    "efficientnet_b1": partial(EfficientNetBackbone, "efficientnet_b1"),
    "efficientnet_b2": partial(EfficientNetBackbone, "efficientnet_b2"),
}


def build_backbone(arch: str, weights: str) -> nn.Module:
    return BACKBONES[arch](weights)
