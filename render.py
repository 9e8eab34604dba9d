"""Look at predictions: python render.py video --video V.mp4 --predictions V.csv [more.csv ...]"""

from lp.errors import UserError, run_cli

COMMANDS = ("video",)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        raise UserError(f"render.py needs a command first: {', '.join(COMMANDS)} (e.g. python render.py video --help)")
    from lp.config import RenderVideoConfig, cli

    cfg = cli(RenderVideoConfig, None, argv[1:], prog="render.py video")
    from lp.viz.video import render_videos

    output = render_videos(cfg.video, list(cfg.predictions), list(cfg.names), cfg.output, cfg.likelihood_threshold, cfg.show_names)
    print(f"lp: wrote {output}")


if __name__ == "__main__":
    run_cli(main)
