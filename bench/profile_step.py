"""Where a training step's time goes: torch.profiler over steps of the real loop, with each stage
(labeled batch, clips, network and losses, backward, optimizer: the labels train_step itself
sets) reported per step as host time and GPU kernel time. It runs the loop's own `build_run` and
`train_step`, unchanged. For finding what keeps the pipeline efficiency below 1, and, launched on
several GPUs, what the gradient all-reduce (NCCL kernels) and the wait for the other processes
add to a step; the main process prints. On a GPU it also sums the kernels' time by kind
(convolutions, compiled triton kernels, batch-norm primitives, ...) and lists the longest kernels;
--trace writes the profiled steps as a Chrome trace (chrome://tracing, ui.perfetto.dev); --syncs
lists each call that makes the host wait for the GPU, with the project's lines that led to it.

    python bench/profile_step.py --semi --precision fp32 [--compile] [--steps 40]
    python bench/profile_step.py --flops     # the network's arithmetic per frame (any machine)
    python bench/profile_step.py --semi --precision bf16 --batch 64 --clips 4     # 64 + 64 frames, ResNet-50 256x256
    python bench/profile_step.py --semi --precision bf16 --compile --trace step.json.gz
    python bench/profile_step.py --semi --precision bf16 --compile --syncs
    accelerate launch --multi_gpu --num_processes 2 bench/profile_step.py --semi --precision bf16 --batch 32
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import warnings
import sys
import tempfile
from pathlib import Path

import torch
from torch.autograd import DeviceType
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
    parser.add_argument("--trace", type=Path, help="also write the profiled steps as a gzipped Chrome trace here")
    parser.add_argument("--syncs", action="store_true",
                        help="also list where the host waits for the GPU: each synchronizing call with the Python lines above it")
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
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], with_stack=args.syncs,
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
    wall = sum(e.cpu_time_total for e in events if e.key.startswith("ProfilerStep")) * per_step / 1000
    print(f"  {'whole step (wall)':<28} {wall:8.2f}")
    launches = sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC"))
    syncs = {e.key: e.count for e in events if is_sync(e.key)}
    print(f"  {launches / args.steps:.0f} kernel launches/step, syncs {syncs}")
    if torch.cuda.is_available():
        busy = gpu_busy(prof.events()) * per_step / 1000  # below the wall time: the host keeps the GPU waiting
        limit = "the GPU is the limit, the host runs ahead" if busy > 0.9 * wall else "the host keeps the GPU waiting"
        print(f"  {'GPU busy (any kernel running)':<28} {busy:8.2f}   ({busy / wall:.0%} of the host's time: {limit})")
        kinds = kernel_kinds(events)
        print(f"  GPU kernel time {sum(kinds.values()) * per_step / 1000:.2f} ms/step, by kind: "
              + ", ".join(f"{kind} {us * per_step / 1000:.2f}" for kind, us in kinds.items()))
        if world > 1:  # all-reduce kernels also wait for the slowest process
            print(f"  NCCL kernel time {kinds.get('all-reduce (NCCL)', 0) * per_step / 1000:.2f} ms/step "
                  "(the all-reduce, and any wait for other processes)")
    print(events.table(sort_by="cpu_time_total", row_limit=25))
    if torch.cuda.is_available():
        print(events.table(sort_by="self_cuda_time_total", row_limit=30, max_name_column_width=90))
    if args.syncs:
        print("where the host waits (calls per step; the innermost operation, then the Python lines above it):")
        for (name, place), count in sorted(sync_places(prof.events()).items(), key=lambda item: -item[1]):
            print(f"  {count * per_step:6.2f}  {name}  <-  {place}")
    if args.trace is not None:
        with tempfile.TemporaryDirectory() as folder:
            plain = Path(folder) / "trace.json"
            prof.export_chrome_trace(str(plain))
            with plain.open("rb") as source, gzip.open(args.trace, "wb") as target:
                shutil.copyfileobj(source, target)
        print(f"trace: {args.trace}")


KERNEL_KINDS = {  # the first pattern a kernel's name contains decides its kind
    "all-reduce (NCCL)": ("nccl",),
    "compiled (triton)": ("triton",),
    "batch-norm primitives": ("batch_norm", "batchnorm", "bn_fw", "bn_bw"),  # before "cudnn": cuDNN's own batch norm
    "convolution": ("conv", "implicit_gemm", "cudnn", "xmma", "winograd", "fft"),
    "matrix product": ("gemm", "cutlass", "cublas", "nvjet"),
    "copies": ("memcpy", "memset"),
    "ATen elementwise/reductions": ("elementwise_kernel", "reduce_kernel", "multi_tensor_apply"),
}


def is_sync(name: str) -> bool:
    """A CUDA runtime call that makes the host wait for the GPU."""
    return "Synchronize" in name or "cudaMemcpy" in name and "Async" not in name


def sync_places(events) -> dict[tuple[str, str], int]:
    """(synchronizing call under its innermost operation, the nearest Python lines of the
    project above it) -> how many times, over the profiled steps. Needs with_stack=True."""
    places: dict[tuple[str, str], int] = {}
    steps = [event for event in events if event.name.startswith("ProfilerStep")]
    training_thread = steps[0].thread if steps else None
    for event in events:
        if not is_sync(event.name):
            continue
        if training_thread is not None and event.thread != training_thread:  # DALI's workers, for one
            key = (event.name, "another thread (the training thread does not wait for it)")
            places[key] = places.get(key, 0) + 1
            continue
        chain, parent, lines = [event.name], event.cpu_parent, []
        while parent is not None and not lines:
            if not parent.name.startswith(("stage: ", "ProfilerStep")):
                chain.append(parent.name)
            lines = [line for line in parent.stack if "site-packages" not in line and "/lib/python" not in line][:3]
            parent = parent.cpu_parent
        key = (" < ".join(chain[:3]), " < ".join(lines) or "(no Python lines)")
        places[key] = places.get(key, 0) + 1
    return places


def gpu_time(event) -> float:
    return getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0))


def is_kernel(event) -> bool:
    """A GPU kernel (or copy), not a range on the GPU's timeline that only spans kernels (the
    stage labels, compiled graphs' calls), which would count their kernels twice."""
    return event.device_type == DeviceType.CUDA and not getattr(event, "is_user_annotation", False) \
        and not event.key.startswith(("stage: ", "## ", "ProfilerStep"))


def gpu_busy(events) -> float:
    """Microseconds during which at least one kernel ran (the union of their intervals)."""
    spans = sorted((e.time_range.start, e.time_range.end) for e in events if is_kernel(e))
    busy, start, end = 0.0, None, None
    for span_start, span_end in spans:
        if end is None or span_start > end:
            busy += 0.0 if end is None else end - start
            start, end = span_start, span_end
        else:
            end = max(end, span_end)
    return busy + (0.0 if end is None else end - start)


def kernel_kinds(events) -> dict[str, float]:
    """GPU microseconds of every kernel in the profile, summed by kind (names matched in order)."""
    totals: dict[str, float] = {}
    for event in events:
        if not is_kernel(event):
            continue
        name = event.key.lower()
        kind = next((kind for kind, patterns in KERNEL_KINDS.items() if any(p.lower() in name for p in patterns)), "other")
        totals[kind] = totals.get(kind, 0.0) + gpu_time(event)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


if __name__ == "__main__":
    main()
