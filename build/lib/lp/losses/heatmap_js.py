"""Heatmap Jensen-Shannon divergence per keypoint (natural log), averaged over labeled keypoints."""

import torch

from lp.data.batch import LabeledBatch
from lp.losses.heatmap_kl import kl_divergence
from lp.losses.reduce import masked_mean


def heatmap_js(heatmaps: torch.Tensor, batch: LabeledBatch) -> torch.Tensor:
    predicted = heatmaps.float()
    middle = (predicted + batch.heatmaps) / 2
    per_keypoint = 0.5 * kl_divergence(batch.heatmaps, middle) + 0.5 * kl_divergence(predicted, middle)
    return masked_mean(per_keypoint, batch.labeled)
