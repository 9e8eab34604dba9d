"""Regression MSE: squared pixel distance per keypoint, averaged over labeled keypoints."""

import torch

from lp.data.batch import LabeledBatch
from lp.losses.reduce import masked_mean


def regression_mse(xy: torch.Tensor, batch: LabeledBatch) -> torch.Tensor:
    # NaN labels are zeroed before the arithmetic: masked NaNs would still poison the gradient
    targets = torch.nan_to_num(batch.keypoints)
    per_keypoint = ((xy.float() - targets) ** 2).sum(dim=-1)  # (B, K)
    return masked_mean(per_keypoint, batch.labeled)
