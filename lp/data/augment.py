"""Keypoint-aware augmentation of whole batches on the batch's device (GPU when there is one).

One random affine map per frame (rotation, scale, translation, optional horizontal flip) warps
the image with kornia and moves the keypoints by the same matrix; then motion blur and
brightness/contrast. Keypoints pushed out of the frame become unlabeled (NaN).
To add a preset: one more entry in PRESETS and its name in lp.config.AugmentationPreset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from kornia.filters import motion_blur
from kornia.geometry.transform import warp_affine


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


def _uniform(generator: torch.Generator, n: int, low: float, high: float, device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device) * (high - low) + low


def compute_affine_matrices(
    preset: Preset, batch: int, height: int, width: int, flips: torch.Tensor, generator: torch.Generator, device
) -> torch.Tensor:
    """(B, 2, 3) maps from source to augmented pixel coordinates (pixel centers at integers)."""
    use = torch.rand(batch, generator=generator, device=device) < preset.affine_prob
    angle = _uniform(generator, batch, -preset.rotation_deg, preset.rotation_deg, device) * (math.pi / 180)
    scale = _uniform(generator, batch, *preset.scale_range, device)
    shift = _uniform(generator, 2 * batch, -preset.translate_frac, preset.translate_frac, device).view(batch, 2)
    angle, scale = torch.where(use, angle, 0.0), torch.where(use, scale, 1.0)
    shift = torch.where(use[:, None], shift, 0.0) * torch.tensor([width, height], device=device)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    # Flip first (x -> W-1-x), then rotate and scale about the centre, then translate.
    cx, cy = (width - 1) / 2, (height - 1) / 2
    tx = cx + shift[:, 0] - cos * cx + sin * cy
    ty = cy + shift[:, 1] - sin * cx - cos * cy
    sign = torch.where(flips, -1.0, 1.0)
    flipped = flips.float() * (width - 1)  # composing with x -> (W-1) - x moves the offset too
    row0 = torch.stack([cos * sign, -sin, tx + cos * flipped], dim=1)
    row1 = torch.stack([sin * sign, cos, ty + sin * flipped], dim=1)
    return torch.stack([row0, row1], dim=1)


class Augmenter:
    """Callable (images, keypoints, generator) -> (images, keypoints), shapes unchanged."""

    def __init__(self, preset_name: str, height: int, width: int, flip_permutation: list[int] | None = None):
        self.preset = PRESETS[preset_name]
        self.height, self.width = height, width
        self.flip_permutation = flip_permutation

    def __call__(
        self, images: torch.Tensor, keypoints: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # images: (B, 3, H, W) float in [0, 1]; keypoints: (B, K, 2) pixels, NaN = unlabeled
        if self.preset is None:
            return images, keypoints
        preset, batch, device = self.preset, images.shape[0], images.device
        if self.flip_permutation is not None:
            flips = torch.rand(batch, generator=generator, device=device) < preset.flip_prob
        else:
            flips = torch.zeros(batch, dtype=torch.bool, device=device)
        matrices = compute_affine_matrices(preset, batch, self.height, self.width, flips, generator, device)
        images = warp_affine(images, matrices, (self.height, self.width), align_corners=True)
        keypoints = torch.einsum("bij,bkj->bki", matrices[:, :, :2], keypoints) + matrices[:, None, :, 2]
        if self.flip_permutation is not None:
            swapped = keypoints[:, self.flip_permutation]
            keypoints = torch.where(flips[:, None, None], swapped, keypoints)
        inside = (
            (keypoints[..., 0] >= 0) & (keypoints[..., 0] <= self.width - 1)
            & (keypoints[..., 1] >= 0) & (keypoints[..., 1] <= self.height - 1)
        )
        keypoints = torch.where(inside[..., None], keypoints, torch.nan)

        blur = torch.rand(batch, generator=generator, device=device) < preset.blur_prob
        angle = _uniform(generator, batch, 0.0, 360.0, device)
        # A symmetric streak (direction 0) blurs without moving content away from its keypoints.
        blurred = motion_blur(images, preset.blur_kernel_px, angle, torch.zeros_like(angle))
        images = torch.where(blur[:, None, None, None], blurred, images)

        photo = torch.rand(batch, generator=generator, device=device) < preset.photometric_prob
        contrast = torch.where(photo, _uniform(generator, batch, *preset.contrast_range, device), 1.0)
        brightness = torch.where(photo, _uniform(generator, batch, -preset.brightness, preset.brightness, device), 0.0)
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        images = (images - mean) * contrast[:, None, None, None] + mean + brightness[:, None, None, None]
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
