"""Predicting labeled frames with the network, split across processes and gathered back."""

from __future__ import annotations

import math

import numpy as np
import torch
from accelerate import Accelerator

from lp.data.context import context_batch
from lp.models import frames_to_keypoints


@torch.no_grad()
def predict_images(
    model, images: torch.Tensor, batch_size: int, accelerator: Accelerator, dtype: torch.dtype | None = None,
    targets: np.ndarray | None = None, context: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Images (rows of `images`, uint8 at the network's input size; default: every row, or every
    row of `context`) -> xy (N, K, 2) in network-input pixels and confidence (N, K), identical on
    every process (each predicts a slice through lp.models.frames_to_keypoints, then all slices
    are gathered). context: (rows, 5) neighbours of each target (context head). dtype: autocast."""
    if targets is None:
        targets = np.arange(len(images) if context is None else len(context))
    device, count = accelerator.device, len(targets)
    rank, world = accelerator.process_index, accelerator.num_processes
    per_process = math.ceil(count / world)
    mine = range(rank * per_process, min(count, (rank + 1) * per_process))
    was_training = model.training
    model.eval()
    input_hw = tuple(images.shape[-2:])  # labeled images are stored at the network's input size
    parts = []
    for start in range(mine.start, mine.stop, batch_size):
        chosen = torch.as_tensor(targets[start : min(start + batch_size, mine.stop)], dtype=torch.long)
        if context is None:
            parts.append(frames_to_keypoints(model, images[chosen].to(device, non_blocking=True), input_hw, dtype))
            continue
        batch, rows = context_batch(images, context[chosen])
        parts.append(frames_to_keypoints(model, batch.to(device, non_blocking=True), input_hw, dtype, rows.to(device)))
    model.train(was_training)
    num_keypoints = parts[0].shape[1] if parts else _num_keypoints(model, images, device)
    local = torch.zeros(per_process, num_keypoints, 3, device=device)
    if parts:
        local[: len(mine)] = torch.cat(parts)
    gathered = accelerator.gather(local)[:count].cpu().numpy() if world > 1 else local[:count].cpu().numpy()
    return gathered[..., :2].astype(np.float64), gathered[..., 2].astype(np.float64)


def _num_keypoints(model, images: torch.Tensor, device) -> int:
    """Processes with no frames to predict still need the shape for the gather."""
    model.eval()
    outputs = model(images[:1].to(device).float() / 255)
    return model.keypoints(outputs)[0].shape[1]
