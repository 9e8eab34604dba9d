"""render.py video speed: frames/s rendering the 994-frame example video (396x406) with
--models prediction tracks of its 17 keypoints (random positions), whole render.

    python bench/render_speed.py --models 2
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lp.data.video import probe_video  # noqa: E402
from lp.io import keypoint_table, write_numeric_csv  # noqa: E402
from lp.viz.video import render_videos  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2)
    args = parser.parse_args()
    video = ROOT / "data/mirror-mouse-example/videos/test_vid.mp4"
    info = probe_video(video)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for m in range(args.models):
            xy = rng.uniform(0, 390, (info.num_frames, 17, 2))
            path = Path(tmp) / f"m{m}.csv"
            write_numeric_csv(path, keypoint_table(xy, np.ones((info.num_frames, 17)), [f"k{i}" for i in range(17)],
                                                   "m", pd.RangeIndex(info.num_frames, name="frame")))
            paths.append(path)
        start = time.perf_counter()
        render_videos(video, paths, [], Path(tmp) / "out.mp4", 0.9, False)
        elapsed = time.perf_counter() - start
    row = {"frames": info.num_frames, "size": [info.width, info.height], "models": args.models,
           "frames_per_s": round(info.num_frames / elapsed, 1), "seconds": round(elapsed, 2)}
    print("BENCH render_speed " + json.dumps(row))


if __name__ == "__main__":
    main()
