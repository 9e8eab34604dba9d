"""Predict keypoints on videos: python predict.py --run-dir RUN [RUN ...] --videos FOLDER_OR_FILE"""

import os
import sys

from lp.errors import run_cli


def main(argv: list[str]) -> None:
    from lp.config import PredictConfig
    from lp.cli import cli

    cfg = cli(PredictConfig, None, argv, prog="predict.py")
    from lp.predict import predict

    # Under `accelerate launch` (or torchrun) each process predicts its own share of the videos on
    # its own GPU; no process group is needed, since the processes never exchange data.
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    device = None
    if world > 1:
        import torch

        if torch.cuda.is_available():
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    predict(cfg, rank, world, device)
    # Every output is written and closed (atomically): skip the interpreter's teardown of CUDA,
    # DALI and thousands of modules, which takes longer than a short video's predictions.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    run_cli(main)
