"""Mirror-mouse example: 90 labeled frames, 17 keypoints, top and bottom views in one frame.

On a GPU: ResNet-50 at 256x256 for 2000 steps (about a minute on an H100). On a CPU-only
machine the same network would take hours, so the CPU setting is ResNet-18 at 128x128 for
1000 steps of 8 frames. Either way every field can be overridden on the command line, and
the run's config.yaml records what was used. Weights start random so that this runs offline;
add `--model.backbone.weights imagenet` when online for better accuracy.
"""

from pathlib import Path

import torch

from lp.config import TrainConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "mirror-mouse-example"
"""The bundled example, found from this file so that the config works from any directory."""


def config() -> TrainConfig:
    cfg = TrainConfig()
    cfg.data.data_dir = EXAMPLE
    # body axis and tail in each view, drawn when browsing frames in FiftyOne
    cfg.data.skeleton = tuple(
        pair for view in ("top", "bot") for pair in
        ((f"nose_{view}", f"tailBase_{view}"), (f"tailBase_{view}", f"tailMid_{view}"))
    )
    cfg.model.backbone.arch = "resnet50"
    cfg.train.max_steps = 2000
    cfg.train.batch_size = 16
    if not torch.cuda.is_available():
        cfg.model.backbone.arch = "resnet18"
        cfg.data.image_height = cfg.data.image_width = 128
        cfg.train.max_steps = 1000
        cfg.train.batch_size = 8
        cfg.eval.val_every_steps = 100
    return cfg
