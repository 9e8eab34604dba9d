"""Pixel error of predictions against labels, and summaries per split."""

from __future__ import annotations

import numpy as np


def compute_pixel_error(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, K, 2) predictions and labels -> (N, K) Euclidean distance; NaN where unlabeled."""
    return np.sqrt(((predicted - labels) ** 2).sum(axis=-1))


def summarize_pixel_error(errors: np.ndarray, split_of_frame: list[str]) -> dict[str, dict[str, float]]:
    """Mean and median pixel error over labeled keypoints of each split present."""
    summary = {}
    splits = np.array(split_of_frame)
    for name in ("train", "val", "test", "unused"):
        values = errors[splits == name]
        values = values[np.isfinite(values)]
        if values.size:
            summary[name] = {"mean": float(values.mean()), "median": float(np.median(values)), "count": int(values.size)}
    return summary
