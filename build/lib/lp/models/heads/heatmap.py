"""Heatmap head: upsample stride-32 features to image/2**f, one spatial softmax per keypoint;
keypoints by a subpixel soft-argmax in a window around each map's peak."""

from __future__ import annotations

import math

import torch
from torch import nn

from lp.data.heatmaps import heatmap_to_image_px

HIDDEN_CHANNELS = 128


def _upsample_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class HeatmapHead(nn.Module):
    def __init__(self, in_channels: int, num_keypoints: int, backbone_stride: int, downsample: int, sigma_px: float):
        super().__init__()
        num_up = int(math.log2(backbone_stride)) - downsample
        layers: list[nn.Module] = []
        channels = in_channels
        if num_up > 0:  # a parameter-free first doubling keeps the head light on wide backbones
            layers.append(nn.PixelShuffle(2))
            channels //= 4
        for _ in range(num_up - 1):
            layers.append(_upsample_block(channels, HIDDEN_CHANNELS))
            channels = HIDDEN_CHANNELS
        layers.append(nn.Conv2d(channels, num_keypoints, kernel_size=1))
        self.layers = nn.Sequential(*layers)
        self.downsample = downsample
        self.window_radius = max(2, math.ceil(3 * sigma_px))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.layers(features)  # (B, K, H/2^f, W/2^f)
        batch, keypoints, height, width = logits.shape
        return torch.softmax(logits.float().flatten(2), dim=-1).view(batch, keypoints, height, width)

    def keypoints(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return compute_keypoints(heatmaps, self.downsample, self.window_radius)


def compute_keypoints(
    heatmaps: torch.Tensor, downsample: int, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, h, w) maps summing to 1 -> xy (B, K, 2) in image pixels and confidence (B, K):
    the probability mass in the (2r+1)^2 window around the peak (near 1 for one sharp peak,
    near (2r+1)^2 / (h w) for a flat map)."""
    heatmaps = heatmaps.float()
    height, width = heatmaps.shape[-2:]
    peak = heatmaps.flatten(2).argmax(dim=-1)  # (B, K)
    peak_y, peak_x = (peak // width)[..., None, None], (peak % width)[..., None, None]
    ys = torch.arange(height, device=heatmaps.device)[:, None]
    xs = torch.arange(width, device=heatmaps.device)[None, :]
    window = ((ys - peak_y).abs() <= radius) & ((xs - peak_x).abs() <= radius)  # (B, K, h, w)
    local = heatmaps * window
    mass = local.sum(dim=(-2, -1))
    weights = local / mass.clamp_min(1e-12)[..., None, None]
    # expected column and row under the window's normalised mass (a subpixel soft-argmax)
    x = (weights.sum(dim=-2) * xs[0].to(weights.dtype)).sum(dim=-1)
    y = (weights.sum(dim=-1) * ys[:, 0].to(weights.dtype)).sum(dim=-1)
    xy = torch.stack([x, y], dim=-1)  # (B, K, 2)
    return heatmap_to_image_px(xy, downsample), mass.clamp(0, 1)
