"""Regression head: pooled features -> (x, y) per keypoint in image pixels."""

from __future__ import annotations

import torch
from torch import nn

from lp.data.images import rescale_pixels


class RegressionHead(nn.Module):
    def __init__(self, in_channels: int, num_keypoints: int, image_hw: tuple[int, int]):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(in_channels, 2 * num_keypoints)
        self.num_keypoints = num_keypoints
        # Outputs are fractions of the image size, so the initial guess is near the centre.
        self.register_buffer("scale", torch.tensor([image_hw[1], image_hw[0]], dtype=torch.float32), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(features).flatten(1)  # (B, C)
        fractions = self.linear(pooled).float().view(-1, self.num_keypoints, 2)
        return rescale_pixels(fractions, self.scale)  # (B, K, 2) image pixels (a 1-pixel image -> the image)

    def keypoints(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Regression has no likelihood of its own: confidence is 1 everywhere."""
        return xy, torch.ones(xy.shape[:2], device=xy.device)
