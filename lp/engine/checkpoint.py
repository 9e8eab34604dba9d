"""Exported models (weights + keypoint names, all predict.py needs beside config.yaml) and the
small training state saved with accelerate's resumable state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lp.io import atomic_write


def export_model(
    path: Path, weights: dict[str, torch.Tensor], keypoint_names: list[str], step: int, val_px: float
) -> None:
    """Write a model's state dict with the keypoint names, atomically."""
    state = {k: v.detach().contiguous().cpu() for k, v in weights.items()}
    metadata = {"keypoint_names": json.dumps(keypoint_names), "step": str(step), "val_pixel_error": str(val_px)}
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))


def save_resumable_state(accelerator, run_dir: Path) -> None:
    """accelerate's resumable state (every process takes part), swapped in whole: written to
    state.new/, then renamed over state/, so that a run killed at any moment keeps one complete
    state to resume from (accelerate writes its files in place, one by one)."""
    new, current, old = run_dir / "state.new", run_dir / "state", run_dir / "state.old"
    if accelerator.is_main_process and new.exists():
        shutil.rmtree(new)  # left by a save that was killed
    accelerator.wait_for_everyone()
    accelerator.save_state(str(new))
    accelerator.wait_for_everyone()  # every process has written its part
    if accelerator.is_main_process:
        if current.exists():
            current.rename(old)
        new.rename(current)
        if old.exists():
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def resumable_state(run_dir: Path) -> Path | None:
    """The complete state to resume a run from: state/, or state.old/ when the run was killed
    between the two renames of save_resumable_state; None before the first checkpoint."""
    for name in ("state", "state.old"):
        if (Path(run_dir) / name).is_dir():
            return Path(run_dir) / name
    return None


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
        self.best_step = 0

    def state_dict(self) -> dict:
        return {"step": self.step, "best_val_px": self.best_val_px, "best_step": self.best_step}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.best_val_px = int(state["step"]), float(state["best_val_px"])
        self.best_step = int(state["best_step"])


class BestWeights:
    """A device-side copy of the best weights so far (one fused copy per improvement, no disk
    write in the loop); written to disk with each checkpoint and at the end."""

    def __init__(self) -> None:
        self.weights: dict[str, torch.Tensor] | None = None
        self.unsaved = False

    def update(self, model: torch.nn.Module) -> None:
        current = {k: v.detach() for k, v in model.state_dict().items()}
        if self.weights is None:
            self.weights = {k: v.clone() for k, v in current.items()}
        else:
            torch._foreach_copy_(list(self.weights.values()), list(current.values()))
        self.unsaved = True

    def save(self, path: Path, keypoint_names: list[str], step: int, val_px: float) -> None:
        if self.unsaved:
            export_model(path, self.weights, keypoint_names, step, val_px)
            self.unsaved = False


def exported_model_path(run_dir: Path) -> Path:
    """The model a run stands for: the best on validation, else the last (no validation split)."""
    best = Path(run_dir) / "model_best.safetensors"
    return best if best.is_file() else Path(run_dir) / "model_last.safetensors"
