"""Gaussian heatmap targets. Pixel centers sit at integer coordinates in both the image and
the heatmap; a heatmap pixel covers 2**downsample image pixels along each side."""

from __future__ import annotations

import torch

from lp.data.images import rescale_pixels


def image_to_heatmap_px(xy: torch.Tensor, downsample: int) -> torch.Tensor:
    return rescale_pixels(xy, 1 / 2**downsample)


def heatmap_to_image_px(xy: torch.Tensor, downsample: int) -> torch.Tensor:
    return rescale_pixels(xy, 2**downsample)


def compute_heatmaps(
    keypoints: torch.Tensor, image_hw: tuple[int, int], downsample: int, sigma_px: float
) -> torch.Tensor:
    """(B, K, 2) image-pixel keypoints -> (B, K, H/2^f, W/2^f) maps that sum to 1; all zeros
    for unlabeled (NaN) keypoints."""
    height, width = image_hw[0] >> downsample, image_hw[1] >> downsample
    xy = image_to_heatmap_px(keypoints.float(), downsample)
    xs = torch.arange(width, device=xy.device, dtype=xy.dtype)
    ys = torch.arange(height, device=xy.device, dtype=xy.dtype)
    gx = torch.exp(-((xs - xy[..., :1]) ** 2) / (2 * sigma_px**2))  # (B, K, W)
    gy = torch.exp(-((ys - xy[..., 1:]) ** 2) / (2 * sigma_px**2))  # (B, K, H)
    maps = gy[..., :, None] * gx[..., None, :]  # (B, K, H, W)
    total = maps.sum(dim=(-2, -1), keepdim=True)
    maps = maps / total.clamp_min(1e-12)
    return torch.nan_to_num(maps, nan=0.0)
