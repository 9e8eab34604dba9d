"""Multi-GPU scaling of semi-supervised training: the same global batch on 1, 2, 4 ... GPUs of one
host, each count a separate `accelerate launch`; steps/s, labeled + unlabeled frames/s, speed-up
over the first count, and the test-split pixel error after the same number of optimizer steps.

    python bench/scaling.py --gpus 1 2 4 --steps 600 --precision bf16 [--compile] [--json out.jsonl]

configs/mouse_semi.py with ResNet-50 at 256x256 and 16 labeled frames per step in all (the global
batch, split over the processes). Each process adds one clip of 16 unlabeled frames, so the
unlabeled frames per step grow with N; --fixed-unlabeled keeps 16 in all (clips of 16/N frames).
NVLink multicast stays off (NCCL_NVLS_ENABLE=0 and friends), as the device notes require.
With --worker this script is what each launched process runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NO_MULTICAST = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def worker(out: Path, flags: list[str]) -> None:
    """One process of one launch: train, then the main process writes its timing and error."""
    from accelerate import PartialState

    from lp.config import parse_train_args
    from lp.engine.loop import train

    cfg = parse_train_args(flags)
    result = train(cfg)
    if PartialState().is_main_process:
        # steps end asynchronously except at log steps (a device sync): time between two of them,
        # from the first (compilation and warm-up before it) to the last
        times, every = result.step_times_s, cfg.train.log_every_steps
        first, last = every, (cfg.train.max_steps - 1) // every * every
        if last <= first:
            sys.exit(f"--steps {cfg.train.max_steps} leaves no timing window: use at least {3 * every}")
        steps_per_s = (last - first) / (times[last - 1] - times[first - 1])
        world = PartialState().num_processes
        frames_per_step = cfg.train.batch_size + world * cfg.unlabeled.clips_per_step * cfg.unlabeled.clip_length
        out.write_text(json.dumps({
            "gpus": world, "steps_per_s": round(steps_per_s, 3), "frames_per_s": round(steps_per_s * frames_per_step, 1),
            "frames_per_step": frames_per_step, "test_px": round(result.pixel_error["test"]["mean"], 3),
        }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--fixed-unlabeled", action="store_true", help="16 unlabeled frames per step in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", default="resnet50", help="(smaller ones to try the script on a CPU)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--json", type=Path, help="append each result as one JSON line here")
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(Path(args.worker[0]), args.worker[1:])
        return
    env = {**os.environ, **NO_MULTICAST}
    rows = []
    for gpus in args.gpus:
        clip_length = 16 // gpus if args.fixed_unlabeled else 16
        with tempfile.TemporaryDirectory() as run_dir:
            out = Path(run_dir) / "result.json"
            flags = [
                "--config", str(ROOT / "configs/mouse_semi.py"), "--run.output-dir", str(Path(run_dir) / "run"),
                "--run.seed", str(args.seed), "--model.backbone.arch", args.arch, "--data.image-height", str(args.size),
                "--data.image-width", str(args.size), "--train.batch-size", "16", "--train.precision", args.precision,
                "--train.max-steps", str(args.steps), "--train.log-every-steps", str(max(1, min(50, args.steps // 4))),
                "--eval.val-every-steps", "200",
                "--train.compile", str(args.compile), "--unlabeled.clip-length", str(clip_length),
            ]
            launch = ["accelerate", "launch", "--num_processes", str(gpus), "--mixed_precision", "no",
                      *(["--multi_gpu"] if gpus > 1 else []), __file__, "--worker", str(out), *flags]
            start = time.perf_counter()
            done = subprocess.run(launch, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{gpus} GPU(s): accelerate launch failed:\n{done.stderr[-12000:]}")
            row = json.loads(out.read_text()) | {"wall_s": round(time.perf_counter() - start, 1), "precision": args.precision,
                                                  "compile": args.compile, "steps": args.steps}
        rows.append(row)
        row["speedup"] = round(row["steps_per_s"] / rows[0]["steps_per_s"], 2)
        print("BENCH scaling " + json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as handle:
                handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
