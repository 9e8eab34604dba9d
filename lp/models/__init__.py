"""The pose network: normalisation, a backbone from lp.models.backbones, a head from
lp.models.heads, and `frames_to_keypoints` (frames in, keypoints out). Add backbones and heads in
those packages; this module only joins them."""

from __future__ import annotations

import torch
from torch import nn

from lp.config import ModelConfig
from lp.data.images import rescale_pixels, resize_to_uint8
from lp.errors import UserError
from lp.models.backbones import build_backbone
from lp.models.heads import build_head

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
"""--precision / --train.precision -> the autocast dtype of the network's arithmetic (None: fp32)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PoseModel(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def context_frames(self) -> int:
        """Frames the head sees per predicted frame: 1, or 5 for the context head (t-2..t+2)."""
        return getattr(self.head, "context_frames", 1)

    def forward(self, images: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """images (N, 3, H, W) float in [0, 1] -> the head's outputs for each image; a context
        head takes `context` (M, 5): each of M targets' frames t-2..t+2 as rows of `images`
        (None: each image is its own target and its own neighbours)."""
        features = self.backbone((images - self.mean) / self.std)  # (N, C, H/32, W/32)
        if self.context_frames > 1:
            return self.head(features, context)
        return self.head(features if context is None else features[context[:, context.shape[1] // 2]])

    def keypoints(self, outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(xy (B, K, 2) in network-input pixels, confidence (B, K) in [0, 1])."""
        return self.head.keypoints(outputs)


def build_model(cfg: ModelConfig, num_keypoints: int, image_hw: tuple[int, int]) -> PoseModel:
    backbone = build_backbone(cfg.backbone.arch, cfg.backbone.weights)
    for side, flag in zip(image_hw, ("image-height", "image-width")):
        if side % backbone.stride:
            raise UserError(
                f"--data.{flag} {side} is not divisible by {cfg.backbone.arch}'s stride {backbone.stride}: "
                f"use a multiple of {backbone.stride}"
            )
    head = build_head(cfg, backbone.out_channels, backbone.stride, num_keypoints, image_hw)
    return PoseModel(backbone, head)


def frames_to_keypoints(
    network: PoseModel, frames: torch.Tensor, input_hw: tuple[int, int], dtype: torch.dtype | None = None,
    context: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B, 3, H, W) uint8 frames of one size, on the network's device -> (B, K, 3) float32: x, y
    in the frames' own pixels, then confidence. With `context` (M, 5) rows of `frames` (context
    head): (M, K, 3) for the M target frames. The one path from frames to keypoints, used by
    validation, final predictions, `lp.Model` and predict.py; call it without autograd."""
    height, width = input_hw
    images = resize_to_uint8(frames, height, width).float() / 255
    images = images.contiguous(memory_format=torch.channels_last)  # faster on GPUs and CPUs alike
    with torch.autocast(frames.device.type, dtype=dtype, enabled=dtype is not None):
        xy, confidence = network.keypoints(network(images, context))  # network-input pixels
    # scales as Python numbers: a tensor made of them would be a blocking host-to-device copy
    x = rescale_pixels(xy[..., 0].float(), frames.shape[-1] / width)
    y = rescale_pixels(xy[..., 1].float(), frames.shape[-2] / height)
    return torch.stack([x, y, confidence.float()], dim=-1)
