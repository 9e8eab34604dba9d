"""Mirror-mouse, semi-supervised: the labeled frames of configs/mouse.py plus clips of the bundled
unlabeled video, with temporal smoothness, Pose PCA and multi-view PCA losses.

The top view holds keypoints 0-6 and the bottom view the same body parts as 8-14 (see
data/mirror-mouse-example/README.md); the obstacles (7, 15, 16) move on their own, so they are
left out of both PCA losses. On a GPU each step sees 16 labeled + 16 unlabeled frames.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from mouse import EXAMPLE  # noqa: E402
from mouse import config as supervised_config  # noqa: E402

from lp.config import TrainConfig  # noqa: E402

TOP = (0, 1, 2, 3, 4, 5, 6)
BOTTOM = (8, 9, 10, 11, 12, 13, 14)


def config() -> TrainConfig:
    cfg = supervised_config()
    cfg.unlabeled.video_dir = EXAMPLE / "videos"
    cfg.unlabeled.clip_length = 16 if cfg.train.batch_size >= 16 else 8
    cfg.losses.temporal.enabled = True
    cfg.losses.pca_singleview.enabled = True
    cfg.losses.pca_singleview.keypoints = TOP + BOTTOM
    cfg.losses.pca_multiview.enabled = True
    cfg.losses.pca_multiview.views = (TOP, BOTTOM)
    cfg.losses.unsupervised_start_steps = cfg.train.max_steps // 10
    cfg.losses.unsupervised_full_steps = cfg.train.max_steps // 5
    return cfg
