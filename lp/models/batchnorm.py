"""Batch norm for the semi-supervised step: the unlabeled clips are normalised with the batch
statistics of the labeled frames of the same step.

Why: a clip is 8-16 consecutive, nearly identical frames, so statistics of its own are far
narrower than those of a labeled batch, and a normalisation of the clips that differs from the
labeled frames' lets the network behave one way on each, the unsupervised losses shaping a
network that inference never runs. Measured on the H200 (BENCHMARKS.md, "Accuracy"): clips in
inference mode took the example's test error from 4.5 to 79 px while their own predictions became
smooth; a clip pass updating the running statistics, 13 px. Here one step's two passes are one
function: the labeled pass records each layer's batch mean and inverse deviation, the clip pass
normalises with them, and only the labeled pass updates the running statistics that inference uses.
Where the labeled frames and the clips can share one pass (single-frame heads, batch norm local
to each process), the same function is computed in one: the batch is [labeled; clips], and each
layer normalises every row with the statistics of its first (labeled) rows ("split"), which
halves the layers' kernel launches that set an eager step's time.

In eager mode both passes are autograd Functions with their gradients written out, so that a
layer costs a few fused kernels (CUDA's batch-norm primitives, which SyncBatchNorm uses too)
instead of the dozens of small operations that autograd would record for the same formulas: in
eager mode on the H200 those small operations, not the arithmetic, set the step time. Under
torch.compile the same formulas are plain operations and autograd derives their gradients: the
compiler fuses them with their neighbours, which it cannot do with the primitives (those, and the
layout copies they ask for, took 41-46 % of a compiled step's GPU time; the plain form ran the
compiled step 1.3-1.9x faster on an H200 with gradients equal to eager ones; BENCHMARKS.md).
Not plain operations inside the Functions: compiled for CUDA, those gave wrong gradients.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


def _channels(x: torch.Tensor) -> tuple[list[int], tuple[int, ...], int]:
    """The dimensions reduced per channel, the per-channel broadcast shape, values per channel."""
    dims = [0, *range(2, x.dim())]
    return dims, (1, -1) + (1,) * (x.dim() - 2), x.numel() // x.shape[1]


def _wide(t: torch.Tensor) -> torch.Tensor:
    """At least float32 (bf16/fp16 activations are normalised in float32)."""
    return t if t.dtype == torch.float64 else t.float()


def _plain_statistics(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel batch mean and 1 / sqrt(var + eps), in float32."""
    dims, _, _ = _channels(x)
    var, mean = torch.var_mean(_wide(x), dim=dims, correction=0)
    return mean, torch.rsqrt(var + eps)


def _plain_normalise(x, mean, invstd, weight, bias) -> torch.Tensor:
    """(x - mean) * invstd * weight + bias, in x's dtype."""
    _, shape, _ = _channels(x)
    scale = invstd if weight is None else invstd * weight
    shift = -mean * scale if bias is None else bias - mean * scale
    return (_wide(x) * scale.view(shape) + shift.view(shape)).to(x.dtype)


def _statistics(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.batch_norm_stats(x, eps) if x.is_cuda else _plain_statistics(x, eps)


def _normalise(x, mean, invstd, weight, bias, eps: float) -> torch.Tensor:
    if x.is_cuda:
        return torch.batch_norm_elemt(x, weight, bias, mean, invstd, eps)
    return _plain_normalise(x, mean, invstd, weight, bias)


def _reduce(grad, x, mean, invstd, weight) -> tuple[torch.Tensor, torch.Tensor]:
    """Per channel: sum of grad, and sum of grad * (x - mean), in float32."""
    if x.is_cuda:  # the fused kernels read grad in x's memory layout (as SyncBatchNorm hands it to them)
        layout = torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        grad = grad.contiguous(memory_format=layout)
        sum_dy, sum_dy_xmu, _, _ = torch.batch_norm_backward_reduce(grad, x, mean, invstd, weight, True, False, False)
        return sum_dy, sum_dy_xmu
    dims, shape, _ = _channels(x)
    grad = _wide(grad)
    return grad.sum(dims), (grad * (_wide(x) - mean.view(shape))).sum(dims)


def _parameter_grads(sum_dy, sum_dy_xmu, invstd, weight, bias, needs) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    grad_weight = (sum_dy_xmu * invstd).to(weight.dtype) if weight is not None and needs[0] else None
    grad_bias = sum_dy.to(bias.dtype) if bias is not None and needs[1] else None
    return grad_weight, grad_bias


def _output_grads(saved, grad) -> tuple:
    """From a normalisation's saved (x, weight, bias, mean, invstd) and its output gradient: the
    per-channel sums, the scale invstd * weight, and the gradients its output sends to mean and
    invstd (y = (x - mean) * invstd * w + b)."""
    x, weight, _, mean, invstd = saved
    sum_dy, sum_dy_xmu = _reduce(grad, x, mean, invstd, weight)
    scale = invstd if weight is None else invstd * weight
    w = 1.0 if weight is None else _wide(weight)
    return sum_dy, sum_dy_xmu, scale, -scale * sum_dy, w * sum_dy_xmu


def _through_statistics(mean, invstd, grad_mean, grad_invstd, count: int, shape) -> tuple[torch.Tensor, torch.Tensor]:
    """For the rows the statistics were computed from (count values per channel), what the
    gradients reaching mean and invstd add to dx: (x - mean) * slope + offset = x * slope +
    offset', as d mean / dx = 1 / n and d invstd / dx = -invstd^3 (x - mean) / n."""
    slope = -invstd.pow(3) * grad_invstd / count
    offset = grad_mean / count - mean * slope
    return slope.view(shape), offset.view(shape)


class _RecordNorm(torch.autograd.Function):
    """Training-mode batch norm that also returns the batch's mean and invstd as outputs with a
    gradient, so that the clip pass's losses reach the labeled frames' activations through them."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float):
        mean, invstd = _statistics(x, eps)
        ctx.save_for_backward(x, weight, bias, mean, invstd)
        return _normalise(x, mean, invstd, weight, bias, eps), mean, invstd

    @staticmethod
    def backward(ctx, grad, grad_mean, grad_invstd):
        x, weight, bias, mean, invstd = ctx.saved_tensors
        _, shape, count = _channels(x)
        sum_dy, sum_dy_xmu, scale, own_mean, own_invstd = _output_grads(ctx.saved_tensors, grad)
        # the statistics' gradients: from this output and from the replays that used them
        slope, offset = _through_statistics(mean, invstd, grad_mean + own_mean, grad_invstd + own_invstd, count, shape)
        grad_x = torch.addcmul(torch.addcmul(offset, x, slope), grad, scale.view(shape))
        return (grad_x.to(x.dtype), *_parameter_grads(sum_dy, sum_dy_xmu, invstd, weight, bias, ctx.needs_input_grad[1:3]), None)


class _ReplayNorm(torch.autograd.Function):
    """Normalisation with given (recorded) mean and invstd, passing gradients on to them."""

    @staticmethod
    def forward(ctx, x, mean, invstd, weight, bias, eps: float):
        ctx.save_for_backward(x, weight, bias, mean, invstd)
        return _normalise(x, mean, invstd, weight, bias, eps)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias, mean, invstd = ctx.saved_tensors
        _, shape, _ = _channels(x)
        sum_dy, sum_dy_xmu, scale, grad_mean, grad_invstd = _output_grads(ctx.saved_tensors, grad)
        grad_x = (grad * scale.view(shape)).to(x.dtype)
        return (grad_x, grad_mean, grad_invstd, *_parameter_grads(sum_dy, sum_dy_xmu, invstd, weight, bias, ctx.needs_input_grad[3:5]), None)


class _SplitNorm(torch.autograd.Function):
    """Every row of x normalised with the statistics of its first `rows` rows (the labeled
    frames): _RecordNorm on those rows and _ReplayNorm on the others, in one Function."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float, rows: int):
        mean, invstd = _statistics(x[:rows], eps)
        ctx.save_for_backward(x, weight, bias, mean, invstd)
        ctx.rows = rows
        ctx.mark_non_differentiable(mean, invstd)
        return _normalise(x, mean, invstd, weight, bias, eps), mean, invstd

    @staticmethod
    def backward(ctx, grad, _grad_mean, _grad_invstd):
        x, weight, bias, mean, invstd = ctx.saved_tensors
        rows = ctx.rows
        _, shape, count = _channels(x[:rows])
        # every row used the statistics, so the sums run over all; only the labeled rows made them
        sum_dy, sum_dy_xmu, scale, grad_mean, grad_invstd = _output_grads(ctx.saved_tensors, grad)
        slope, offset = _through_statistics(mean, invstd, grad_mean, grad_invstd, count, shape)
        grad_x = grad * scale.view(shape)
        grad_x[:rows].addcmul_(x[:rows], slope).add_(offset)
        return (grad_x.to(x.dtype), *_parameter_grads(sum_dy, sum_dy_xmu, invstd, weight, bias, ctx.needs_input_grad[1:3]),
                None, None)


def _split_plain(x, weight, bias, eps: float, rows: int):
    """_SplitNorm's function in plain operations, for the compiler (autograd derives the gradient)."""
    mean, invstd = _plain_statistics(x[:rows], eps)
    return _plain_normalise(x, mean, invstd, weight, bias), mean.detach(), invstd.detach()


def _record_plain(x, weight, bias, eps: float):
    mean, invstd = _plain_statistics(x, eps)
    return _plain_normalise(x, mean, invstd, weight, bias), mean, invstd


def _replay_plain(x, mean, invstd, weight, bias, eps: float):
    return _plain_normalise(x, mean, invstd, weight, bias)


class _SharedStatistics:
    """Mixed into a batch-norm class. `shared` is "off" (ordinary batch norm), "record" (ordinary,
    and keep this batch's mean and invstd), "replay" (normalise with the kept ones, which stay
    part of the graph; running statistics untouched) or "split" (every row normalised with the
    statistics of the first `labeled_rows`, which alone update the running statistics). Outside
    training mode: ordinary."""

    shared: Literal["off", "record", "replay", "split"] = "off"
    labeled_rows: int = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.shared == "off":
            return super().forward(x)
        if self.shared == "split":
            if self._synchronised():
                raise ValueError("split batch statistics are per process: SyncBatchNorm takes two passes (record, replay)")
            _, _, count = _channels(x[: self.labeled_rows])
            if count < 2:
                raise ValueError(f"batch norm in training needs more than 1 value per channel, got {self.labeled_rows} "
                                 f"labeled rows of input {tuple(x.shape)}")
            split = _split_plain if torch.compiler.is_compiling() else _SplitNorm.apply
            out, mean, invstd = split(x, self.weight, self.bias, self.eps, self.labeled_rows)
            if self.track_running_stats and self.running_mean is not None:
                self._update_running(mean, invstd, count)
            return out
        if self.shared == "replay":
            mean, invstd = self.recorded
            replay = _replay_plain if torch.compiler.is_compiling() else _ReplayNorm.apply
            return replay(x, mean, invstd, self.weight, self.bias, self.eps)
        # Not detached: the clips' gradients also flow through the statistics into the labeled
        # frames' activations, so that the step follows the gradient of the one function. Treated
        # as constants (as inference treats running statistics), the clips' losses keep pushing
        # activations in directions that the labeled frames' normalisation then undoes, the
        # weights drift, and the running statistics trail them (measured: 4.5 -> 130 px on the
        # example).
        if self._synchronised():  # SyncBatchNorm across processes: its own pass, this process's statistics kept
            dims, _, _ = _channels(x)
            var, mean = torch.var_mean(x.float(), dim=dims, correction=0)
            self.recorded = (mean, torch.rsqrt(var + self.eps))
            return super().forward(x)
        _, _, count = _channels(x)
        if count < 2:
            raise ValueError(f"batch norm in training needs more than 1 value per channel, got input {tuple(x.shape)}")
        record = _record_plain if torch.compiler.is_compiling() else _RecordNorm.apply
        out, mean, invstd = record(x, self.weight, self.bias, self.eps)
        self.recorded = (mean, invstd)
        if self.track_running_stats and self.running_mean is not None:
            self._update_running(mean.detach(), invstd.detach(), count)
        return out

    def _synchronised(self) -> bool:
        return (isinstance(self, nn.SyncBatchNorm) and torch.distributed.is_available()
                and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, invstd: torch.Tensor, count: int) -> None:
        """As nn.BatchNorm's training forward does: exponential (or, with momentum None, cumulative)
        averages, the variance unbiased."""
        self.num_batches_tracked.add_(1)
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        var = (invstd.pow(-2) - self.eps) * (count / (count - 1))
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(var.to(self.running_var.dtype), momentum)


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


def set_shared(norms: list[_SharedStatistics], mode: Literal["off", "record", "replay", "split"], labeled_rows: int = 0) -> None:
    """Every layer's mode; "split" also takes the number of labeled rows at the batch's start."""
    for norm in norms:
        norm.shared, norm.labeled_rows = mode, labeled_rows
