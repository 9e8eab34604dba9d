"""predict.py speed: the whole command (start to exit) on the example video and on longer
copies of it, the steady state from file to CSV written, and the network alone, in one run.

    python bench/predict_speed.py --arch resnet50 --size 256 --precision bf16 --repeats 10 21
    python bench/predict_speed.py --video yuv444p.mp4     # another video instead of the example's

The model is a ResNet at --size with random weights (speed does not depend on them), written as
a run directory; the long videos are the example video repeated by stream copy (no re-encoding).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lp.config import PredictConfig  # noqa: E402
from lp.cli import dump_config, parse_train_args  # noqa: E402
from lp.data.labels import read_labels  # noqa: E402
from lp.data.video import probe_video  # noqa: E402
from lp.engine.checkpoint import export_model  # noqa: E402
from lp.inference import Model  # noqa: E402
from lp.models import build_model  # noqa: E402
from lp.predict import predict  # noqa: E402

EXAMPLE = ROOT / "data" / "mirror-mouse-example"


def make_run(run_dir: Path, arch: str, size: int) -> None:
    cfg = parse_train_args(["--config", str(ROOT / "configs/mouse.py"), "--model.backbone.arch", arch,
                            "--data.image-height", str(size), "--data.image-width", str(size)])
    names = read_labels(EXAMPLE / "CollectedData.csv").keypoint_names
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(dump_config(cfg))
    export_model(run_dir / "model_best.safetensors", build_model(cfg.model, len(names), (size, size)).state_dict(), names, 0, 0.0)


def repeat_video(source: Path, times: int, target: Path) -> None:
    """The source video `times` times in a row, packets copied with shifted time stamps."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        packets = [p for p in src.demux(in_stream) if p.size > 0]
        span = max(p.pts for p in packets) - min(p.pts for p in packets) + (packets[1].duration or 1)
        for i in range(times):
            for packet in packets:
                copy = av.Packet(bytes(packet))
                copy.pts, copy.dts = packet.pts + i * span, packet.dts + i * span
                copy.time_base, copy.stream = packet.time_base or Fraction(in_stream.time_base), out_stream
                copy.is_keyframe = packet.is_keyframe
                dst.mux(copy)


def whole_command(run_dir: Path, video: Path, out: Path, precision: str, reader: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "predict.py"), "--run-dir", str(run_dir), "--videos", str(video),
                    "--output-dir", str(out), "--precision", precision, "--reader", reader, "--overwrite", "True"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def network_alone(run_dir: Path, precision: str, batch: int, height: int, width: int) -> float:
    model = Model.from_dir(run_dir, precision=precision)
    frames = torch.randint(0, 255, (batch, 3, height, width), dtype=torch.uint8, device=model.device)
    for _ in range(5):
        model.predict_tensor(frames)
    sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
    sync()
    start, repeats = time.perf_counter(), 30
    for _ in range(repeats):
        model.predict_tensor(frames)
    sync()
    return repeats * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--reader", default="auto", choices=["auto", "dali", "cpu"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, nargs="*", default=[10, 21], help="long videos: the example this many times")
    parser.add_argument("--video", type=Path, help="this video instead of the example and its repeats")
    parser.add_argument("--network-only", action="store_true", help="only the network-alone frames/s")
    parser.add_argument("--json", type=Path, help="append the result as one JSON line here")
    args = parser.parse_args()

    video = args.video.resolve() if args.video else EXAMPLE / "videos" / "test_vid.mp4"
    repeats = [] if args.video else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_run(tmp / "run", args.arch, args.size)
        if args.network_only:
            rate = network_alone(tmp / "run", args.precision, args.batch, 406, 396)
            print("BENCH predict_network " + json.dumps({"arch": args.arch, "size": args.size, "frames_per_s": round(rate, 1)}))
            return
        videos = {1: video}
        for times in repeats:
            videos[times] = tmp / f"x{times}" / "test_vid.mp4"
            videos[times].parent.mkdir()
            repeat_video(video, times, videos[times])
        frames = {times: probe_video(path).num_frames for times, path in videos.items()}
        row = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu", "arch": args.arch,
               "size": args.size, "precision": args.precision, "batch": args.batch, "reader": args.reader,
               "video": video.name, "pixel_format": probe_video(video).pixel_format, "cpu_cores": os.cpu_count()}
        # The very first command pays for cold file caches and Python byte-compilation; report it
        # apart, then every video with warm caches (as a user's second and later runs).
        row[f"first_command_s_{frames[1]}"] = round(whole_command(tmp / "run", video, tmp / "cold", args.precision, args.reader), 2)
        for times, path in videos.items():
            row[f"command_s_{frames[times]}"] = round(whole_command(tmp / "run", path, tmp / f"out{times}", args.precision, args.reader), 2)
        # Where the fixed cost of one command goes (stages of a fresh process)
        staged = subprocess.run([sys.executable, str(ROOT / "bench/predict_startup.py"), str(tmp / "run"), str(video),
                                 "--precision", args.precision, "--reader", args.reader],
                                cwd=ROOT, capture_output=True, text=True, check=True)
        row[f"stages_s_{frames[1]}"] = [line for line in staged.stdout.splitlines() if line.startswith("BENCH")][0].split(" ", 2)[2]
        # Steady state in this process: once warm, from the file to the CSV written.
        longest = max(videos)
        cfg = PredictConfig(run_dir=(tmp / "run",), videos=videos[1], output_dir=tmp / "warm", precision=args.precision,
                            batch_size=args.batch, reader=args.reader)
        predict(cfg)
        cfg.videos, cfg.output_dir = videos[longest], tmp / "steady"
        start = time.perf_counter()
        predict(cfg)
        row[f"steady_frames_per_s_{frames[longest]}"] = round(frames[longest] / (time.perf_counter() - start), 1)
        row["network_frames_per_s"] = round(network_alone(tmp / "run", args.precision, args.batch, 406, 396), 1)
    print("BENCH predict_speed " + json.dumps(row))
    if args.json:
        with open(args.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
