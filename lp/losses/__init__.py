"""Losses: one file each, registered below; LossBundle is the one place that weights terms.

Supervised losses are functions (outputs, batch) -> scalar in LOSSES. To add an unsupervised
loss: a file with `<name>_term(cfg_block, clips, fitted) -> scalar` (and, if it learns from the
training labels, a `fit_<name>(cfg_block, labels, names)`), one UnsupervisedLoss line in
UNSUPERVISED, and a config block of the same name in lp.config.LossesConfig (a test checks that
the names agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lp.config import LossesConfig, ModelConfig
from lp.data.batch import ClipPredictions, LabeledBatch
from lp.errors import UserError
from lp.losses.heatmap_js import heatmap_js
from lp.losses.heatmap_kl import heatmap_kl
from lp.losses.heatmap_mse import heatmap_mse
from lp.losses.pca_multiview import fit_multiview, pca_multiview_term
from lp.losses.pca_singleview import fit_singleview, pca_singleview_term
from lp.losses.regression_mse import regression_mse
from lp.losses.temporal import temporal_term
from lp.losses.unimodal import unimodal_term

LOSSES = {
    "heatmap_mse": heatmap_mse,
    "heatmap_kl": heatmap_kl,
    "heatmap_js": heatmap_js,
    "regression_mse": regression_mse,
}


@dataclass(frozen=True)
class UnsupervisedLoss:
    term: Callable
    """(cfg_block, clips: ClipPredictions, fitted or None) -> scalar tensor."""
    fit: Callable | None = None
    """(cfg_block, labels (N, K, 2) original pixels, keypoint names) -> what term needs, fitted
    once on the training labels (e.g. a FittedPca); None: nothing to fit."""


UNSUPERVISED: dict[str, UnsupervisedLoss] = {
    "temporal": UnsupervisedLoss(temporal_term),
    "pca_singleview": UnsupervisedLoss(pca_singleview_term, fit_singleview),
    "pca_multiview": UnsupervisedLoss(pca_multiview_term, fit_multiview),
    "unimodal": UnsupervisedLoss(unimodal_term),
}


def unsupervised_ramp(step: int, start_steps: int, end_steps: int) -> float:
    """Weight multiplier of the unsupervised losses: 0 before start, linear to 1 at end."""
    if step < start_steps:
        return 0.0
    if step >= end_steps:
        return 1.0
    return (step - start_steps) / max(1, end_steps - start_steps)


def fit_unsupervised(cfg: LossesConfig, labels: np.ndarray, names: list[str]) -> dict:
    """Everything the enabled unsupervised losses learn from the training labels (N, K, 2),
    original-frame pixels; computed once (on the main process) and shared."""
    losses = {name: (UNSUPERVISED[name], block) for name, block in cfg.unsupervised.items()}
    return {name: loss.fit(block, labels, names) for name, (loss, block) in losses.items() if loss.fit is not None}


class LossBundle:
    """The weighted sum of all active terms, and each term (raw and weighted) for logging."""

    def __init__(self, cfg: LossesConfig, model_cfg: ModelConfig, fitted: dict | None = None):
        head = model_cfg.head
        heatmaps = head.startswith("heatmap")
        self.supervised_name = f"heatmap_{cfg.heatmap}" if heatmaps else "regression_mse"
        self.supervised_weight = cfg.supervised_weight
        self.unsupervised = cfg.unsupervised
        if "unimodal" in self.unsupervised and not heatmaps:
            raise UserError("--losses.unimodal.enabled needs a heatmap head: --model.head heatmap or heatmap_context")
        self.fitted = fitted or {}
        self.ramp = (cfg.unsupervised_start_steps, cfg.unsupervised_full_steps)

    def to(self, device: torch.device) -> LossBundle:
        """Fitted subspaces' tensors made on the device up front (see FittedPca.to)."""
        for fit in self.fitted.values():
            fit.to(device)
        return self

    @property
    def needs_heatmaps(self) -> bool:
        return self.supervised_name.startswith("heatmap_")

    @property
    def needs_clips(self) -> bool:
        return bool(self.unsupervised)

    def __call__(
        self, outputs: torch.Tensor, batch: LabeledBatch, clips: ClipPredictions | None = None, step: int = 0
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.combine(self.raw_terms(outputs, batch, clips), self.ramp_at(step))

    def ramp_at(self, step: int) -> float:
        """The unsupervised weights' multiplier at `step` (the warm-up ramp)."""
        return unsupervised_ramp(step, *self.ramp)

    def raw_terms(
        self, outputs: torch.Tensor, batch: LabeledBatch, clips: ClipPredictions | None = None
    ) -> dict[str, torch.Tensor]:
        """Each active term, unweighted. No step-dependent numbers in here, so that the loop can
        compile it together with the network into one graph."""
        terms = {self.supervised_name: LOSSES[self.supervised_name](outputs, batch)}
        if clips is not None:
            for name, block in self.unsupervised.items():
                terms[name] = UNSUPERVISED[name].term(block, clips, self.fitted.get(name))
        return terms

    def combine(
        self, raw: dict[str, torch.Tensor], ramp: float | torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Weights and the warm-up ramp's multiplier (ramp_at; a device scalar in a CUDA graph)
        -> (total, every term raw and weighted, detached)."""
        supervised = raw[self.supervised_name]
        total = self.supervised_weight * supervised
        terms = {self.supervised_name: supervised.detach()}
        if len(raw) > 1:
            for name, block in self.unsupervised.items():
                weighted = (ramp * block.weight) * raw[name]
                total = total + weighted
                terms[name], terms[f"{name}_weighted"] = raw[name].detach(), weighted.detach()
        terms["total"] = total.detach()
        return total, terms
