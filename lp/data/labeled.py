"""Labeled frames as the training loop uses them: every image decoded once, resized, in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lp.config import DataConfig
from lp.data.context import load_context_images, plan_context
from lp.data.images import load_images, scale_to_original, scale_to_resized
from lp.data.labels import LabeledFrames, read_labels, skeleton_edges
from lp.data.split import compute_split, split_names
from lp.errors import UserError


SHRINK_NOTICE = 3.0
"""Frames shrunk this many times (or more) on each side get a start-up line about resolution."""


@dataclass
class LabeledData:
    frames: LabeledFrames
    images: torch.Tensor
    """(N + M, 3, H, W) uint8, resized to the network input: the N labeled frames, then (context
    head only) the M neighbouring frames that are not labeled frames themselves."""
    keypoints: torch.Tensor
    """(N, K, 2) float32 in resized-image pixels; NaN = unlabeled."""
    sizes: np.ndarray
    """(N, 2) original (width, height) of each image."""
    split: dict[str, np.ndarray]
    """Frame indices of the train / val / test splits."""
    context: torch.Tensor | None = None
    """(N, 5) rows of `images` holding each labeled frame's frames t-2..t+2 (context head);
    None for single-frame heads, and where no labeled frame has a neighbour."""
    context_summary: str = ""
    """Where the neighbours came from, for the run's start-up lines (context head)."""

    @property
    def image_hw(self) -> tuple[int, int]:
        return tuple(self.images.shape[-2:])

    @property
    def split_of_frame(self) -> list[str]:
        return split_names(self.split, len(self.frames.image_paths))

    def resolution_notice(self) -> str:
        """A start-up line when the frames are shrunk SHRINK_NOTICE times or more on each side to
        reach the network input (small body parts lose detail there), else ""."""
        height, width = self.image_hw
        frame_w, frame_h = (int(v) for v in np.median(self.sizes, axis=0))
        shrink = min(frame_w / width, frame_h / height)
        if shrink < SHRINK_NOTICE:
            return ""
        return (f"frames of {frame_w}x{frame_h} are shrunk {shrink:.1f}x to the network's {width}x{height}; for small "
                f"body parts raise --data.image-height/--data.image-width (on 1024x1024 flies, 512 instead of 256 "
                "halved the median error: BENCHMARKS.md)")

    def to_original(self, xy: np.ndarray, indices: np.ndarray | None = None) -> np.ndarray:
        """(N, K, 2) network-input pixels of the frames `indices` (default all) -> original pixels."""
        sizes = self.sizes if indices is None else self.sizes[indices]
        return scale_to_original(xy, sizes, *self.image_hw)


def load_labeled_data(cfg: DataConfig, context_video_dirs: list[Path] | None = None) -> LabeledData:
    """Labels, images and split; with `context_video_dirs` (context head) also every labeled
    frame's neighbours (lp.data.context), from files or from videos in those folders."""
    data_dir = Path(cfg.data_dir)
    if not data_dir.is_dir():
        raise UserError(f"data directory {data_dir} not found: set --data.data-dir to your project folder")
    if not any(data_dir.iterdir()):
        raise UserError(f"data directory {data_dir} is empty: it needs {cfg.csv_file} and the labeled images")
    frames = read_labels(data_dir / cfg.csv_file)
    try:
        skeleton_edges(frames.keypoint_names, cfg.skeleton)
    except ValueError as error:
        raise UserError(f"{data_dir / cfg.csv_file}: {error}") from None
    images, sizes = load_images(data_dir, frames.image_paths, cfg.image_height, cfg.image_width)
    keypoints = scale_to_resized(frames.keypoints, sizes, cfg.image_height, cfg.image_width)
    try:
        split = compute_split(len(frames.image_paths), cfg.val_fraction, cfg.test_fraction, cfg.split_seed, cfg.train_frames)
    except ValueError as error:
        raise UserError(f"{data_dir / cfg.csv_file}: {error}: lower --data.val-fraction/--data.test-fraction") from None
    context, summary = None, ""
    if context_video_dirs is not None:
        plan = plan_context(data_dir, frames.image_paths, sizes, context_video_dirs)
        if plan.has_context:  # else each frame is its own context (None)
            bank = load_context_images(plan, data_dir, images, cfg.image_height, cfg.image_width)
            if plan.has_context:  # still, once files that are no video neighbours were set aside
                images, context = bank, torch.from_numpy(plan.rows).long()
        summary = plan.describe()
    return LabeledData(frames, images, torch.from_numpy(keypoints).float(), sizes, split, context, summary)
