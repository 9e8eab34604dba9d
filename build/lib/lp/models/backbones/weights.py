"""Initial weights for backbones laid out as torchvision's: none, imagenet (torchvision's
weights API, downloaded once), or a local state-dict file."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lp.errors import UserError


def imagenet_state_dict(imagenet: tuple[str, str]) -> dict:
    """torchvision's ImageNet weights, e.g. ("ResNet50_Weights", "IMAGENET1K_V2")."""
    import torchvision.models as tvm

    enum_name, member = imagenet
    return getattr(tvm, enum_name)[member].get_state_dict(progress=True)


def build_torchvision(builder, imagenet: tuple[str, str], weights: str, arch: str) -> nn.Module:
    """builder() -> a model with torchvision's layout, given the weights of --model.backbone.weights."""
    if weights == "none":
        return builder()
    if weights == "imagenet":
        try:
            model = builder()
            model.load_state_dict(imagenet_state_dict(imagenet))
            return model
        except (OSError, RuntimeError) as error:  # urllib's URLError is an OSError
            raise UserError(
                f"could not fetch ImageNet weights for {arch} ({error.__class__.__name__}; offline?): "
                "use --model.backbone.weights none or a local .pth/.safetensors file"
            ) from None
    path = Path(weights)
    if not path.is_file():
        raise UserError(f"--model.backbone.weights {weights}: no such file; use none, imagenet or a weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file is the user's to fix
        raise UserError(f"cannot read weights file {path}: {error}") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    model = builder()
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # tensor shapes differ
        first = str(error).split("\n")[1].strip() if "\n" in str(error) else str(error)
        raise UserError(f"weights file {path} does not fit {arch}: {first}; save a torchvision {arch} state_dict") from None
    missing = [k for k in missing if not k.startswith(("fc.", "classifier."))]
    if missing:
        raise UserError(
            f"weights file {path} does not fit {arch}: {len(missing)} tensors missing (first: {missing[0]}); "
            f"save a torchvision {arch} state_dict"
        )
    if len(unexpected) == len(state):
        raise UserError(f"weights file {path} shares no tensor names with torchvision's {arch}")
    return model
