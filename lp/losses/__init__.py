"""Losses: one file each, a function (outputs, batch) -> scalar, registered in LOSSES.

To add one: a new file, one line in LOSSES, and (for an optional term) a config block in
lp.config.LossesConfig that LossBundle reads; LossBundle applies the weights and names the
logged terms.

The unsupervised losses (temporal.py, pca_singleview.py, pca_multiview.py, unimodal.py, with the
subspace fit in pca_subspace.py) are tested functions, not yet switched on by any config: the
unlabeled-video stream that feeds them comes with the semi-supervised issue.
"""

from __future__ import annotations

import torch

from lp.config import LossesConfig
from lp.data.batch import LabeledBatch
from lp.losses.heatmap_js import heatmap_js
from lp.losses.heatmap_kl import heatmap_kl
from lp.losses.heatmap_mse import heatmap_mse
from lp.losses.regression_mse import regression_mse

LOSSES = {
    "heatmap_mse": heatmap_mse,
    "heatmap_kl": heatmap_kl,
    "heatmap_js": heatmap_js,
    "regression_mse": regression_mse,
}


class LossBundle:
    """The weighted sum of all active terms, and each term (raw) for logging."""

    def __init__(self, cfg: LossesConfig, head: str):
        self.supervised_name = f"heatmap_{cfg.heatmap}" if head == "heatmap" else "regression_mse"
        self.supervised_weight = cfg.supervised_weight

    @property
    def needs_heatmaps(self) -> bool:
        return self.supervised_name.startswith("heatmap_")

    def __call__(self, outputs: torch.Tensor, batch: LabeledBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        supervised = LOSSES[self.supervised_name](outputs, batch)
        total = self.supervised_weight * supervised
        return total, {self.supervised_name: supervised.detach(), "total": total.detach()}
