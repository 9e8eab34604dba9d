"""Regression MSE: squared pixel distance per keypoint, averaged over labeled keypoints."""

import torch

from lp.data.batch import LabeledBatch
from lp.losses.reduce import masked_mean


def regression_mse(xy: torch.Tensor, batch: LabeledBatch) -> torch.Tensor:
    per_keypoint = ((xy.float() - batch.keypoints) ** 2).sum(dim=-1)  # (B, K)
    return masked_mean(per_keypoint, batch.labeled)
