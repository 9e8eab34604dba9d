"""Unlabeled clips for the semi-supervised losses: every step, N clips of T consecutive frames.

The clips come from lp.data.clips (one schedule, a DALI and a CPU reader of it). ClipStream
resizes each clip on the device exactly as labeled frames are resized, and optionally augments
it (one transform for the whole clip).
"""

from __future__ import annotations

import numpy as np
import torch

from lp.config import UnlabeledConfig
from lp.data.augment import AFFINE, Augmenter, to_device
from lp.data.batch import ClipBatch
from lp.data.clips import ClipSchedule, build_clip_reader
from lp.data.images import rescale_pixels, resize_to_uint8
from lp.data.video import open_videos
from lp.errors import UserError


class ClipStream:
    """`next(step)` -> ClipBatch on the device: decoded clips, resized to the network input like
    labeled frames, optionally augmented with one transform per clip."""

    def __init__(
        self, cfg: UnlabeledConfig, image_hw: tuple[int, int], device: torch.device, rank: int, world: int,
        seed: int, first_step: int, augmentation: str,
    ):
        self.cfg, self.image_hw, self.device = cfg, image_hw, device
        if cfg.video_dir is None:
            raise UserError("an unsupervised loss is enabled but no videos are given: set --unlabeled.video-dir")
        chosen = open_videos(cfg.video_dir, cfg.reader, device, "--unlabeled.reader")
        self.infos = [info for info, _ in chosen]
        self.kinds = [reader for _, reader in chosen]
        for info in self.infos:
            if info.num_frames < cfg.clip_length:
                raise UserError(
                    f"video {info.path} has {info.num_frames} frames, fewer than --unlabeled.clip-length "
                    f"{cfg.clip_length}: lower it or remove the video from {cfg.video_dir}"
                )
        self.schedule = ClipSchedule(self.infos, cfg.clip_length, cfg.clips_per_step, seed, rank, world, cfg.shuffle)
        # each video to the reader that can read it; videos shorter than a step's frames (clips
        # drawn anywhere, not in stretches) all go to the CPU reader when one of them must
        self.reader_name = self.kinds[0] if len(set(self.kinds)) == 1 else "mixed" if self.schedule.in_stretches else "cpu"
        self.clips = build_clip_reader(self.reader_name, self.schedule, device, self.kinds).steps(first_step)
        # No flips: a flipped clip would swap left/right keypoints, which the losses do not undo.
        self.augmenter = Augmenter(augmentation, *image_hw, None, device=device) if cfg.augment else None
        self.seed, self.rank = seed, rank

    def describe(self) -> str:
        frames = sum(info.num_frames for info in self.infos)
        on_gpu = 0 if self.reader_name == "cpu" else sum(kind == "dali" for kind in self.kinds)
        how = {len(self.kinds): "DALI on the GPU", 0: "PyAV on the CPU"}.get(
            on_gpu, f"DALI on the GPU ({on_gpu} video{'s' * (on_gpu > 1)}) and PyAV on the CPU (the others)")
        return (
            f"unlabeled: {len(self.infos)} video{'s' * (len(self.infos) > 1)} ({frames} frames) from "
            f"{self.cfg.video_dir}, {self.cfg.clips_per_step} clip(s) of {self.cfg.clip_length} frames per step "
            f"per process ({'shuffled' if self.cfg.shuffle else 'in order'}), read by {how}"
        )

    def next(self, step: int) -> ClipBatch:
        height, width = self.image_hw
        images, sizes = [], []
        for clip in next(self.clips):  # (T, H0, W0, 3) uint8, host or device
            clip = clip if isinstance(clip, torch.Tensor) else to_device(clip, self.device)
            frames = clip.permute(0, 3, 1, 2)  # (T, 3, H0, W0)
            images.append(resize_to_uint8(frames, height, width))
            # filled on the device: no host-to-device copy, so no wait for the GPU
            widths = torch.full((len(frames),), float(frames.shape[-1]), device=self.device)
            sizes.append(torch.stack([widths, torch.full_like(widths, float(frames.shape[-2]))], dim=1))
        images = torch.cat(images).float() / 255  # (N*T, 3, H, W)
        sizes = torch.cat(sizes)
        num_clips, length = len(sizes) // self.cfg.clip_length, self.cfg.clip_length
        inverse = None
        if self.augmenter is not None and self.augmenter.preset is not None:
            table = self.augmenter.sample(num_clips, np.random.default_rng([self.seed, step, self.rank, 2]))
            table = np.repeat(table, length, axis=0)  # one transform for every frame of a clip
            inverse = to_device(invert_affine(table[:, AFFINE].reshape(-1, 2, 3)).astype(np.float32), self.device)
            empty = torch.zeros(len(images), 0, 2, device=self.device)
            images, _ = self.augmenter.apply(images, empty, to_device(table, self.device))
        return ClipBatch(images, sizes, num_clips, inverse)


def invert_affine(matrices: np.ndarray) -> np.ndarray:
    """(B, 2, 3) maps x -> A x + b -> their inverses x -> A^-1 x - A^-1 b."""
    inverse_linear = np.linalg.inv(matrices[:, :, :2])
    return np.concatenate([inverse_linear, -(inverse_linear @ matrices[:, :, 2:])], axis=2)


def clips_to_original(xy_px: torch.Tensor, clips: ClipBatch, image_hw: tuple[int, int]) -> torch.Tensor:
    """(N*T, K, 2) network-input pixels of (augmented) clip frames -> (N, T, K, 2) original-frame
    pixels (pixel centers kept, as for labeled frames); differentiable."""
    if clips.inverse is not None:
        xy_px = torch.einsum("bij,bkj->bki", clips.inverse[:, :, :2], xy_px) + clips.inverse[:, None, :, 2]
    height, width = image_hw
    scale = torch.stack([clips.sizes[:, 0] / width, clips.sizes[:, 1] / height], dim=1)  # (N*T, 2)
    original = rescale_pixels(xy_px, scale[:, None, :])
    return original.unflatten(0, (clips.num_clips, -1))
