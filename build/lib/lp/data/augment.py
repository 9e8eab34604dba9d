"""Keypoint-aware augmentation of whole batches on the batch's device (the GPU when there is one).

One random affine map per frame (rotation, scale, translation, optional horizontal flip) warps
the image and moves its keypoints by the same matrix; then motion blur (kornia's line kernels,
one per frame, applied by kornia's filter2d) and brightness/contrast. Keypoints pushed out of the
frame become unlabeled (NaN). The few launches per batch keep the GPU fed: all random numbers
are drawn on the host and sent in one asynchronous copy (no device sync).
To add a preset: one more entry in PRESETS and its name in lp.config.AugmentationPreset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from kornia.filters import filter2d, get_motion_kernel2d


@dataclass(frozen=True)
class Preset:
    affine_prob: float
    rotation_deg: float
    scale_range: tuple[float, float]
    translate_frac: float
    blur_prob: float
    blur_kernel_px: int
    photometric_prob: float
    brightness: float
    contrast_range: tuple[float, float]
    flip_prob: float = 0.5


PRESETS: dict[str, Preset | None] = {
    "none": None,
    "default": Preset(
        affine_prob=0.8, rotation_deg=20.0, scale_range=(0.85, 1.15), translate_frac=0.05,
        blur_prob=0.3, blur_kernel_px=5, photometric_prob=0.5, brightness=0.15, contrast_range=(0.8, 1.2),
    ),
    "dlc": Preset(
        affine_prob=0.9, rotation_deg=25.0, scale_range=(0.75, 1.25), translate_frac=0.1,
        blur_prob=0.5, blur_kernel_px=7, photometric_prob=0.5, brightness=0.25, contrast_range=(0.7, 1.3),
    ),
}

BLUR_ANGLES = 12  # line kernels every 15 degrees; a symmetric streak repeats after 180
# Columns of the per-frame parameter table sent to the device in one copy; AFFINE holds each frame's 2x3 matrix (image to augmented)
AFFINE, _THETA, _CONTRAST, _BRIGHTNESS, _BLUR, _FLIP = slice(0, 6), slice(6, 12), 12, 13, 14, 15
_COLUMNS = 16


def compute_affine_matrices(preset: Preset, draws: np.ndarray, height: int, width: int, flip: bool) -> np.ndarray:
    """(B, 2, 3) maps from source to augmented pixel coordinates (pixel centers at integers),
    from (B, 6) uniform numbers, and the (B,) flip flags."""
    use = draws[:, 0] < preset.affine_prob
    angle = np.where(use, (draws[:, 1] * 2 - 1) * np.radians(preset.rotation_deg), 0.0)
    low, high = preset.scale_range
    scale = np.where(use, low + draws[:, 2] * (high - low), 1.0)
    shift = np.where(use[:, None], (draws[:, 3:5] * 2 - 1) * preset.translate_frac, 0.0) * [width, height]
    flips = (draws[:, 5] < preset.flip_prob) & flip
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    # Flip first (x -> W-1-x), then rotate and scale about the centre, then translate.
    cx, cy = (width - 1) / 2, (height - 1) / 2
    sign = np.where(flips, -1.0, 1.0)
    flipped = flips * (width - 1.0)
    tx = cx + shift[:, 0] - cos * cx + sin * cy + cos * flipped
    ty = cy + shift[:, 1] - sin * cx - cos * cy + sin * flipped
    return np.stack([np.stack([cos * sign, -sin, tx], 1), np.stack([sin * sign, cos, ty], 1)], 1), flips


def compute_sampling_grid_theta(matrices: np.ndarray, height: int, width: int) -> np.ndarray:
    """(B, 2, 3) destination->source maps in grid_sample's [-1, 1] coordinates (align_corners)."""
    linear, shift = matrices[:, :, :2], matrices[:, :, 2:]
    inverse = np.linalg.inv(linear)
    inverse_shift = -(inverse @ shift)[..., 0]
    to_norm = np.array([2 / (width - 1), 2 / (height - 1)])
    theta_linear = inverse * to_norm[None, :, None] / to_norm[None, None, :]
    theta_shift = theta_linear.sum(-1) + inverse_shift * to_norm - 1
    return np.concatenate([theta_linear, theta_shift[..., None]], axis=2)


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """Host array -> device tensor without blocking the host (pinned, asynchronous copy)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class Augmenter:
    """Random parameters come from a numpy Generator on the host (`sample`: the same numbers on
    every device); `apply` does the device work given them; calling the augmenter does both."""

    def __init__(
        self, preset_name: str, height: int, width: int, flip_permutation: list[int] | None = None,
        device: torch.device | str = "cpu",
    ):
        self.preset = PRESETS[preset_name]
        self.height, self.width = height, width
        self.flip_permutation = flip_permutation
        device = torch.device(device)
        self.permutation = None if flip_permutation is None else torch.tensor(flip_permutation, device=device)
        self.blur_bank = None
        if self.preset is not None:  # symmetric line kernels, then the identity
            size = self.preset.blur_kernel_px
            lines = [get_motion_kernel2d(size, 180.0 * i / BLUR_ANGLES)[0] for i in range(BLUR_ANGLES)]
            identity = torch.zeros(size, size)
            identity[size // 2, size // 2] = 1
            self.blur_bank = torch.stack([*lines, identity]).to(device)

    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray | None:
        """(B, _COLUMNS) float32 table of every random parameter of one batch; None for 'none'."""
        if self.preset is None:
            return None
        preset, table = self.preset, np.zeros((batch, _COLUMNS))
        draws = rng.random((batch, 11))
        matrices, flips = compute_affine_matrices(
            preset, draws[:, :6], self.height, self.width, self.flip_permutation is not None
        )
        table[:, AFFINE] = matrices.reshape(batch, 6)
        table[:, _THETA] = compute_sampling_grid_theta(matrices, self.height, self.width).reshape(batch, 6)
        photo = draws[:, 6] < preset.photometric_prob
        low, high = preset.contrast_range
        table[:, _CONTRAST] = np.where(photo, low + draws[:, 7] * (high - low), 1.0)
        table[:, _BRIGHTNESS] = np.where(photo, (draws[:, 8] * 2 - 1) * preset.brightness, 0.0)
        blur_angle = np.minimum((draws[:, 10] * BLUR_ANGLES).astype(int), BLUR_ANGLES - 1)
        table[:, _BLUR] = np.where(draws[:, 9] < preset.blur_prob, blur_angle, BLUR_ANGLES)
        table[:, _FLIP] = flips
        return table.astype(np.float32)

    def apply(
        self, images: torch.Tensor, keypoints: torch.Tensor, table: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # images: (B, 3, H, W) float in [0, 1]; keypoints: (B, K, 2) pixels, NaN = unlabeled
        if self.preset is None:
            return images, keypoints
        matrices = table[:, AFFINE].reshape(-1, 2, 3)
        grid = F.affine_grid(table[:, _THETA].reshape(-1, 2, 3), list(images.shape), align_corners=True)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        keypoints = torch.einsum("bij,bkj->bki", matrices[:, :, :2], keypoints) + matrices[:, None, :, 2]
        if self.permutation is not None:
            keypoints = torch.where(table[:, _FLIP, None, None] > 0, keypoints[:, self.permutation], keypoints)
        # bounds as Python numbers: a tensor made from them would be a blocking copy every step
        x, y = keypoints[..., 0], keypoints[..., 1]
        inside = (x >= 0) & (x <= self.width - 1) & (y >= 0) & (y <= self.height - 1)
        keypoints = torch.where(inside[..., None], keypoints, torch.nan)
        # A symmetric streak blurs without moving content away from its keypoints.
        images = filter2d(images, self.blur_bank[table[:, _BLUR].long()])
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        contrast, brightness = table[:, _CONTRAST, None, None, None], table[:, _BRIGHTNESS, None, None, None]
        images = (images - mean) * contrast + mean + brightness
        return images.clamp(0, 1), keypoints

    def __call__(
        self, images: torch.Tensor, keypoints: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        table = self.sample(images.shape[0], rng)
        return self.apply(images, keypoints, None if table is None else to_device(table, images.device))


def flip_permutation(keypoint_names: list[str], flip_pairs: tuple[tuple[str, str], ...]) -> list[int] | None:
    """Index map that swaps each named pair; None when no pairs are given (no flips)."""
    if not flip_pairs:
        return None
    index = {name: i for i, name in enumerate(keypoint_names)}
    permutation = list(range(len(keypoint_names)))
    for a, b in flip_pairs:
        for name in (a, b):
            if name not in index:
                raise ValueError(f"--data.flip-pairs names '{name}', which is not a keypoint in the labels")
        permutation[index[a]], permutation[index[b]] = index[b], index[a]
    return permutation
