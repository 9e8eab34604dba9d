"""ResNets without their pooling and classifier: stride 32.

The modules carry torchvision's names (conv1, bn1, layer1..layer4, downsample), so torchvision's
ImageNet weights and any torchvision ResNet state dict load as they are. They are defined here
rather than imported because importing torchvision.models also imports torch._dynamo, about
2 s of every predict.py start; torchvision is imported only to fetch ImageNet weights.
"""

from __future__ import annotations

import torch
from torch import nn

from lp.models.backbones.weights import build_torchvision


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(in_channels, channels, stride), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = _conv3x3(channels, channels), nn.BatchNorm2d(channels)
        self.relu, self.downsample = nn.ReLU(inplace=True), downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(in_channels, channels, 1, bias=False), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = _conv3x3(channels, channels, stride), nn.BatchNorm2d(channels)  # stride here (v1.5)
        self.conv3 = nn.Conv2d(channels, channels * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels * 4)
        self.relu, self.downsample = nn.ReLU(inplace=True), downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + shortcut)


class ResNet(nn.Module):
    """The ImageNet ResNet, laid out and initialised as torchvision's."""

    def __init__(self, block: type, depths: tuple[int, ...]):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels_in = 64
        for i, (depth, channels) in enumerate(zip(depths, (64, 128, 256, 512))):
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or channels_in != channels * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(channels_in, channels * block.expansion, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(channels * block.expansion),
                )
            blocks = [block(channels_in, channels, stride, downsample)]
            channels_in = channels * block.expansion
            blocks += [block(channels_in, channels, 1, None) for _ in range(depth - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(channels_in, 1000)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")


_ARCHS = {  # architecture, then torchvision's ImageNet weights (enum class, member)
    "resnet18": ((BasicBlock, (2, 2, 2, 2)), ("ResNet18_Weights", "IMAGENET1K_V1")),
    "resnet34": ((BasicBlock, (3, 4, 6, 3)), ("ResNet34_Weights", "IMAGENET1K_V1")),
    "resnet50": ((Bottleneck, (3, 4, 6, 3)), ("ResNet50_Weights", "IMAGENET1K_V2")),
    "resnet101": ((Bottleneck, (3, 4, 23, 3)), ("ResNet101_Weights", "IMAGENET1K_V2")),
    "resnet152": ((Bottleneck, (3, 8, 36, 3)), ("ResNet152_Weights", "IMAGENET1K_V2")),
}


class ResNetBackbone(nn.Module):
    stride = 32

    def __init__(self, arch: str, weights: str):
        super().__init__()
        (block, depths), imagenet = _ARCHS[arch]
        net = build_torchvision(lambda: ResNet(block, depths), imagenet, weights, arch)
        self.body = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )
        self.out_channels = net.fc.in_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)  # (B, C, H/32, W/32)
