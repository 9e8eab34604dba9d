"""Pose PCA: predicted poses should lie in the low-dimensional subspace of the training labels;
per keypoint, the distance to the subspace minus the margin epsilon (ReLU), averaged."""

from __future__ import annotations

import numpy as np
import torch

from lp.config import PcaSingleviewLossConfig
from lp.data.batch import ClipPredictions
from lp.errors import UserError
from lp.models.pca import FittedPca, Subspace, check_enough_labels, fit_subspace, margin_px
from lp.losses.reduce import masked_mean


def pca_singleview_loss(xy: torch.Tensor, subspace: Subspace, epsilon_px: float) -> torch.Tensor:
    """xy (N, K, 2) predicted poses in original-frame pixels (the subspace's space) -> scalar.
    Poses with a NaN keypoint do not count."""
    valid = torch.isfinite(xy).all(dim=(-2, -1))  # (N,)
    errors = subspace.torch_reprojection_error(torch.nan_to_num(xy).flatten(1))  # (N, K)
    return masked_mean(torch.relu(errors - epsilon_px), valid[:, None].expand_as(errors))


def fit_singleview(cfg: PcaSingleviewLossConfig, labels: np.ndarray, names: list[str]) -> FittedPca:
    """Fit on the training labels (N, K, 2) in original-frame pixels."""
    keypoints = list(cfg.keypoints) or list(range(len(names)))
    bad = [i for i in keypoints if not 0 <= i < len(names)]
    if bad:
        raise UserError(f"--losses.pca-singleview.keypoints {bad} out of range: there are {len(names)} keypoints (0..{len(names) - 1})")
    chosen = labels[:, keypoints]
    check_enough_labels(chosen, [names[i] for i in keypoints], "--losses.pca-singleview.keypoints")
    vectors = chosen.reshape(len(chosen), -1)
    subspace = fit_subspace(vectors, cfg.variance_fraction, cfg.components)
    epsilon = cfg.epsilon_px if cfg.epsilon_px is not None else margin_px(subspace, vectors)
    return FittedPca(subspace, epsilon, keypoints)


def pca_singleview_term(cfg: PcaSingleviewLossConfig, clips: ClipPredictions, fitted: FittedPca) -> torch.Tensor:
    poses = clips.xy.flatten(0, 1)[:, fitted.keypoint_index(clips.xy.device)]  # (N*T, K', 2)
    return pca_singleview_loss(poses, fitted.subspace, fitted.epsilon_px)
