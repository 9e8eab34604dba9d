"""CPU decoding for prediction: frames/s of one decoder (read_frames) against several threads
decoding stretches of the video at once (read_frames_parallel), per pixel format. The videos are
FFmpeg's testsrc2 pattern encoded with H.264 in each format (needs the ffmpeg program).

    python3 bench/cpu_decode.py --size 1280x720 --frames 1200 --workers 2 4 8 16 --json OUT.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.data.video import probe_video, read_frames, read_frames_parallel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=1200)
    parser.add_argument("--formats", nargs="+", default=["yuv420p", "yuv444p", "yuv422p", "yuv420p10le"])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--stretch", type=int, default=1024)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for pixel_format in args.formats:
            path = Path(work) / f"{pixel_format}.mp4"
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={args.size}:rate=30",
                            "-frames:v", str(args.frames), "-c:v", "libx264", "-pix_fmt", pixel_format, "-g", "60", str(path)],
                           check=True)
            info = probe_video(path)
            start = time.perf_counter()
            count = sum(len(batch) for batch in read_frames(info, 64))
            row = {"bench": "cpu_decode", "cores": os.cpu_count(), "machine": platform.node(), "pixel_format": pixel_format,
                   "size": args.size, "frames": count, "one_decoder_fps": round(count / (time.perf_counter() - start), 1)}
            for workers in args.workers:
                start = time.perf_counter()
                count = sum(len(batch) for _, batch in read_frames_parallel(info, 64, workers, args.stretch))
                row[f"parallel_{workers}_fps"] = round(count / (time.perf_counter() - start), 1)
            print(json.dumps(row), flush=True)
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
