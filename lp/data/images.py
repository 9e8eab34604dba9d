"""Reading labeled images into memory, resized to the network's input size."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from lp.errors import UserError


def read_image(path: Path) -> torch.Tensor:
    """(3, H, W) uint8; grayscale and RGBA become RGB, 16-bit grayscale is scaled to 8 bits over
    its whole range (as a video decoder turns gray16 into 8-bit RGB)."""
    if not path.is_file():
        raise UserError(f"image {path} is listed in the labels but missing: restore it or remove its row")
    try:
        with Image.open(path) as image:
            if image.mode.startswith("I") or image.mode == "F":  # PIL's "RGB" would clip these at 255
                array = _sixteen_bit_to_8(np.asarray(image), image.mode, path)
            else:
                array = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"cannot decode image {path}: {error}") from None
    array = np.repeat(array[..., None], 3, axis=-1) if array.ndim == 2 else array.copy()
    return torch.from_numpy(array).permute(2, 0, 1)


def _sixteen_bit_to_8(array: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """A 16-bit grayscale image (PIL mode I;16*, or I holding 0..65535) as 8 bits, 65535 -> 255."""
    if mode == "F" or array.size == 0 or array.min() < 0 or array.max() > 65535:
        raise UserError(f"image {path} has {'floating-point' if mode == 'F' else '32-bit'} pixels (PIL mode {mode}): "
                        "save the frames as 8- or 16-bit PNG or JPEG")
    return ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def resize_images(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize (B, 3, H, W) uint8 or float images with antialiasing; returns float in [0, 1]."""
    images = images.float() / 255 if images.dtype == torch.uint8 else images
    if images.shape[-2:] == (height, width):
        return images
    return F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False, antialias=True)


def resize_to_uint8(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, 3, H, W) uint8 -> (B, 3, height, width) uint8: the network input of training and
    prediction alike."""
    if images.shape[-2:] == (height, width):
        return images
    if images.device.type == "cpu":  # torch's fixed-point uint8 kernel: 8x faster, within 1 level
        return F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return (resize_images(images, height, width) * 255).round().clamp(0, 255).to(torch.uint8)


def load_images(
    data_dir: Path, image_paths: list[str], height: int, width: int
) -> tuple[torch.Tensor, np.ndarray]:
    """All images resized to (height, width): (N, 3, H, W) uint8 and the original (N, 2) sizes
    as (width, height)."""

    def load(relative: str) -> tuple[torch.Tensor, tuple[int, int]]:
        image = read_image(data_dir / relative)
        return resize_to_uint8(image[None], height, width)[0], (image.shape[2], image.shape[1])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            tqdm(pool.map(load, image_paths), total=len(image_paths), desc="reading images", leave=False)
        )
    images = torch.stack([image for image, _ in results])
    sizes = np.array([size for _, size in results], dtype=np.float64)
    return images, sizes


def rescale_pixels(xy, scale):
    """Pixel coordinates in one image -> in the same picture `scale` times larger (per axis,
    broadcast), pixel centres kept: pixel i covers [i - 0.5, i + 0.5] in both. The one place
    this mapping is written (resizing, heatmaps, clips, prediction); numpy or torch alike."""
    return (xy + 0.5) * scale - 0.5


def scale_to_resized(xy: np.ndarray, sizes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Map (N, K, 2) original-pixel coordinates to the resized frame (pixel centers kept)."""
    scale = np.array([width, height], dtype=np.float64) / sizes  # (N, 2)
    return rescale_pixels(xy, scale[:, None, :])


def scale_to_original(xy: np.ndarray, sizes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Inverse of scale_to_resized."""
    scale = sizes / np.array([width, height], dtype=np.float64)
    return rescale_pixels(xy, scale[:, None, :])
