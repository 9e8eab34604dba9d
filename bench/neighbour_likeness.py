"""Context frames: are image files numbered next to a labeled frame its video neighbours? The
figure lp.data.context.drop_unrelated_files decides by (NEIGHBOUR_LIKENESS), measured on a
labeled project's numbered files and on consecutive frames of videos.

    python3 bench/neighbour_likeness.py --data-dir data/mirror-mouse-example --size 64 128 \
        --videos data/mirror-mouse-example/videos/test_vid.mp4 ../shared/data/sleap-flies-clip/videos/clip.mp4

A project: lp's own measure (each labeled frame against its files at t-1 / t+1, as a fraction of
what labeled frames far apart in the list differ by), at each network input --size. A video:
frames t+1 and t+2 against t, as a fraction of what frames half the video apart differ by (32x32
grey thumbnails, as lp uses). Below NEIGHBOUR_LIKENESS counts as neighbours.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.data.context import (  # noqa: E402
    NEIGHBOUR_LIKENESS, neighbour_likeness, plan_context, thumbnails, unrelated_difference,
)
from lp.data.images import load_images  # noqa: E402
from lp.data.labels import read_labels  # noqa: E402
from lp.data.video import probe_video, read_frames  # noqa: E402


def project_rows(data_dir: Path, size: int) -> list[dict]:
    frames = read_labels(data_dir / "CollectedData.csv")
    images, sizes = load_images(data_dir, frames.image_paths, size, size)
    plan = plan_context(data_dir, frames.image_paths, sizes, [])
    files = [key[1] for key in plan.extra if key[0] == "file"]
    bank = torch.cat([images, load_images(data_dir, files, size, size)[0]]) if files else images
    return [{"bench": "neighbour_likeness", "source": f"{data_dir.name} numbered files", "folder": folder,
             "network_size": size, "labeled_frames": len(indices), "likeness": round(likeness, 3)}
            for folder, (indices, likeness) in neighbour_likeness(plan, bank).items()]


def video_row(path: Path) -> dict:
    info = probe_video(path)
    small = torch.cat([thumbnails(torch.from_numpy(batch).permute(0, 3, 1, 2)) for batch in read_frames(info, 64)])
    unrelated = unrelated_difference(small)
    row = {"bench": "neighbour_likeness", "source": f"{path.name} consecutive frames", "frames": info.num_frames}
    for step in (1, 2):
        difference = float((small[step:] - small[:-step]).abs().mean(1).median())
        row[f"likeness_t+{step}"] = round(difference / unrelated, 4)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, action="append", default=[], help="a labeled project")
    parser.add_argument("--size", type=int, nargs="+", default=[64, 256], help="network input sizes to load it at")
    parser.add_argument("--videos", type=Path, nargs="*", default=[])
    parser.add_argument("--json", type=Path, help="append each row as one JSON line here")
    args = parser.parse_args()
    rows = [row for data_dir in args.data_dir for size in args.size for row in project_rows(data_dir, size)]
    rows += [video_row(path) for path in args.videos]
    for row in rows:
        row["threshold"] = NEIGHBOUR_LIKENESS
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(row) + "\n")
    if not rows:
        sys.exit("nothing measured: give --data-dir and/or --videos")


if __name__ == "__main__":
    main()
