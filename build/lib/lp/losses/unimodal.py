"""Unimodal heatmaps: each predicted map should be one Gaussian bump at its own soft-argmax
location; MSE or KL between the map and that ideal map."""

from __future__ import annotations

import torch

from lp.config import UnimodalLossConfig
from lp.data.batch import ClipPredictions
from lp.data.heatmaps import compute_heatmaps
from lp.losses.heatmap_kl import kl_divergence


def unimodal_loss(
    heatmaps: torch.Tensor, xy_px: torch.Tensor, downsample: int, sigma_px: float, kind: str = "mse"
) -> torch.Tensor:
    """heatmaps (B, K, h, w) summing to 1, xy_px (B, K, 2) their soft-argmax in image pixels."""
    height, width = heatmaps.shape[-2:]
    ideal = compute_heatmaps(xy_px.detach(), (height << downsample, width << downsample), downsample, sigma_px)
    if kind == "kl":
        return kl_divergence(ideal, heatmaps.float()).mean()
    return ((heatmaps.float() - ideal) ** 2).sum(dim=(-2, -1)).mean()


def unimodal_term(cfg: UnimodalLossConfig, clips: ClipPredictions, fitted: None) -> torch.Tensor:
    return unimodal_loss(clips.outputs, clips.xy_px, clips.downsample, clips.sigma_px, cfg.kind)
