"""Look at predictions:
    python render.py video --video V.mp4 --predictions V.csv [more.csv ...]
    python render.py plots --predictions V.csv [...] [--pixel-error RUN/pixel_error.csv ...] --output-dir figures/
"""

from lp.errors import UserError, run_cli

COMMANDS = ("video", "plots")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        raise UserError(f"render.py needs a command first: {', '.join(COMMANDS)} (e.g. python render.py video --help)")
    from lp.config import RenderPlotsConfig, RenderVideoConfig, cli

    if argv[0] == "video":
        cfg = cli(RenderVideoConfig, None, argv[1:], prog="render.py video")
        from lp.viz.video import render_videos

        output = render_videos(cfg.video, list(cfg.predictions), list(cfg.names), cfg.output,
                               cfg.likelihood_threshold, cfg.show_names)
        print(f"lp: wrote {output}")
    else:
        cfg = cli(RenderPlotsConfig, RenderPlotsConfig(), argv[1:], prog="render.py plots")
        from lp.viz.plots import render_plots

        written = render_plots(list(cfg.predictions), list(cfg.names), list(cfg.pixel_error), cfg.output_dir)
        print(f"lp: wrote {len(written)} plots to {cfg.output_dir}")


if __name__ == "__main__":
    run_cli(main)
