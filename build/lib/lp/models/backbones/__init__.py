"""Backbones: images (B, 3, H, W) -> features (B, out_channels, H/stride, W/stride).

To add one: a new file with a module class, taking (arch, weights), that sets `out_channels` and
`stride`; one BackboneSpec line in BACKBONES below; and its name in lp.config.BackboneArch (a
test checks the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from lp.models.backbones.efficientnet import EfficientNetBackbone
from lp.models.backbones.resnet import ResNetBackbone


@dataclass(frozen=True)
class BackboneSpec:
    family: type[nn.Module]
    """The module class; built as family(arch, weights)."""
    arch: str
    """The architecture within the family (torchvision's name, whose weights it can load)."""

    def build(self, weights: str) -> nn.Module:
        return self.family(self.arch, weights)


BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec(ResNetBackbone, "resnet18"),
    "resnet34": BackboneSpec(ResNetBackbone, "resnet34"),
    "resnet50": BackboneSpec(ResNetBackbone, "resnet50"),
    "resnet101": BackboneSpec(ResNetBackbone, "resnet101"),
    "resnet152": BackboneSpec(ResNetBackbone, "resnet152"),
    "efficientnet_b0": BackboneSpec(EfficientNetBackbone, "efficientnet_b0"),
    "efficientnet_b1": BackboneSpec(EfficientNetBackbone, "efficientnet_b1"),
    "efficientnet_b2": BackboneSpec(EfficientNetBackbone, "efficientnet_b2"),
}


def build_backbone(arch: str, weights: str) -> nn.Module:
    return BACKBONES[arch].build(weights)
