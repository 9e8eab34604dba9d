"""Batch norm for the semi-supervised step: the unlabeled clips are normalised with the batch
statistics of the labeled frames of the same step.

Why: a clip is 8-16 consecutive, nearly identical frames, so statistics of its own are far
narrower than those of a labeled batch, and a normalisation of the clips that differs from the
labeled frames' lets the network behave one way on each, the unsupervised losses shaping a
network that inference never runs. Measured on the H200 (BENCHMARKS.md, "Accuracy"): clips in
inference mode took the example's test error from 4.5 to 79 px while their own predictions became
smooth; a clip pass updating the running statistics, 13 px. Here one step's two passes are one
function: the labeled pass records each layer's batch mean and variance, the clip pass normalises
with them, and only the labeled pass updates the running statistics that inference uses.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


class _SharedStatistics:
    """Mixed into a batch-norm class. `shared` is "off" (ordinary batch norm), "record" (ordinary,
    and keep this batch's mean and variance) or "replay" (normalise with the kept ones, which stay
    part of the graph; running statistics untouched). Outside training mode: ordinary."""

    shared: Literal["off", "record", "replay"] = "off"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.shared == "off":
            return super().forward(x)
        shape = (1, -1) + (1,) * (x.dim() - 2)  # per channel
        if self.shared == "replay":
            mean, var = self.recorded
            scale = torch.rsqrt(var + self.eps) * self.weight
            return (x.float() * scale.view(shape) + (self.bias - mean * scale).view(shape)).to(x.dtype)
        # Not detached: the clips' gradients also flow through the statistics into the labeled
        # frames' activations, so that the step follows the gradient of the one function. Treated
        # as constants (as inference treats running statistics), the clips' losses keep pushing
        # activations in directions that the labeled frames' normalisation then undoes, the
        # weights drift, and the running statistics trail them (measured: 4.5 -> 130 px on the
        # example). SyncBatchNorm keeps this process's statistics: the clips are this process's too.
        var, mean = torch.var_mean(x.float(), dim=[0, *range(2, x.dim())], correction=0)
        self.recorded = (mean, var)
        return super().forward(x)


class SharedStatisticsBatchNorm2d(_SharedStatistics, nn.BatchNorm2d):
    pass


class SharedStatisticsSyncBatchNorm(_SharedStatistics, nn.SyncBatchNorm):
    pass


SHARED = {nn.BatchNorm2d: SharedStatisticsBatchNorm2d, nn.SyncBatchNorm: SharedStatisticsSyncBatchNorm}


def share_batch_statistics(module: nn.Module) -> list[_SharedStatistics]:
    """Turn, in place, every BatchNorm2d / SyncBatchNorm under `module` into its shared-statistics
    version and return them in order. The subclasses add only a behaviour, so switching the class
    keeps each layer's parameters, buffers and state-dict keys as they are."""
    replaced = []
    for layer in module.modules():
        shared_class = SHARED.get(type(layer))
        if shared_class is not None:
            layer.__class__ = shared_class
            replaced.append(layer)
    return replaced


def set_shared(norms: list[_SharedStatistics], mode: Literal["off", "record", "replay"]) -> None:
    for norm in norms:
        norm.shared = mode
