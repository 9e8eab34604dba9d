"""Heatmap KL divergence KL(target || predicted) per keypoint, averaged over labeled keypoints."""

import torch

from lp.data.batch import LabeledBatch
from lp.losses.reduce import masked_mean

EPS = 1e-10


def kl_divergence(target: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """(B, K, h, w) maps -> (B, K); 0 log 0 counts as 0."""
    return (torch.xlogy(target, target) - target * torch.log(predicted.clamp_min(EPS))).sum(dim=(-2, -1))


def heatmap_kl(heatmaps: torch.Tensor, batch: LabeledBatch) -> torch.Tensor:
    return masked_mean(kl_divergence(batch.heatmaps, heatmaps.float()), batch.labeled)
