"""Predict keypoints on videos: python predict.py --run-dir RUN [RUN ...] --videos FOLDER_OR_FILE"""

from lp.commands import predict
from lp.errors import run_cli

if __name__ == "__main__":
    run_cli(predict)
