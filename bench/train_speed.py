"""Training throughput: the whole loop (data, augmentation, heatmaps, logging, validation,
checkpoints) vs. the network alone (forward, loss, backward, optimizer step on a fixed batch),
same model, batch and precision, in one process. Their ratio is the pipeline efficiency.

    python bench/train_speed.py --arch resnet50 --size 256 --batch 16 --precision fp32 --steps 300
    python bench/train_speed.py --semi --clip-length 16 ...   # + one unlabeled clip per step

With --semi (configs/mouse_semi.py: temporal, Pose PCA and multi-view PCA losses on clips of the
example video) the network alone runs on batch + clip-length images, and images/s count labeled
and unlabeled frames alike.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lp.cli import parse_train_args  # noqa: E402
from lp.data.heatmaps import compute_heatmaps  # noqa: E402
from lp.data.batch import LabeledBatch  # noqa: E402
from lp.engine.loop import build_optimizer, train  # noqa: E402
from lp.losses import LossBundle  # noqa: E402
from lp.models import build_model  # noqa: E402


def network_alone(cfg, steps: int, device: torch.device, extra: int = 0) -> float:
    """Images/s of forward + loss + backward + Adam step on one fixed batch (plus `extra`
    images that go through the network but not the supervised loss)."""
    size, batch = cfg.data.image_height, cfg.train.batch_size
    model = build_model(cfg.model, 17, (size, size)).to(device)
    channels_last = device.type == "cuda" and cfg.train.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg.optim, model, device)
    forward = torch.compile(model, mode="reduce-overhead") if cfg.train.compile and device.type == "cuda" else model
    losses = LossBundle(cfg.losses, cfg.model)
    images = torch.rand(batch + extra, 3, size, size, device=device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    keypoints = torch.rand(batch, 17, 2, device=device) * (size - 1)
    heatmaps = compute_heatmaps(keypoints, (size, size), cfg.model.heatmap_downsample, cfg.model.heatmap_sigma_px)
    data = LabeledBatch(images, keypoints, heatmaps)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.train.precision)

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss, _ = losses(forward(images)[:batch], data)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(10):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * (batch + extra) / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--steps", type=int, default=600, help="loop steps")
    parser.add_argument("--compile", action="store_true", help="--train.compile True")
    parser.add_argument("--semi", action="store_true", help="configs/mouse_semi.py: + unlabeled clips and losses")
    parser.add_argument("--clip-length", type=int, default=16, help="--semi: frames per unlabeled clip")
    parser.add_argument("--reader", default="auto", choices=["auto", "dali", "cpu"], help="--semi: clip reader")
    parser.add_argument("--json", type=Path, help="append the result as one JSON line here")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = parse_train_args([
            "--config", str(ROOT / ("configs/mouse_semi.py" if args.semi else "configs/mouse.py")), "--run.output-dir", run_dir,
            "--model.backbone.arch", args.arch, "--data.image-height", str(args.size), "--data.image-width", str(args.size),
            "--train.batch-size", str(args.batch), "--train.precision", args.precision,
            "--train.max-steps", str(args.steps), "--eval.val-every-steps", "100", "--train.log-every-steps", "50",
            "--train.compile", str(args.compile),
            *(["--unlabeled.clip-length", str(args.clip_length), "--unlabeled.reader", args.reader] if args.semi else []),
        ])
        extra = cfg.unlabeled.clips_per_step * cfg.unlabeled.clip_length if args.semi else 0
        alone = network_alone(cfg, 200, device, extra)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        result = train(cfg)
        # Log steps end with a device sync (.item()), so time between two of them: from step 100
        # to the last log step before the end; validation, logging and checkpoints in between count.
        times, log_every = result.step_times_s, cfg.train.log_every_steps
        first, last = 100, (args.steps - 1) // log_every * log_every
        loop = (last - first) * (args.batch + extra) / (times[last - 1] - times[first - 1])
        peak_gib = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    row = {
        "device": name, "arch": args.arch, "size": args.size, "batch": args.batch, "precision": args.precision,
        "steps": args.steps, "loop_images_per_s": round(loop, 1), "network_images_per_s": round(alone, 1),
        "compile": args.compile, "unlabeled_per_step": extra, "efficiency": round(loop / alone, 3), "peak_gib": round(peak_gib, 2),
        "test_px": round(result.pixel_error.get("test", {}).get("mean", float("nan")), 2),
    }
    print("BENCH train_speed " + json.dumps(row))
    if args.json:
        with open(args.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
