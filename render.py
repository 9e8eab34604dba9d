"""Look at predictions:
    python render.py video --video V.mp4 --predictions V.csv [more.csv ...]
    python render.py plots --predictions V.csv [...] [--pixel-error RUN/pixel_error.csv ...] --output-dir figures/
    python render.py frames --run-dir RUN1 [RUN2 ...]              FiftyOne app: labels vs. each run
    python render.py fiftyone-video --video V.mp4 --predictions V.csv [...]
    python render.py reencode --video V.mp4 [--output V_cfr.mp4] [--frames N]   a video lp refuses, made readable
"""

from lp.commands import render
from lp.errors import run_cli

if __name__ == "__main__":
    run_cli(render)
