"""Unlabeled clip stream alone: frames/s of resized clips ready for the network (decoded,
resized to --size, as float in [0, 1] on the device), DALI (GPU) or PyAV (CPU) reader.

    python bench/clip_stream.py --reader dali --size 256 --clip-length 16 --clips 4 --steps 200
    python bench/clip_stream.py --make-video DIR   # a long video with a key frame every 250 frames, then:
    python bench/clip_stream.py --reader cpu --shuffle --videos DIR --clips 1 --steps 400
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.config import UnlabeledConfig  # noqa: E402
from lp.data.unlabeled import ClipStream  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", default="auto", choices=["auto", "dali", "cpu"])
    parser.add_argument("--videos", type=Path, default=Path("data/mirror-mouse-example/videos"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--clip-length", type=int, default=16)
    parser.add_argument("--clips", type=int, default=1, help="clips per step")
    parser.add_argument("--shuffle", action="store_true", help="clips at random starts (default: in order)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json", type=Path, help="append the result as one JSON line here")
    parser.add_argument("--make-video", type=Path, help="only: write DIR/long.mp4 (8000 frames, 400x400, H.264, "
                        "a key frame every 250 frames) for --videos DIR")
    args = parser.parse_args()
    if args.make_video:
        from bench.cpu_decode import make_video

        args.make_video.mkdir(parents=True, exist_ok=True)
        print(make_video(args.make_video / "long.mp4", "400x400", 8000, "yuv420p", gop=250))
        return

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg = UnlabeledConfig(video_dir=args.videos, clip_length=args.clip_length, clips_per_step=args.clips, reader=args.reader,
                          shuffle=args.shuffle)
    stream = ClipStream(cfg, (args.size, args.size), device, 0, 1, seed=0, first_step=0, augmentation="none")
    warmup = 10
    for step in range(warmup):
        stream.next(step)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for step in range(warmup, warmup + args.steps):
        batch = stream.next(step)
    sync()
    elapsed = time.perf_counter() - start
    frames = args.steps * args.clips * args.clip_length
    row = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "reader": stream.reader_name,
        "size": args.size, "clip_length": args.clip_length, "clips": args.clips, "shuffle": args.shuffle, "steps": args.steps,
        "frames_per_s": round(frames / elapsed, 1), "shape": list(batch.images.shape),
        "pixel_formats": sorted({info.pixel_format for info in stream.infos}),
    }
    print("BENCH clip_stream " + json.dumps(row))
    if args.json:
        with open(args.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
