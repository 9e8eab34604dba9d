"""A trained model as a Python object: `Model.from_dir(run_dir)`, then `predict_frames` on
arrays or `predict_video` on a file. predict.py is built on it."""

from __future__ import annotations

import json
from dataclasses import replace
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lp.config import TrainConfig
from lp.cli import load_config, run_config_path
from lp.data.context import neighbour_rows
from lp.data.video import prefetch, probe_video, read_frames
from lp.engine.checkpoint import exported_model_path, load_exported
from lp.errors import UserError
from lp.io import keypoint_table
from lp.models.pca import load_fitted
from lp.models import AUTOCAST_DTYPES, PoseModel, build_model, frames_to_keypoints

class Model:
    def __init__(self, network: PoseModel, cfg: TrainConfig, keypoint_names: list[str], device: torch.device,
                 precision: str = "fp32", name: str = "lp", pca: dict | None = None):
        # channels-last convolutions are faster on CPUs (oneDNN) and GPUs alike
        self.network = network.eval().to(device, memory_format=torch.channels_last)
        self.cfg, self.keypoint_names, self.device, self.name = cfg, keypoint_names, device, name
        self.dtype = AUTOCAST_DTYPES[precision]
        self.pca = pca or {}
        """Fitted PCA subspaces of runs trained with PCA losses (per-frame PCA errors)."""
        if self.dtype is not None and device.type != "cuda":
            raise UserError(f"--precision {precision} needs a GPU; use fp32 on the CPU")

    @classmethod
    def from_dir(cls, run_dir: Path, device: str | torch.device | None = None, precision: str = "fp32") -> Model:
        """Load the best model of a training run (model_best, else model_last)."""
        run_dir = Path(run_dir)
        cfg = load_config(run_config_path(run_dir))
        weights_path = exported_model_path(run_dir)
        if not weights_path.is_file():
            raise UserError(f"{run_dir} holds no model_best/model_last.safetensors: has its training finished?")
        weights, metadata = load_exported(weights_path)
        names = json.loads(metadata["keypoint_names"])
        # the exported weights replace any initial ones: never load (or download) those
        model_cfg = replace(cfg.model, backbone=replace(cfg.model.backbone, weights="none"))
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        with device:  # random initialisation, at once replaced, is much faster on a GPU
            network = build_model(model_cfg, len(names), (cfg.data.image_height, cfg.data.image_width))
        network.load_state_dict(weights)
        pca = load_fitted(run_dir / "pca.npz") if (run_dir / "pca.npz").is_file() else None
        return cls(network, cfg, names, device, precision, name=run_dir.name, pca=pca)

    @torch.inference_mode()
    def predict_tensor(self, frames: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3, H, W) uint8 frames of one size, on any device -> (B, K, 3) float32 on the model's
        device: x, y in the frames' own pixels, then likelihood. Does not wait for the device.
        A context model treats each frame as its own neighbours unless `context` (M, 5) names
        the rows of each of M target frames' t-2..t+2 (then (M, K, 3)); for frames of a video in
        order, use `window()`."""
        input_hw = (self.cfg.data.image_height, self.cfg.data.image_width)
        frames = frames.to(self.device, non_blocking=True)
        if context is not None:
            context = context.to(self.device, non_blocking=True)
        return frames_to_keypoints(self.network, frames, input_hw, self.dtype, context)

    def window(self, first: int = 0, answer_from: int | None = None) -> FrameWindow:
        """Keypoints of a video's frames fed in order, in batches (each frame's neighbours from
        the batches around it: no frame is decoded twice), from frame `first` on; answering from
        frame `answer_from` (default `first`: a part of a video fed from two frames before it)."""
        return FrameWindow(self, first, first if answer_from is None else answer_from)

    def predict_batch(self, frames: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(B, 3, H, W) uint8 frames of one size -> xy (B, K, 2) in their pixels, likelihood (B, K)."""
        result = self.predict_tensor(frames).cpu().numpy().astype(np.float64)
        return result[..., :2], result[..., 2]

    def predict_arrays(self, batches: Iterable[np.ndarray]) -> pd.DataFrame:
        """Keypoints of every frame of (B, H, W, 3) or (B, H, W) uint8 batches of consecutive
        frames, as one table."""
        window, parts = self.window(), []
        for batch in batches:
            parts.append(window.push(frames_to_tensor(batch))[1])
        parts.append(window.finish()[1])
        result = torch.cat(parts).cpu().numpy().astype(np.float64)
        return keypoint_table(result[..., :2], result[..., 2], self.keypoint_names, self.name, pd.RangeIndex(len(result)))

    def predict_frames(self, frames: np.ndarray, batch_size: int = 64) -> pd.DataFrame:
        """(N, H, W, 3) RGB or (N, H, W) grayscale uint8 frames -> DeepLabCut-style table. A
        context model takes them as consecutive frames of one video (for separate images, call
        predict_tensor, where each frame is its own neighbours)."""
        return self.predict_arrays(frames[i : i + batch_size] for i in range(0, len(frames), batch_size))

    def predict_video(self, path: Path, batch_size: int = 64) -> pd.DataFrame:
        """Every frame of a video, in order, decoded on the CPU while the network runs."""
        info = probe_video(Path(path))
        return self.predict_arrays(prefetch(read_frames(info, batch_size)))


class FrameWindow:
    """A video's frames in, in order and in batches of any size; keypoints out. A single-frame
    model answers each batch at once. A context model answers a frame once its two following
    frames have arrived (the last two on `finish`), keeping the last four frames of the previous
    batch to give the next batch's first frames their neighbours (their backbone features are
    computed again with the next batch: 4 frames in 68 at batch 64); at the video's ends the edge
    frame stands in for missing neighbours, as in training."""

    def __init__(self, model: Model, first: int = 0, answer_from: int = 0):
        self.model = model
        self.radius = model.network.context_frames // 2
        self.tail: torch.Tensor | None = None  # the last 2 * radius frames seen
        self.seen, self.done = first, answer_from  # frames pushed (from 0 on); frames answered

    def push(self, frames: torch.Tensor, first: int | None = None, pad_to: int | None = None) -> tuple[int, torch.Tensor]:
        """(B, 3, H, W) uint8, the next frames -> (first frame index, (n, K, 3)) for the frames
        answered now. first: the batch's first frame index (a single-frame model takes batches in
        any order; a context model needs them in order). pad_to: a single-frame model pads a
        short batch to this many frames (one shape for the network on a GPU)."""
        count = len(frames)
        if self.radius == 0:
            if pad_to is not None and count < pad_to:
                frames = torch.cat([frames, frames[-1:].expand(pad_to - count, -1, -1, -1)])
            first = self.seen if first is None else first
            self.seen = self.done = self.seen + count
            return first, self.model.predict_tensor(frames)[:count]
        if first is not None and first != self.seen:
            raise ValueError(f"a context model needs frames in order: got frame {first} after {self.seen}")
        self.seen += count
        window = frames if self.tail is None else torch.cat([self.tail.to(frames.device), frames])
        self.tail = window[-2 * self.radius :]
        return self._answer(window, self.seen - len(window), self.seen - self.radius, last=None)

    def finish(self) -> tuple[int, torch.Tensor]:
        """The frames still waiting for neighbours: the video's last ones."""
        if self.radius == 0 or self.tail is None or self.done == self.seen:
            return self.seen, torch.empty(0, len(self.model.keypoint_names), 3, device=self.model.device)
        return self._answer(self.tail, self.seen - len(self.tail), self.seen, last=self.seen - 1)

    def _answer(self, window: torch.Tensor, window_first: int, stop: int, last: int | None) -> tuple[int, torch.Tensor]:
        """Frames done..stop-1 from `window` (frames window_first...); neighbours past `last`
        (the video's last frame, when known) are held to it."""
        first = self.done
        if stop <= first:
            return first, torch.empty(0, len(self.model.keypoint_names), 3, device=self.model.device)
        targets = torch.arange(first, stop)
        rows = neighbour_rows(targets, 0, self.seen - 1 if last is None else last) - window_first
        self.done = stop
        return first, self.model.predict_tensor(window, rows)


def frames_to_tensor(batch: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) or (B, H, W) uint8 -> (B, 3, H, W) uint8 (pinned when a GPU will take it)."""
    if batch.ndim == 3:
        batch = np.repeat(batch[..., None], 3, axis=-1)
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
        raise UserError(f"frames must be uint8 (N, H, W, 3) or (N, H, W); got {batch.dtype} {batch.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
    return tensor.pin_memory() if torch.cuda.is_available() else tensor


def compute_temporal_norm(xy: np.ndarray) -> np.ndarray:
    """(T, K, 2) -> (T, K) distance moved since the previous frame (NaN for the first)."""
    norm = np.full(xy.shape[:2], np.nan)
    norm[1:] = np.linalg.norm(np.diff(xy, axis=0), axis=-1)
    return norm
