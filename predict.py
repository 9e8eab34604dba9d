"""Predict keypoints on videos: python predict.py --run-dir RUN [RUN ...] --videos FOLDER_OR_FILE"""

from lp.errors import run_cli


def main(argv: list[str]) -> None:
    from lp.config import PredictConfig, cli

    cfg = cli(PredictConfig, None, argv, prog="predict.py")
    from lp.predict import predict

    predict(cfg)


if __name__ == "__main__":
    run_cli(main)
