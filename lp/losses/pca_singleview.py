"""Pose PCA: predicted poses should lie in the low-dimensional subspace of the training labels;
per keypoint, the distance to the subspace minus the margin epsilon (ReLU), averaged."""

from __future__ import annotations

import torch

from lp.losses.pca_subspace import Subspace
from lp.losses.reduce import masked_mean


def pca_singleview_loss(xy: torch.Tensor, subspace: Subspace, epsilon_px: float) -> torch.Tensor:
    """xy (N, K, 2) predicted poses in original-frame pixels (the subspace's space) -> scalar.
    Poses with a NaN keypoint do not count."""
    valid = torch.isfinite(xy).all(dim=(-2, -1))  # (N,)
    errors = subspace.torch_reprojection_error(torch.nan_to_num(xy).flatten(1))  # (N, K)
    return masked_mean(torch.relu(errors - epsilon_px), valid[:, None].expand_as(errors))
