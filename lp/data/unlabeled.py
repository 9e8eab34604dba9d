"""Unlabeled clips for the semi-supervised losses: every step, N clips of T consecutive frames.

Two readers return the same decoded frames: DaliClipReader decodes on the GPU (NVDEC) and the
frames stay in device memory; CpuClipReader (PyAV, in a background thread) serves machines
without a GPU or without DALI. ClipStream then resizes each clip on the device exactly as labeled
frames are resized, and optionally augments it (one transform for the whole clip).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from lp.config import UnlabeledConfig
from lp.data.augment import _MATRIX, Augmenter, to_device
from lp.data.batch import ClipBatch
from lp.data.images import resize_to_uint8
from lp.data.video import STRETCH_FRAMES, ClipCursor, VideoInfo, check_dali_codecs, choose_reader, list_videos, prefetch, probe_video
from lp.errors import UserError


def probe_videos(video_dir: Path, clip_length: int, reader: str) -> list[VideoInfo]:
    """Check every video before training: it opens, its frame count is known, its frame rate is
    constant, it is long enough for a clip, and the chosen reader decodes its codec."""
    if video_dir is None:
        raise UserError("an unsupervised loss is enabled but no videos are given: set --unlabeled.video-dir")
    infos = [probe_video(path) for path in list_videos(Path(video_dir))]
    for info in infos:
        if info.num_frames < clip_length:
            raise UserError(
                f"video {info.path} has {info.num_frames} frames, fewer than --unlabeled.clip-length "
                f"{clip_length}: lower it or remove the video from {video_dir}"
            )
    if reader == "dali":
        check_dali_codecs(infos)
    return infos


class CpuClipReader:
    """Clips decoded with PyAV in a background thread. The clips of a step are a pure function of
    (seed, step, rank). In order (default): the videos are cut into consecutive clips, read one
    after another, process r of n taking every n-th clip (so the decoder runs forward and never
    seeks). Shuffled: like DALI's reader, a stretch of consecutive frames (up to STRETCH_FRAMES)
    starts at a random frame of a video drawn in proportion to its length, and the following
    steps take consecutive clips from it; one seek serves a whole stretch."""

    def __init__(self, infos: list[VideoInfo], clip_length: int, clips_per_step: int, seed: int, rank: int,
                 world: int = 1, shuffle: bool = False):
        self.infos, self.clip_length, self.clips_per_step = infos, clip_length, clips_per_step
        self.seed, self.rank, self.world, self.shuffle = seed, rank, world, shuffle
        per_step = clip_length * clips_per_step
        self.steps_per_stretch = max(1, min([STRETCH_FRAMES] + [info.num_frames for info in infos]) // per_step)
        self.stretch_frames = per_step * self.steps_per_stretch
        lengths = np.array([max(1, info.num_frames - self.stretch_frames + 1) for info in infos], dtype=np.float64)
        self.video_weights = lengths / lengths.sum()
        self.clips_per_video = np.array([info.num_frames // clip_length for info in infos])
        self.first_clip = np.concatenate([[0], np.cumsum(self.clips_per_video)])

    def clip_starts(self, step: int) -> list[tuple[int, int]]:
        """(video index, first frame) of each clip of `step` on this rank."""
        if not self.shuffle:
            total = self.first_clip[-1]
            clips = []
            for i in range(self.clips_per_step):
                number = ((step * self.clips_per_step + i) * self.world + self.rank) % total
                video = int(np.searchsorted(self.first_clip, number, side="right") - 1)
                clips.append((video, int(number - self.first_clip[video]) * self.clip_length))
            return clips
        stretch, within = divmod(step, self.steps_per_stretch)
        rng = np.random.default_rng([self.seed, stretch, self.rank, 1])
        video = int(rng.choice(len(self.infos), p=self.video_weights))
        if self.infos[video].num_frames >= self.stretch_frames:
            first = int(rng.integers(0, self.infos[video].num_frames - self.stretch_frames + 1))
            offset = first + within * self.clips_per_step * self.clip_length
            return [(video, offset + i * self.clip_length) for i in range(self.clips_per_step)]
        # a video shorter than a step's frames: each clip starts anywhere in it
        last = self.infos[video].num_frames - self.clip_length
        return [(video, int(rng.integers(0, last + 1))) for _ in range(self.clips_per_step)]

    def steps(self, first_step: int) -> Iterator[list[np.ndarray]]:
        """The clips of first_step, first_step + 1, ... decoded ahead in a background thread."""

        def decode() -> Iterator[list[np.ndarray]]:
            cursors: dict[int, ClipCursor] = {}
            try:
                step = first_step
                while True:
                    clips = []
                    for video, start in self.clip_starts(step):
                        if video not in cursors:
                            cursors[video] = ClipCursor(self.infos[video])
                        clips.append(cursors[video].clip(start, self.clip_length))
                    yield clips
                    step += 1
            finally:
                for cursor in cursors.values():
                    cursor.close()

        return prefetch(decode(), depth=3)


class ClipStream:
    """`next(step)` -> ClipBatch on the device: decoded clips, resized to the network input like
    labeled frames, optionally augmented with one transform per clip."""

    def __init__(
        self, cfg: UnlabeledConfig, image_hw: tuple[int, int], device: torch.device, rank: int, world: int,
        seed: int, first_step: int, augmentation: str,
    ):
        self.cfg, self.image_hw, self.device = cfg, image_hw, device
        self.reader_name = choose_reader(cfg.reader, device)
        self.infos = probe_videos(cfg.video_dir, cfg.clip_length, self.reader_name)
        if self.reader_name == "dali":
            from lp.data.video_dali import DaliClipReader

            reader = DaliClipReader(self.infos, cfg.clip_length, cfg.clips_per_step, seed, device, rank, world, cfg.shuffle)
        else:
            reader = CpuClipReader(self.infos, cfg.clip_length, cfg.clips_per_step, seed, rank, world, cfg.shuffle)
        self.clips = reader.steps(first_step)
        # No flips: a flipped clip would swap left/right keypoints, which the losses do not undo.
        self.augmenter = Augmenter(augmentation, *image_hw, None, device=device) if cfg.augment else None
        self.seed, self.rank = seed, rank

    def describe(self) -> str:
        frames = sum(info.num_frames for info in self.infos)
        how = "DALI on the GPU" if self.reader_name == "dali" else "PyAV on the CPU"
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
            inverse = to_device(invert_affine(table[:, _MATRIX].reshape(-1, 2, 3)).astype(np.float32), self.device)
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
    original = (xy_px + 0.5) * scale[:, None, :] - 0.5
    return original.unflatten(0, (clips.num_clips, -1))
