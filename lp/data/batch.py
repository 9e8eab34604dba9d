"""Batch types passed from the data pipeline to models and losses."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LabeledBatch:
    images: torch.Tensor
    """(B, 3, H, W) float in [0, 1], already augmented."""
    keypoints: torch.Tensor
    """(B, K, 2) pixels of the network input; NaN = unlabeled."""
    heatmaps: torch.Tensor | None = None
    """(B, K, H/2^f, W/2^f) targets summing to 1 (zeros where unlabeled); heatmap heads only."""

    @property
    def labeled(self) -> torch.Tensor:
        """(B, K) bool: which keypoints carry a label."""
        return torch.isfinite(self.keypoints).all(dim=-1)
