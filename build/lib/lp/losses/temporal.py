"""Temporal smoothness: per keypoint, the distance moved between consecutive frames of a clip
(original-frame pixels), minus the margin epsilon (ReLU); pairs where either frame's confidence
is below the threshold, or either position is NaN, do not count."""

from __future__ import annotations

import torch

from lp.config import TemporalLossConfig
from lp.data.batch import ClipPredictions
from lp.losses.reduce import masked_mean


def temporal_loss(
    xy: torch.Tensor, confidence: torch.Tensor, epsilon_px: float, min_confidence: float = 0.0
) -> torch.Tensor:
    """xy (..., T, K, 2) clips in time order, confidence (..., T, K) -> scalar."""
    valid = torch.isfinite(xy).all(-1) & (confidence >= min_confidence)  # (..., T, K)
    xy = torch.nan_to_num(xy)
    step_px = (xy[..., 1:, :, :] - xy[..., :-1, :, :]).norm(dim=-1)  # (..., T-1, K)
    both = valid[..., 1:, :] & valid[..., :-1, :]
    return masked_mean(torch.relu(step_px - epsilon_px), both)


def temporal_term(cfg: TemporalLossConfig, clips: ClipPredictions, fitted: None) -> torch.Tensor:
    return temporal_loss(clips.xy, clips.confidence, cfg.epsilon_px, cfg.min_confidence)
