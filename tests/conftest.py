"""Shared fixtures: a tiny synthetic labeled project written in tmp_path, and the example data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "mirror-mouse-example"


def write_project(
    root: Path, num_frames: int = 12, size_wh: tuple[int, int] = (80, 60), names=("nose", "left", "right"), seed: int = 0,
    frame_step: int = 1,
) -> np.ndarray:
    """Grayscale PNGs with a bright dot under each keypoint and a DeepLabCut CSV; returns the labels.
    Frame i is named img<i * frame_step>.png (a step over 2: no frame has neighbouring files). As
    in a video, the background is one texture whose brightness drifts with the frame number, so
    frames numbered next to each other look alike (lp.data.context tells neighbours that way)."""
    rng = np.random.default_rng(seed)
    (root / "labeled-data").mkdir(parents=True, exist_ok=True)
    width, height = size_wh
    labels = np.stack([rng.uniform(5, width - 5, (num_frames, len(names))), rng.uniform(5, height - 5, (num_frames, len(names)))], -1)
    labels[1, 0] = np.nan  # one unlabeled keypoint
    lines = [
        ",".join(["scorer"] + ["me"] * 2 * len(names)),
        ",".join(["bodyparts"] + [n for n in names for _ in "xy"]),
        ",".join(["coords"] + ["x", "y"] * len(names)),
    ]
    texture = rng.uniform(0, 40, (height, width))
    for i in range(num_frames):
        image = (texture + 2 * i * frame_step).clip(0, 200).astype(np.uint8)
        for x, y in labels[i]:
            if np.isfinite(x):
                image[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2] = 255
        Image.fromarray(image).save(root / "labeled-data" / f"img{i * frame_step:03d}.png")
        cells = ["" if not np.isfinite(v) else f"{v:.3f}" for v in labels[i].ravel()]
        lines.append(",".join([f"labeled-data/img{i * frame_step:03d}.png"] + cells))
    (root / "CollectedData.csv").write_text("\n".join(lines) + "\n")
    return labels


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path / "project")
    return tmp_path / "project"


def tiny_args(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    """Flags for a training run of a few seconds on the CPU."""
    return [
        "--data.data-dir", str(data_dir), "--run.output-dir", str(run_dir),
        "--model.backbone.arch", "resnet18", "--data.image-height", "64", "--data.image-width", "64",
        "--train.batch-size", "4", "--train.max-steps", "4", "--eval.val-every-steps", "2",
        "--train.checkpoint-every-steps", "2", "--train.log-every-steps", "2", "--data.val-fraction", "0.2",
        "--data.test-fraction", "0.2", *extra,
    ]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run trained for a few steps on the synthetic project (one per test module)."""
    from lp.cli import parse_train_args
    from lp.engine.loop import train

    root = tmp_path_factory.mktemp("trained")
    write_project(root / "project")
    train(parse_train_args(tiny_args(root / "project", root / "run")))
    return root / "run"
