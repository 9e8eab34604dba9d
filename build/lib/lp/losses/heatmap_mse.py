"""Heatmap MSE: per keypoint, the sum over pixels of squared differences between the predicted
and target maps (both sum to 1); averaged over labeled keypoints."""

import torch

from lp.data.batch import LabeledBatch
from lp.losses.reduce import masked_mean


def heatmap_mse(heatmaps: torch.Tensor, batch: LabeledBatch) -> torch.Tensor:
    per_keypoint = ((heatmaps.float() - batch.heatmaps) ** 2).sum(dim=(-2, -1))  # (B, K)
    return masked_mean(per_keypoint, batch.labeled)
