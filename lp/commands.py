"""The three commands, as functions of their arguments: train.py / predict.py / render.py call
them, and so do the console commands lp-train / lp-predict / lp-render that `pip install .`
makes. Imports are made inside, so that `--help` and argument errors come at once."""

from __future__ import annotations

import os
import sys

from lp.errors import UserError, run_cli

RENDER_COMMANDS = ("video", "plots", "frames", "fiftyone-video", "reencode")


def train(argv: list[str], prog: str = "train.py") -> None:
    """train.py / lp-train: --config FILE, then any field as --section.field value."""
    from lp.cli import parse_train_args

    cfg = parse_train_args(argv, prog=prog)
    from lp.engine.loop import train as train_run

    train_run(cfg)


def predict(argv: list[str], prog: str = "predict.py") -> None:
    """predict.py / lp-predict. Under `accelerate launch` (or torchrun) each process predicts its
    own share of the videos on its own GPU. The processes exchange no data; they meet once, in a
    barrier, only when a long video was cut into parts, before its parts are joined."""
    from lp.cli import cli
    from lp.config import PredictConfig

    cfg = cli(PredictConfig, None, argv, prog=prog)
    from lp.predict import predict as predict_videos

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    device = None
    if world > 1:
        import torch

        if torch.cuda.is_available():
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    predict_videos(cfg, rank, world, device, wait_for_all_processes)
    # Every output is written and closed (atomically): skip the interpreter's teardown of CUDA,
    # DALI and thousands of modules, which takes longer than a short video's predictions.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def wait_for_all_processes() -> None:
    """A barrier across the launched processes: gloo, through the launcher's rendezvous (begun on
    the first call). The wait is as long as one process's share can outlast another's."""
    from datetime import timedelta

    import torch.distributed as dist

    if not dist.is_initialized():
        if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
            raise UserError("several processes (WORLD_SIZE > 1) without MASTER_ADDR / MASTER_PORT: start them with accelerate launch or torchrun")
        dist.init_process_group("gloo", timeout=timedelta(hours=24))
    dist.barrier()


def render(argv: list[str], prog: str = "render.py") -> None:
    """render.py / lp-render: video, plots, frames, fiftyone-video, reencode."""
    if not argv or argv[0] not in RENDER_COMMANDS:
        raise UserError(f"{prog} needs a command first: {', '.join(RENDER_COMMANDS)} (e.g. {prog} video --help)")
    from lp.config import ReencodeConfig, RenderFiftyOneVideoConfig, RenderFramesConfig, RenderPlotsConfig, RenderVideoConfig
    from lp.cli import cli

    if argv[0] == "video":
        cfg = cli(RenderVideoConfig, None, argv[1:], prog=f"{prog} video")
        from lp.viz.video import render_videos

        output = render_videos(cfg.video, list(cfg.predictions), list(cfg.names), cfg.output,
                               cfg.likelihood_threshold, cfg.show_names)
        print(f"lp: wrote {output}")
    elif argv[0] == "frames":
        cfg = cli(RenderFramesConfig, None, argv[1:], prog=f"{prog} frames")
        from lp.viz.fiftyone_app import build_frames_dataset, launch

        dataset = build_frames_dataset(list(cfg.run_dir), list(cfg.names), cfg.data_dir, cfg.dataset_name)
        print(f"lp: FiftyOne dataset '{dataset.name}': {len(dataset)} labeled frames")
        if cfg.launch:
            launch(dataset, cfg.remote, cfg.port)
    elif argv[0] == "fiftyone-video":
        cfg = cli(RenderFiftyOneVideoConfig, None, argv[1:], prog=f"{prog} fiftyone-video")
        from lp.viz.fiftyone_app import build_video_dataset, launch

        dataset = build_video_dataset(cfg.video, list(cfg.predictions), list(cfg.names), cfg.dataset_name)
        print(f"lp: FiftyOne dataset '{dataset.name}': {cfg.video} with {len(cfg.predictions)} model(s)")
        if cfg.launch:
            launch(dataset, cfg.remote, cfg.port)
    elif argv[0] == "reencode":
        cfg = cli(ReencodeConfig, None, argv[1:], prog=f"{prog} reencode")
        from lp.viz.video import reencode_video

        output, count = reencode_video(cfg.video, cfg.output, cfg.frames)
        print(f"lp: wrote {output} ({count} frames)")
    else:
        cfg = cli(RenderPlotsConfig, RenderPlotsConfig(), argv[1:], prog=f"{prog} plots")
        from lp.viz.plots import render_plots

        written = render_plots(list(cfg.predictions), list(cfg.names), list(cfg.pixel_error), cfg.output_dir)
        print(f"lp: wrote {len(written)} plots to {cfg.output_dir}")



def lp_train() -> None:
    run_cli(lambda argv: train(argv, prog="lp-train"))


def lp_predict() -> None:
    run_cli(lambda argv: predict(argv, prog="lp-predict"))


def lp_render() -> None:
    run_cli(lambda argv: render(argv, prog="lp-render"))
