"""Where a training step's time goes: torch.profiler over steps of the real loop, with each stage
(labeled batch, clips, network and losses, backward, optimizer: the labels train_step itself
sets) reported per step as host time and GPU kernel time. It runs the loop's own `build_run` and
`train_step`, unchanged. For finding what keeps the pipeline efficiency below 1, and, launched on
several GPUs, what the gradient all-reduce (NCCL kernels) and the wait for the other processes
add to a step; the main process prints.

    python bench/profile_step.py --semi --precision fp32 [--compile] [--steps 40]
    python bench/profile_step.py --flops     # the network's arithmetic per frame (any machine)
    python bench/profile_step.py --semi --precision bf16 --batch 64 --clips 4     # 64 + 64 frames, ResNet-50 256x256
    accelerate launch --multi_gpu --num_processes 2 bench/profile_step.py --semi --precision bf16 --batch 32
"""

from __future__ import annotations

import argparse
import warnings
import sys
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, schedule

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import accelerate  # noqa: E402

from lp.cli import parse_train_args  # noqa: E402
from lp.engine.loop import PRECISION, build_run, train_step  # noqa: E402


def flops_per_frame(arch: str, size: int) -> float:
    """Floating-point operations (a multiply-add counts 2) of one frame's forward and backward
    through the training network (backbone and heatmap head, 17 keypoints), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    from lp.config import ModelConfig
    from lp.models import build_model

    model_cfg = ModelConfig()
    model_cfg.backbone.arch = arch
    model = build_model(model_cfg, 17, (size, size)).train()
    with FlopCounterMode(display=False) as counter:
        model(torch.rand(2, 3, size, size)).sum().backward()
    return counter.get_total_flops() / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--semi", action="store_true")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--batch", type=int, default=16, help="labeled frames per step, over all processes")
    parser.add_argument("--clips", type=int, default=1, help="--semi: clips per step per process")
    parser.add_argument("--clip-length", type=int, default=16, help="--semi: frames per clip")
    parser.add_argument("--arch", default="resnet50", help="as bench/train_speed.py and bench/scaling.py")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30, help="steps profiled (after 60 warm-up steps)")
    parser.add_argument("--flops", action="store_true", help="only print the forward + backward GFLOP of one frame")
    args = parser.parse_args()
    if args.flops:
        gflop = flops_per_frame(args.arch, args.size) / 1e9
        print(f"{args.arch} at {args.size}x{args.size}: {gflop:.2f} GFLOP per frame, forward + backward")
        return
    warmup = 60
    warnings.simplefilter("default")  # each synchronizing place once
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = parse_train_args([
            "--config", str(ROOT / ("configs/mouse_semi.py" if args.semi else "configs/mouse.py")), "--run.output-dir", run_dir,
            "--model.backbone.arch", args.arch, "--data.image-height", str(args.size), "--data.image-width", str(args.size),
            "--train.batch-size", str(args.batch), "--train.precision", args.precision,
            "--train.max-steps", str(warmup + args.steps + 2), "--eval.val-every-steps", "100000",
            "--train.log-every-steps", "100000", "--train.checkpoint-every-steps", "100000",
            "--train.compile", str(args.compile), "--unlabeled.clips-per-step", str(args.clips),
            "--unlabeled.clip-length", str(args.clip_length),
            *(["--unlabeled.reader", "dali"] if args.semi and torch.cuda.is_available() else []),
        ])
        run = build_run(cfg, accelerate.Accelerator(mixed_precision=PRECISION[args.precision], cpu=not torch.cuda.is_available()))
        run.model.train()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA],
                     schedule=schedule(wait=warmup, warmup=1, active=args.steps, repeat=1)) as prof:
            for step in range(warmup + args.steps + 1):
                if step == warmup and torch.cuda.is_available():  # from here on every host-device sync warns, with its place
                    torch.cuda.set_sync_debug_mode("warn")
                train_step(run, step)  # the loop's own step function
                prof.step()
        if torch.cuda.is_available():
            torch.cuda.set_sync_debug_mode("default")
        if not run.accelerator.is_main_process:
            return
    events = prof.key_averages()
    per_step = 1 / args.steps
    world = run.accelerator.num_processes
    print(f"per step (ms), {args.steps} steps, {'compiled' if args.compile else 'eager'} {args.precision}, "
          f"{args.batch} labeled + {args.clips * cfg.unlabeled.clip_length * world * args.semi} unlabeled frames, {world} process(es):")
    print(f"  {'stage':<28} {'host':>8} {'GPU':>8}")
    for event in sorted(events, key=lambda e: -e.cpu_time_total):
        if event.key.startswith("stage: "):
            gpu = getattr(event, "device_time_total", getattr(event, "cuda_time_total", 0))
            print(f"  {event.key:<28} {event.cpu_time_total * per_step / 1000:8.2f} {gpu * per_step / 1000:8.2f}")
    wall = sum(e.cpu_time_total for e in events if e.key.startswith("ProfilerStep"))
    print(f"  {'whole step (wall)':<28} {wall * per_step / 1000:8.2f}")
    kernels = sum(getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0)) for e in events)
    launches = sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC"))
    syncs = {e.key: e.count for e in events if "Synchronize" in e.key or "cudaMemcpy" in e.key and "Async" not in e.key}
    print(f"  GPU kernel time {kernels * per_step / 1000:.2f} ms/step, {launches / args.steps:.0f} launches/step, syncs {syncs}")
    if world > 1 and torch.cuda.is_available():  # all-reduce kernels also wait for the slowest process
        nccl = sum(getattr(e, "self_device_time_total", 0) for e in events if "nccl" in e.key.lower())
        print(f"  NCCL kernel time {nccl * per_step / 1000:.2f} ms/step (the all-reduce, and any wait for other processes)")
    print(events.table(sort_by="cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()
