"""Context head: the heatmap head of frame t sees the backbone features of frames t-2..t+2.

Each frame's features are reduced (1x1 convolution), the five reduced maps are stacked and mixed
(3x3 convolution), and the mix, projected back to the backbone's channels, is added to frame t's
own features before the ordinary heatmap head. The projection starts at zero, so an untrained
context head is exactly the single-frame head; training decides how much the neighbours count.
A frame whose five rows are all itself (a labeled frame without neighbours) is predicted by the
single-frame path alone: a frame repeated five times is not context, and training the context
weights on it would teach them a stillness that real neighbours never show (measured: on the
bundled example, whose labeled frames have no neighbours, that made test error worse).
Neighbours are rows of the same batch, named by a (targets, 5) index: each frame's features are
computed once however many targets use them.
"""

from __future__ import annotations

import torch
from torch import nn

from lp.data.context import CENTRE, CONTEXT_OFFSETS
from lp.models.heads.heatmap import HeatmapHead

REDUCED_CHANNELS = 128


class HeatmapContextHead(nn.Module):
    context_frames = len(CONTEXT_OFFSETS)

    def __init__(self, in_channels: int, num_keypoints: int, backbone_stride: int, downsample: int, sigma_px: float):
        super().__init__()
        self.single = HeatmapHead(in_channels, num_keypoints, backbone_stride, downsample, sigma_px)  # first: same init as `heatmap`
        self.reduce = nn.Sequential(
            nn.Conv2d(in_channels, REDUCED_CHANNELS, kernel_size=1, bias=False),
            nn.BatchNorm2d(REDUCED_CHANNELS),
            nn.ReLU(inplace=True),
        )
        self.mix = nn.Sequential(
            nn.Conv2d(self.context_frames * REDUCED_CHANNELS, REDUCED_CHANNELS, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(REDUCED_CHANNELS),
            nn.ReLU(inplace=True),
        )
        self.project = nn.Conv2d(REDUCED_CHANNELS, in_channels, kernel_size=1)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, features: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """features (N, C, h, w) of N frames; context (M, 5) rows of each target's frames t-2..t+2
        (None: every frame is its own target and its own neighbours) -> (M, K, h', w') heatmaps."""
        if context is None:
            context = torch.arange(len(features), device=features.device)[:, None].expand(-1, self.context_frames)
        reduced = self.reduce(features)[context]  # (M, 5, R, h, w)
        mixed = self.mix(reduced.flatten(1, 2))
        has_neighbours = (context != context[:, CENTRE, None]).any(1).to(features.dtype)[:, None, None, None]
        return self.single(features[context[:, CENTRE]] + self.project(mixed) * has_neighbours)

    def keypoints(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.single.keypoints(heatmaps)
