"""Exported models (weights + keypoint names, all predict.py needs beside config.yaml) and the
small training state saved with accelerate's resumable state."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lp.io import atomic_write


def export_model(path: Path, model: torch.nn.Module, keypoint_names: list[str], step: int, val_px: float) -> None:
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"keypoint_names": json.dumps(keypoint_names), "step": str(step), "val_pixel_error": str(val_px)}
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))


def load_exported(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    return load_file(str(path)), metadata


class TrainState:
    """Step counter and best validation error, saved and restored by accelerate."""

    def __init__(self) -> None:
        self.step = 0
        self.best_val_px = float("inf")

    def state_dict(self) -> dict:
        return {"step": self.step, "best_val_px": self.best_val_px}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.best_val_px = int(state["step"]), float(state["best_val_px"])
