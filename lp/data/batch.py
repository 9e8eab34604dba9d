"""Batch types passed from the data pipeline to models and losses."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LabeledBatch:
    images: torch.Tensor
    """(B, 3, H, W) float in [0, 1], already augmented; context head: (B * 5, 3, H, W), each
    frame's t-2..t+2 in turn."""
    keypoints: torch.Tensor
    """(B, K, 2) pixels of the network input; NaN = unlabeled."""
    heatmaps: torch.Tensor | None = None
    """(B, K, H/2^f, W/2^f) targets summing to 1 (zeros where unlabeled); heatmap heads only."""
    context: torch.Tensor | None = None
    """(B, 5) rows of `images` that each labeled frame's context head sees; None: single frames."""

    @property
    def labeled(self) -> torch.Tensor:
        """(B, K) bool: which keypoints carry a label."""
        return torch.isfinite(self.keypoints).all(dim=-1)


@dataclass
class ClipBatch:
    """Unlabeled clips of one step, on the device, ready for the network."""

    images: torch.Tensor
    """(N*T, 3, H, W) float in [0, 1]: N clips of T consecutive frames, resized (and augmented)."""
    sizes: torch.Tensor
    """(N*T, 2) original (width, height) of each frame."""
    num_clips: int
    inverse: torch.Tensor | None = None
    """(N*T, 2, 3) map from augmented to resized pixels; None without augmentation."""


@dataclass
class ClipPredictions:
    """The network's predictions on a ClipBatch, as the unsupervised losses take them."""

    outputs: torch.Tensor
    """(N*T, ...) raw head outputs (heatmaps (N*T, K, h, w) for the heatmap head)."""
    xy_px: torch.Tensor
    """(N*T, K, 2) in network-input pixels of the (augmented) frames."""
    xy: torch.Tensor
    """(N, T, K, 2) in original-frame pixels."""
    confidence: torch.Tensor
    """(N, T, K) in [0, 1]."""
    downsample: int = 0
    """Heatmap side = image side / 2**downsample (heatmap head)."""
    sigma_px: float = 1.0
    """Gaussian width of the heatmap targets, in heatmap pixels."""
