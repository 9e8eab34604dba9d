"""Heads: features -> outputs (heatmaps or coordinates), and `keypoints(outputs)` -> (xy, confidence).

To add one: a new file with the module, one builder line in HEADS below, and its name in
lp.config.HeadKind; a loss for its outputs goes in lp.losses.
"""

from __future__ import annotations

from torch import nn

from lp.config import ModelConfig
from lp.models.heads.heatmap import HeatmapHead
from lp.models.heads.regression import RegressionHead

HEADS = {
    "heatmap": lambda cfg, channels, stride, k, hw: HeatmapHead(
        channels, k, stride, cfg.heatmap_downsample, cfg.heatmap_sigma_px
    ),
    "regression": lambda cfg, channels, stride, k, hw: RegressionHead(channels, k, hw),
}


def build_head(cfg: ModelConfig, in_channels: int, stride: int, num_keypoints: int, image_hw: tuple[int, int]) -> nn.Module:
    return HEADS[cfg.head](cfg, in_channels, stride, num_keypoints, image_hw)
