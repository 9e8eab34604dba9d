"""Drawing labeled and predicted keypoints on one frame."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.utils import draw_keypoints

LABEL_COLOR = (0, 255, 0)
PREDICTION_COLOR = (255, 0, 255)


def draw_labels_and_predictions(image: torch.Tensor, labels: np.ndarray, predictions: np.ndarray) -> torch.Tensor:
    """(3, H, W) uint8 with labels as green and predictions as magenta dots."""
    for points, color in ((labels, LABEL_COLOR), (predictions, PREDICTION_COLOR)):
        finite = points[np.isfinite(points).all(axis=-1)]
        if len(finite):
            image = draw_keypoints(image, torch.from_numpy(finite).float()[None], colors=color, radius=2)
    return image
