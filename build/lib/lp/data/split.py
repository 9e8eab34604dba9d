"""Deterministic train/val/test split of labeled frames."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def compute_split(
    num_frames: int, val_fraction: float, test_fraction: float, seed: int, train_frames: int | None = None
) -> dict[str, np.ndarray]:
    """Index arrays per split. The same arguments always give the same split; `train_frames`
    keeps a fixed subset of the train split (the val and test splits do not change)."""
    order = np.random.default_rng(seed).permutation(num_frames)
    num_val = int(round(num_frames * val_fraction))
    num_test = int(round(num_frames * test_fraction))
    num_train = num_frames - num_val - num_test
    if num_train < 1:
        raise ValueError(f"{num_frames} labeled frames leave none for training with these fractions")
    split = {
        "train": np.sort(order[:num_train]),
        "val": np.sort(order[num_train : num_train + num_val]),
        "test": np.sort(order[num_train + num_val :]),
    }
    if train_frames is not None:
        split["train"] = np.sort(order[: min(train_frames, num_train)])
    return split


def split_names(split: dict[str, np.ndarray], num_frames: int) -> list[str]:
    """The split name of every frame ('unused' for train frames left out by a subset)."""
    names = ["unused"] * num_frames
    for name, indices in split.items():
        for i in indices:
            names[i] = name
    return names
