"""Multi-view PCA: the same body part seen in V views must be consistent with one 3-D point, so
its stacked (x, y) of all views (2V numbers) lies in a 3-dimensional subspace. The loss is each
view's distance to that subspace minus the margin epsilon (ReLU), averaged."""

from __future__ import annotations

import numpy as np
import torch

from lp.config import PcaMultiviewLossConfig
from lp.data.batch import ClipPredictions
from lp.errors import UserError
from lp.models.pca import FittedPca, Subspace, check_enough_labels, fit_subspace, margin_px, parts_order, stack_views
from lp.losses.reduce import masked_mean


def fit_multiview_subspace(labels: np.ndarray, view_indices: list[list[int]]) -> Subspace:
    return fit_subspace(stack_views(labels, view_indices), components=3)


def pca_multiview_loss(
    xy: torch.Tensor, subspace: Subspace, view_indices: list[list[int]], epsilon_px: float,
    index: torch.Tensor | None = None,
) -> torch.Tensor:
    """xy (N, K, 2) in original-frame pixels -> scalar; body parts with a NaN view do not count."""
    vectors = stack_views(xy, view_indices, index)  # (N * P, 2V)
    valid = torch.isfinite(vectors).all(dim=-1)
    errors = subspace.torch_reprojection_error(torch.nan_to_num(vectors))  # (N * P, V)
    return masked_mean(torch.relu(errors - epsilon_px), valid[:, None].expand_as(errors))


def fit_multiview(cfg: PcaMultiviewLossConfig, labels: np.ndarray, names: list[str]) -> FittedPca:
    """Fit on the training labels (N, K, 2) in original-frame pixels."""
    views = [list(view) for view in cfg.views]
    if len(views) < 2:
        raise UserError("--losses.pca-multiview.views needs keypoint indices for at least 2 views, e.g. ((0, 1), (8, 9))")
    flat = [i for view in views for i in view]
    bad = [i for i in flat if not 0 <= i < len(names)]
    if bad:
        raise UserError(f"--losses.pca-multiview.views: indices {bad} out of range: there are {len(names)} keypoints (0..{len(names) - 1})")
    check_enough_labels(labels[:, flat], [names[i] for i in flat], "--losses.pca-multiview.views", min_frames=2 * len(views))
    vectors = stack_views(labels, views)
    subspace = fit_subspace(vectors, components=3)
    epsilon = cfg.epsilon_px if cfg.epsilon_px is not None else margin_px(subspace, vectors)
    return FittedPca(subspace, epsilon, parts_order(views), views)


def pca_multiview_term(cfg: PcaMultiviewLossConfig, clips: ClipPredictions, fitted: FittedPca) -> torch.Tensor:
    xy = clips.xy.flatten(0, 1)
    return pca_multiview_loss(xy, fitted.subspace, fitted.views, fitted.epsilon_px, fitted.keypoint_index(xy.device))
