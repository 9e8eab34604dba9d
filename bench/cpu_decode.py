"""CPU decoding for prediction: frames/s of one decoder (read_frames) against several threads
decoding stretches of the video at once (read_frames_parallel), per pixel format. The videos are
FFmpeg's testsrc2 pattern encoded with H.264 in each format by the ffmpeg program, or where there
is none, a moving pattern with a fixed noise texture encoded by PyAV (the row's "source" says which).

    python3 bench/cpu_decode.py --size 1280x720 --frames 4800 --stretch 256 --workers 4 8 16 --json OUT.jsonl
(read_frames_parallel runs at most one decoder per stretch: frames / stretch must reach the
largest --workers.)
    python3 bench/cpu_decode.py --size 1280x720 --conversion-threads 1 2   # the 4:2:0 conversion alone
    python3 bench/cpu_decode.py --formats yuv444p --frames 3000 --keep DIR   # keep the videos in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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
    parser.add_argument("--keep", type=Path, help="write the videos here (and keep them) instead of a temporary folder")
    parser.add_argument("--conversion-threads", type=int, nargs="+",
                        help="only: frames/s of lp's 4:2:0 colour conversion at --size in this many threads at once")
    args = parser.parse_args()
    if args.conversion_threads:
        return conversion_speed(args.size, args.conversion_threads)
    with tempfile.TemporaryDirectory() as work:
        folder = args.keep or Path(work)
        folder.mkdir(parents=True, exist_ok=True)
        for pixel_format in args.formats:
            path = folder / f"{pixel_format}.mp4"
            source = make_video(path, args.size, args.frames, pixel_format)
            info = probe_video(path)
            start = time.perf_counter()
            count = sum(len(batch) for batch in read_frames(info, 64))
            row = {"bench": "cpu_decode", "cores": os.cpu_count(), "machine": platform.node(), "source": source,
                   "pixel_format": pixel_format, "stretch": args.stretch,
                   "size": args.size, "frames": count, "one_decoder_fps": round(count / (time.perf_counter() - start), 1)}
            stretches = -(-count // args.stretch)
            if max(args.workers) > stretches:
                print(f"note: {stretches} stretches of {args.stretch} frames: at most {stretches} decoders work at once "
                      f"(lower --stretch or raise --frames)", file=sys.stderr)
            for workers in args.workers:
                start = time.perf_counter()
                count = sum(len(batch) for _, batch in read_frames_parallel(info, 64, workers, args.stretch))
                row[f"parallel_{workers}_fps"] = round(count / (time.perf_counter() - start), 1)
            print(json.dumps(row), flush=True)
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps(row) + "\n")


def conversion_speed(size: str, thread_counts: list[int], frames: int = 40) -> None:
    """lp.data.yuv.yuv420_to_rgb on random planes, `frames` per thread, all threads at once."""
    import threading

    import numpy as np

    from lp.data.yuv import yuv420_to_rgb

    width, height = (int(v) for v in size.split("x"))
    rng = np.random.default_rng(0)
    y = rng.integers(16, 236, (height, width), dtype=np.uint8)
    u, v = (rng.integers(16, 241, ((height + 1) // 2, (width + 1) // 2), dtype=np.uint8) for _ in "uv")
    for count in thread_counts:
        threads = [threading.Thread(target=lambda: [yuv420_to_rgb(y, u, v) for _ in range(frames)]) for _ in range(count)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rate = count * frames / (time.perf_counter() - start)
        print(json.dumps({"bench": "yuv420_conversion", "cores": os.cpu_count(), "size": size, "threads": count,
                          "frames_per_s": round(rate, 1)}), flush=True)


def make_video(path: Path, size: str, frames: int, pixel_format: str, gop: int = 60) -> str:
    """An H.264 video of `frames` frames at size WxH in `pixel_format`, a key frame at least every
    `gop` frames; returns how it was made."""
    if shutil.which("ffmpeg"):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
                        "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", pixel_format, "-g", str(gop), str(path)],
                       check=True)
        return "ffmpeg testsrc2"
    import av
    import numpy as np

    width, height = (int(v) for v in size.split("x"))
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 64, (height, width + frames, 3), dtype=np.uint8)  # slides one pixel a frame
    y, x = np.mgrid[:height, :width]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"g": str(gop), "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        for t in range(frames):
            picture = texture[:, t : t + width].copy()
            centre = (width / 2 + width / 3 * np.cos(t / 40), height / 2 + height / 3 * np.sin(t / 40))
            disc = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < (height / 8) ** 2
            picture[disc] = (230, 120, 40)
            picture[:, :, 2] += (x * 128 // width).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return "pyav pattern"


if __name__ == "__main__":
    main()
