"""Look at predictions:
    python render.py video --video V.mp4 --predictions V.csv [more.csv ...]
    python render.py plots --predictions V.csv [...] [--pixel-error RUN/pixel_error.csv ...] --output-dir figures/
    python render.py frames --run-dir RUN1 [RUN2 ...]              FiftyOne app: labels vs. each run
    python render.py fiftyone-video --video V.mp4 --predictions V.csv [...]
    python render.py reencode --video V.mp4 [--output V_cfr.mp4] [--frames N]   a video lp refuses, made readable
"""

from lp.errors import UserError, run_cli

COMMANDS = ("video", "plots", "frames", "fiftyone-video", "reencode")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        raise UserError(f"render.py needs a command first: {', '.join(COMMANDS)} (e.g. python render.py video --help)")
    from lp.config import ReencodeConfig, RenderFiftyOneVideoConfig, RenderFramesConfig, RenderPlotsConfig, RenderVideoConfig
    from lp.cli import cli

    if argv[0] == "video":
        cfg = cli(RenderVideoConfig, None, argv[1:], prog="render.py video")
        from lp.viz.video import render_videos

        output = render_videos(cfg.video, list(cfg.predictions), list(cfg.names), cfg.output,
                               cfg.likelihood_threshold, cfg.show_names)
        print(f"lp: wrote {output}")
    elif argv[0] == "frames":
        cfg = cli(RenderFramesConfig, None, argv[1:], prog="render.py frames")
        from lp.viz.fiftyone_app import build_frames_dataset, launch

        dataset = build_frames_dataset(list(cfg.run_dir), list(cfg.names), cfg.data_dir, cfg.dataset_name)
        print(f"lp: FiftyOne dataset '{dataset.name}': {len(dataset)} labeled frames")
        if cfg.launch:
            launch(dataset, cfg.remote, cfg.port)
    elif argv[0] == "fiftyone-video":
        cfg = cli(RenderFiftyOneVideoConfig, None, argv[1:], prog="render.py fiftyone-video")
        from lp.viz.fiftyone_app import build_video_dataset, launch

        dataset = build_video_dataset(cfg.video, list(cfg.predictions), list(cfg.names), cfg.dataset_name)
        print(f"lp: FiftyOne dataset '{dataset.name}': {cfg.video} with {len(cfg.predictions)} model(s)")
        if cfg.launch:
            launch(dataset, cfg.remote, cfg.port)
    elif argv[0] == "reencode":
        cfg = cli(ReencodeConfig, None, argv[1:], prog="render.py reencode")
        from lp.viz.video import reencode_video

        output, count = reencode_video(cfg.video, cfg.output, cfg.frames)
        print(f"lp: wrote {output} ({count} frames)")
    else:
        cfg = cli(RenderPlotsConfig, RenderPlotsConfig(), argv[1:], prog="render.py plots")
        from lp.viz.plots import render_plots

        written = render_plots(list(cfg.predictions), list(cfg.names), list(cfg.pixel_error), cfg.output_dir)
        print(f"lp: wrote {len(written)} plots to {cfg.output_dir}")


if __name__ == "__main__":
    run_cli(main)
