"""Heads: features -> outputs (heatmaps or coordinates), and `keypoints(outputs)` -> (xy, confidence).
A head with a `context_frames` attribute above 1 also takes `context`, the (targets, frames) rows
of the batch that each target frame sees (lp.models.heads.context).

To add one: a new file with the module, one HeadSpec line in HEADS below, and its name in
lp.config.HeadKind (a test checks that the two agree); a loss for its outputs goes in lp.losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from lp.config import ModelConfig
from lp.models.heads.context import HeatmapContextHead
from lp.models.heads.heatmap import HeatmapHead
from lp.models.heads.regression import RegressionHead


@dataclass(frozen=True)
class HeadSpec:
    build: Callable[..., nn.Module]
    """(cfg: ModelConfig, *, in_channels, stride, num_keypoints, image_hw) -> the head."""
    context_frames: int = 1
    """Frames the head sees per predicted frame (its module's `context_frames`)."""


def _heatmap(cfg: ModelConfig, *, in_channels: int, stride: int, num_keypoints: int, image_hw) -> nn.Module:
    return HeatmapHead(in_channels, num_keypoints, stride, cfg.heatmap_downsample, cfg.heatmap_sigma_px)


def _heatmap_context(cfg: ModelConfig, *, in_channels: int, stride: int, num_keypoints: int, image_hw) -> nn.Module:
    return HeatmapContextHead(in_channels, num_keypoints, stride, cfg.heatmap_downsample, cfg.heatmap_sigma_px)


def _regression(cfg: ModelConfig, *, in_channels: int, stride: int, num_keypoints: int, image_hw) -> nn.Module:
    return RegressionHead(in_channels, num_keypoints, image_hw)


HEADS: dict[str, HeadSpec] = {
    "heatmap": HeadSpec(_heatmap),
    "heatmap_context": HeadSpec(_heatmap_context, context_frames=HeatmapContextHead.context_frames),
    "regression": HeadSpec(_regression),
}


def build_head(cfg: ModelConfig, in_channels: int, stride: int, num_keypoints: int, image_hw: tuple[int, int]) -> nn.Module:
    return HEADS[cfg.head].build(cfg, in_channels=in_channels, stride=stride, num_keypoints=num_keypoints, image_hw=image_hw)
