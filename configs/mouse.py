"""Mirror-mouse example: 90 labeled frames, 17 keypoints, top and bottom views in one frame."""

from pathlib import Path

from lp.config import TrainConfig


def config() -> TrainConfig:
    cfg = TrainConfig()
    cfg.data.data_dir = Path("data/mirror-mouse-example")
    return cfg
