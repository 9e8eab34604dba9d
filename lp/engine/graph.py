"""A whole training step as CUDA graphs: the labeled batch made on the device, the network and
every loss term, backward and the optimizer update, replayed with one launch per step (two, and
the gradient all-reduce between them, with several processes).

Compiled steps launched piece by piece pay host work on every step: the graph launches of each
compiled piece, the autograd engine handing over each parameter's gradient, DDP's hooks, the
optimizer's Python. That kept a one-GPU step at 16 + 16 frames waiting on the host about half of
its time. Here that work happens once, while the graphs are captured; each step afterwards
copies its inputs (the batch's frame indices and augmentation numbers, the clips, the learning
rate and the warm-up ramp) into the graphs' fixed tensors and replays them.

Several processes: the network is called directly, not through DDP, and the step is cut in two
graphs around one all-reduce of every gradient at once (a flat buffer), so that the collective
stays outside the graphs: `forward` ends by copying the gradients into the buffer; the
all-reduce sums it over the processes; `update` divides it by their number, copies it back into
the gradients and runs the optimizer. Every process then holds the same gradients and takes the
same update, as with DDP.

Used for compiled runs (`--train.compile True`) without gradient accumulation, fp16 loss scaling
or SyncBatchNorm. Steps with a frozen backbone, and the first WARMUP_STEPS after it, run the
same work launched piece by piece (eager)."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch
import torch.distributed as dist
from torch.profiler import record_function

from lp.data.augment import to_device
from lp.data.batch import ClipBatch
from lp.engine.schedule import set_learning_rate

WARMUP_STEPS = 2
"""Eager steps on a side stream before the capture: torch.compile compiles the pieces there,
and autograd and the optimizer make their state, none of which may happen while capturing."""


class StepGraph:
    """The steps of a Run (lp.engine.loop) once its backbone is trainable, as captured graphs."""

    def __init__(self, world: int, split: bool | None = None):
        self.world = world
        self.split = world > 1 if split is None else split
        """Two graphs around a flat gradient buffer (needed for the all-reduce with several
        processes; on one, a test of that structure)."""
        self.forward: torch.cuda.CUDAGraph | None = None
        self.update: torch.cuda.CUDAGraph | None = None
        self.eager_steps = 0
        self.side: torch.cuda.Stream | None = None
        self.flat: torch.Tensor | None = None
        self.views: list[torch.Tensor] = []
        self.packed: torch.Tensor | None = None
        self.clips: ClipBatch | None = None
        self.lr: torch.Tensor | None = None
        self.ramp: torch.Tensor | None = None
        self.terms: dict[str, torch.Tensor] = {}

    def step(self, run, step: int, lr: float, trainable: bool) -> dict[str, torch.Tensor]:
        """One optimizer step at `step`; with the graphs, the terms returned are their own
        tensors, overwritten by the next replay."""
        with record_function("stage: labeled batch"):
            packed = run.host_batch(step)
        with record_function("stage: clips"):
            clips = run.stream.next(step) if run.stream is not None else None
        on_gpu = run.accelerator.device.type == "cuda"
        if not trainable or self.eager_steps < WARMUP_STEPS or not on_gpu:
            self.eager_steps += trainable
            return self._eager(run, step, lr, trainable, packed, clips)
        with record_function("stage: inputs to the graph"):
            if self.forward is None:
                self._capture(run, packed, clips)
            else:
                self.packed.copy_(torch.from_numpy(packed).pin_memory(), non_blocking=True)
                if clips is not None:
                    self.clips.images.copy_(clips.images)
                    self.clips.sizes.copy_(clips.sizes)
                    if clips.inverse is not None:
                        self.clips.inverse.copy_(clips.inverse)
            self.lr.fill_(lr)
            self.ramp.fill_(run.losses.ramp_at(step))
        with record_function("stage: graph replay"):
            self.forward.replay()
            if self.split:
                self._all_reduce()
                self.update.replay()
        return self.terms

    def _eager(self, run, step: int, lr: float, trainable: bool, packed: np.ndarray, clips: ClipBatch | None):
        """The captured work launched piece by piece (on a side stream on a GPU, as a capture
        needs of the steps before it)."""
        set_learning_rate(run.optimizer, lr, trainable)
        device = run.accelerator.device
        current = torch.cuda.current_stream(device) if device.type == "cuda" else None
        if current is not None:
            self.side = self.side or torch.cuda.Stream(device)
            self.side.wait_stream(current)
        with torch.cuda.stream(self.side) if current is not None else nullcontext():
            terms = self._forward_backward(run, to_device(packed, device), clips, run.losses.ramp_at(step))
            if self.split:
                self._all_reduce()
            self._update(run)
            run.optimizer.zero_grad(set_to_none=True)
        if current is not None:
            current.wait_stream(self.side)
        return terms

    def _forward_backward(self, run, packed: torch.Tensor, clips: ClipBatch | None, ramp) -> dict[str, torch.Tensor]:
        batch = run.device_batch(packed)
        loss, terms = run.losses.combine(run.forward_terms(batch, clips), ramp)
        run.accelerator.backward(loss)
        if self.split:
            params = self._params(run)
            if self.flat is None:
                unused = [name for name, p in run.network.named_parameters() if p.requires_grad and p.grad is None]
                if unused:  # (DDP would stop on them too)
                    raise RuntimeError(f"parameters without a gradient after backward: {', '.join(unused[:5])}")
                self.flat = torch.zeros(sum(p.numel() for p in params), device=params[0].device)
                self.views = [view.view(p.shape) for view, p in zip(self.flat.split([p.numel() for p in params]), params)]
            torch._foreach_copy_(self.views, [p.grad for p in params])
        return terms

    def _all_reduce(self) -> None:
        if self.world > 1:
            dist.all_reduce(self.flat)

    def _update(self, run) -> None:
        if self.split:
            self.flat.div_(self.world)
            torch._foreach_copy_([p.grad for p in self._params(run)], self.views)
        run.optimizer.step()

    @staticmethod
    def _params(run) -> list[torch.Tensor]:
        return [p for group in run.optimizer.param_groups for p in group["params"]]

    def _capture(self, run, packed: np.ndarray, clips: ClipBatch | None) -> None:
        """Fixed input tensors (holding this step's inputs), then the step captured: nothing of
        it runs until the first replay."""
        device = run.accelerator.device
        self.packed = to_device(packed, device)
        if clips is not None:
            inverse = None if clips.inverse is None else clips.inverse.clone()
            self.clips = ClipBatch(clips.images.clone(), clips.sizes.clone(), clips.num_clips, inverse)
        self.lr = torch.zeros((), device=device)
        self.ramp = torch.zeros((), device=device)
        for group in run.optimizer.param_groups:  # the update reads the learning rate from the device
            group["lr"], group["capturable"] = self.lr, True
        # gradients made inside the capture live in the graph's memory, at the same place every replay
        run.optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize(device)
        self.forward = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.forward):
            self.terms = self._forward_backward(run, self.packed, self.clips, self.ramp)
            if not self.split:
                self._update(run)
        if self.split:
            self.update = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.update):
                self._update(run)
