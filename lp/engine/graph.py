"""A whole training step as one CUDA graph: the labeled batch made on the device, the network
and every loss term, backward and the optimizer update, replayed with one launch per step.

Compiled steps otherwise launch three graphs of their own (batch, forward, backward) with the
autograd engine, the gradient hand-over and the optimizer's Python in between: host work that
keeps a one-GPU step at 16 + 16 frames waiting on the host about half of its time. Here that
work happens once, while the graph is captured; each step afterwards copies its inputs (the
batch's frame indices and augmentation numbers, the clips, the learning rate and the warm-up
ramp) into the graph's fixed tensors and replays it.

Used for compiled steps (`--train.compile True`) on one process without gradient accumulation,
in bf16 or fp32, once the backbone is trainable (the frozen steps before run as usual)."""

from __future__ import annotations

import torch
from torch.profiler import record_function

from lp.data.batch import ClipBatch

WARMUP_STEPS = 2
"""Ordinary steps on a side stream before the capture: torch.compile compiles the pieces there,
and autograd and the optimizer make their state, none of which may happen while capturing."""


class StepGraph:
    """Steps of a Run (lp.engine.loop) through one captured CUDA graph."""

    def __init__(self) -> None:
        self.graph: torch.cuda.CUDAGraph | None = None
        self.warm_steps = 0
        self.packed: torch.Tensor | None = None
        self.clips: ClipBatch | None = None
        self.lr: torch.Tensor | None = None
        self.ramp: torch.Tensor | None = None
        self.terms: dict[str, torch.Tensor] = {}

    def step(self, run, step: int, lr: float, ordinary_step) -> dict[str, torch.Tensor]:
        """One optimizer step at `step` with learning rate `lr`; the terms it returns are the
        graph's own tensors, overwritten by the next replay."""
        if self.warm_steps < WARMUP_STEPS:
            current = torch.cuda.current_stream()
            side = torch.cuda.Stream(current.device)
            side.wait_stream(current)
            with torch.cuda.stream(side):
                terms = ordinary_step(run, step, lr, True)
            current.wait_stream(side)
            self.warm_steps += 1
            return terms
        with record_function("stage: labeled batch"):
            packed = torch.from_numpy(run.host_batch(step))
        with record_function("stage: clips"):
            clips = run.stream.next(step) if run.stream is not None else None
        with record_function("stage: inputs to the graph"):
            if self.graph is None:
                self._capture(run, packed, clips, lr)
            else:
                self.packed.copy_(packed.pin_memory(), non_blocking=True)
                if clips is not None:
                    self.clips.images.copy_(clips.images)
                    self.clips.sizes.copy_(clips.sizes)
                    if clips.inverse is not None:
                        self.clips.inverse.copy_(clips.inverse)
            self.lr.fill_(lr)
            self.ramp.fill_(run.losses.ramp_at(step))
        with record_function("stage: graph replay"):
            self.graph.replay()
        return self.terms

    def _capture(self, run, packed: torch.Tensor, clips: ClipBatch | None, lr: float) -> None:
        """Fixed input tensors (holding this step's inputs), then the step captured: nothing of
        it runs until the first replay."""
        device = run.accelerator.device
        self.packed = packed.to(device)
        if clips is not None:
            inverse = None if clips.inverse is None else clips.inverse.clone()
            self.clips = ClipBatch(clips.images.clone(), clips.sizes.clone(), clips.num_clips, inverse)
        self.lr = torch.tensor(lr, dtype=torch.float32, device=device)
        self.ramp = torch.tensor(0.0, dtype=torch.float32, device=device)
        for group in run.optimizer.param_groups:  # the update reads the learning rate from the device
            group["lr"], group["capturable"] = self.lr, True
        # gradients made inside the capture live in the graph's memory, at the same place every replay
        run.optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize(device)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            batch = run.device_batch(self.packed)
            loss, self.terms = run.losses.combine(run.forward_terms(batch, self.clips), self.ramp)
            run.accelerator.backward(loss)
            run.optimizer.step()
