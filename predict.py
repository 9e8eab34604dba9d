"""Predict keypoints on videos: python predict.py --run-dir RUN [RUN ...] --videos FOLDER_OR_FILE"""

import os
import sys

from lp.errors import run_cli


def main(argv: list[str]) -> None:
    from lp.config import PredictConfig, cli

    cfg = cli(PredictConfig, None, argv, prog="predict.py")
    from lp.predict import predict

    predict(cfg)
    # Every output is written and closed (atomically): skip the interpreter's teardown of CUDA,
    # DALI and thousands of modules, which takes longer than a short video's predictions.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    run_cli(main)
