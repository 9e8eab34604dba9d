"""Shared reduction: mean of per-keypoint values over labeled keypoints only."""

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (B, K) values where mask is True; 0 when nothing is labeled (no pull at all)."""
    # where(), not nan_to_num(): a NaN prediction at a labeled keypoint must still surface
    kept = torch.where(mask, values, torch.zeros_like(values))
    return kept.sum() / mask.sum().clamp_min(1).to(values.dtype)
