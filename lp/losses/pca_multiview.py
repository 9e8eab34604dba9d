"""Multi-view PCA: the same body part seen in V views must be consistent with one 3-D point, so
its stacked (x, y) of all views (2V numbers) lies in a 3-dimensional subspace. The loss is each
view's distance to that subspace minus the margin epsilon (ReLU), averaged."""

from __future__ import annotations

import numpy as np
import torch

from lp.losses.pca_subspace import Subspace, fit_subspace
from lp.losses.reduce import masked_mean


def stack_views(xy, view_indices: list[list[int]]):
    """(N, K, 2) -> (N * P, 2V): for each of the P body parts, its (x, y) in every view.
    `view_indices[v][p]` is the keypoint index of body part p in view v."""
    stacked = [xy[:, list(part)] for part in zip(*view_indices)]  # P tensors of (N, V, 2)
    if isinstance(xy, torch.Tensor):
        return torch.stack(stacked, dim=1).flatten(2).flatten(0, 1)
    return np.stack(stacked, axis=1).reshape(-1, 2 * len(view_indices))


def fit_multiview_subspace(labels: np.ndarray, view_indices: list[list[int]]) -> Subspace:
    return fit_subspace(stack_views(labels, view_indices), components=3)


def pca_multiview_loss(
    xy: torch.Tensor, subspace: Subspace, view_indices: list[list[int]], epsilon_px: float
) -> torch.Tensor:
    """xy (N, K, 2) in original-frame pixels -> scalar; body parts with a NaN view do not count."""
    vectors = stack_views(xy, view_indices)  # (N * P, 2V)
    valid = torch.isfinite(vectors).all(dim=-1)
    errors = subspace.torch_reprojection_error(torch.nan_to_num(vectors))  # (N * P, V)
    return masked_mean(torch.relu(errors - epsilon_px), valid[:, None].expand_as(errors))
