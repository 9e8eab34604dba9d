"""Shared reduction: mean of per-keypoint values over labeled keypoints only."""

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (B, K) values where mask is True; 0 when nothing is labeled (no pull at all)."""
    mask = mask.to(values.dtype)
    return (torch.nan_to_num(values) * mask).sum() / mask.sum().clamp_min(1)
