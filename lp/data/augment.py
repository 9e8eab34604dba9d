"""Keypoint-aware augmentation of whole batches on the batch's device (the GPU when there is one).

One random affine map per frame (rotation, scale, translation, optional horizontal flip) warps
the image and moves its keypoints by the same matrix; then motion blur (kornia's line kernels,
one per frame, applied by kornia's filter2d) and brightness/contrast. Keypoints pushed out of the
frame become unlabeled (NaN). The few launches per batch keep the GPU fed: all random numbers
come from one draw, and the warp's inverse is closed-form (no device sync).
To add a preset: one more entry in PRESETS and its name in lp.config.AugmentationPreset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
_DRAWS = 11  # uniform numbers per frame


def compute_affine_matrices(preset: Preset, draws: torch.Tensor, height: int, width: int, flip: bool) -> torch.Tensor:
    """(B, 2, 3) maps from source to augmented pixel coordinates (pixel centers at integers),
    from (B, _DRAWS) uniform numbers."""
    use = draws[:, 0] < preset.affine_prob
    angle = (draws[:, 1] * 2 - 1) * math.radians(preset.rotation_deg)
    low, high = preset.scale_range
    scale = torch.where(use, low + draws[:, 2] * (high - low), 1.0)
    angle = torch.where(use, angle, 0.0)
    size = torch.tensor([width, height], device=draws.device, dtype=draws.dtype)
    shift = torch.where(use[:, None], (draws[:, 3:5] * 2 - 1) * preset.translate_frac, 0.0) * size
    flips = (draws[:, 5] < preset.flip_prob) & flip
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    # Flip first (x -> W-1-x), then rotate and scale about the centre, then translate.
    cx, cy = (width - 1) / 2, (height - 1) / 2
    sign = torch.where(flips, -1.0, 1.0)
    flipped = flips.to(draws.dtype) * (width - 1)
    tx = cx + shift[:, 0] - cos * cx + sin * cy + cos * flipped
    ty = cy + shift[:, 1] - sin * cx - cos * cy + sin * flipped
    return torch.stack([torch.stack([cos * sign, -sin, tx], 1), torch.stack([sin * sign, cos, ty], 1)], 1)


def warp_images(images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Warp (B, C, H, W) by (B, 2, 3) source->destination pixel maps, zeros outside."""
    height, width = images.shape[-2:]
    a, b, c, d = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 1, 0], matrices[:, 1, 1]
    det = a * d - b * c
    inverse = torch.stack([d, -b, -c, a], 1).view(-1, 2, 2) / det[:, None, None]
    inverse_shift = -(inverse @ matrices[:, :, 2:])  # (B, 2, 1)
    # grid_sample wants destination->source in coordinates normalised to [-1, 1] (align_corners).
    to_norm = torch.tensor([2 / (width - 1), 2 / (height - 1)], device=images.device, dtype=images.dtype)
    theta_linear = inverse * to_norm[None, :, None] / to_norm[None, None, :]
    theta_shift = theta_linear.sum(-1) + inverse_shift[..., 0] * to_norm - 1
    theta = torch.cat([theta_linear, theta_shift[..., None]], dim=2)
    grid = F.affine_grid(theta, list(images.shape), align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


class Augmenter:
    """Callable (images, keypoints, generator) -> (images, keypoints), shapes unchanged."""

    def __init__(self, preset_name: str, height: int, width: int, flip_permutation: list[int] | None = None):
        self.preset = PRESETS[preset_name]
        self.height, self.width = height, width
        self.flip_permutation = flip_permutation
        self._blur_bank: torch.Tensor | None = None

    def blur_kernels(self, device: torch.device) -> torch.Tensor:
        """(BLUR_ANGLES + 1, k, k): symmetric line kernels, then the identity."""
        if self._blur_bank is None or self._blur_bank.device != device:
            size = self.preset.blur_kernel_px
            lines = [get_motion_kernel2d(size, 180.0 * i / BLUR_ANGLES)[0] for i in range(BLUR_ANGLES)]
            identity = torch.zeros(size, size)
            identity[size // 2, size // 2] = 1
            self._blur_bank = torch.stack([*lines, identity]).to(device)
        return self._blur_bank

    def __call__(
        self, images: torch.Tensor, keypoints: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # images: (B, 3, H, W) float in [0, 1]; keypoints: (B, K, 2) pixels, NaN = unlabeled
        if self.preset is None:
            return images, keypoints
        preset, batch = self.preset, images.shape[0]
        draws = torch.rand(batch, _DRAWS, generator=generator, device=images.device)
        matrices = compute_affine_matrices(preset, draws, self.height, self.width, self.flip_permutation is not None)
        images = warp_images(images, matrices)
        keypoints = torch.einsum("bij,bkj->bki", matrices[:, :, :2], keypoints) + matrices[:, None, :, 2]
        if self.flip_permutation is not None:
            flipped = matrices[:, 0, 0] * matrices[:, 1, 1] - matrices[:, 0, 1] * matrices[:, 1, 0] < 0
            keypoints = torch.where(flipped[:, None, None], keypoints[:, self.flip_permutation], keypoints)
        size = torch.tensor([self.width - 1, self.height - 1], device=images.device)
        inside = ((keypoints >= 0) & (keypoints <= size)).all(dim=-1)
        keypoints = torch.where(inside[..., None], keypoints, torch.nan)

        # A symmetric streak blurs without moving content away from its keypoints.
        which = torch.where(
            draws[:, 6] < preset.blur_prob, (draws[:, 7] * BLUR_ANGLES).long().clamp_max(BLUR_ANGLES - 1), BLUR_ANGLES
        )
        images = filter2d(images, self.blur_kernels(images.device)[which])

        photo = draws[:, 8] < preset.photometric_prob
        low, high = preset.contrast_range
        contrast = torch.where(photo, low + draws[:, 9] * (high - low), 1.0)[:, None, None, None]
        brightness = torch.where(photo, (draws[:, 10] * 2 - 1) * preset.brightness, 0.0)[:, None, None, None]
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        images = (images - mean) * contrast + mean + brightness
        return images.clamp(0, 1), keypoints


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
