"""Several GPUs of one host: semi-supervised training and predict.py on 1, 2, 4 ... GPUs, each
count a separate `accelerate launch`, in one run per machine.

    python bench/scaling.py --gpus 1 2 4 --steps 400 --precision bf16 --seeds 0 1 2 --json bench/results/KIND_DATE.jsonl

Training (configs/mouse_semi.py, ResNet-50 at 256x256):
- strong scaling: the same global batch on every count, 16 and 64 labeled frames per step, plus as
  many unlabeled frames in all (clips of 16 frames, or one shorter clip per GPU);
- weak scaling: 16 labeled + one clip of 16 unlabeled frames per GPU (global batch 16 N);
- steps/s and frames/s (labeled + unlabeled) over the whole loop, validation every 25 steps
  included, and train_steps_per_s / train_frames_per_s without the validation and checkpoint
  pauses (the GPU finishes the steps before each is timed); the speed-up over one GPU of each;
  whether every process ended with bit-identical parameters, the test error after the same
  steps, and, for the strong
  runs, the training time until the validation error first reached the one-GPU run's final error
  (time_to_1gpu_val_train_s: validating every 25 steps, a fixed cost per check, left out; rows
  before session 14 have time_to_1gpu_val_s, which counted it).
Prediction: predict.py over a folder of 8 copies of a long video (the example repeated by stream
copy, >= 20,000 frames each), frames/s of the whole command and of the work alone (from the
first frame read to the last file written: the slowest process's time, as predict.py prints
it; start-up excluded); and over one such
video alone, which several GPUs share by cutting it into parts (lp.predict.plan_pieces).
NVLink multicast stays off (NCCL_NVLS_ENABLE=0 and friends), as the device notes require.
With --worker this script is what each launched training process runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NO_MULTICAST = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def worker(out: Path, flags: list[str]) -> None:
    """One process of one launch: train; every process writes a hash of its final parameters,
    the main process also its timing and validation curve."""
    from accelerate import PartialState

    from lp.cli import parse_train_args
    from lp.engine.loop import train

    cfg = parse_train_args(flags)
    result = train(cfg)
    state = PartialState()
    digest = hashlib.sha256()
    for name, value in sorted(result.last_weights.items()):
        if "running_" not in name and "num_batches" not in name:  # batch-norm statistics are per process
            digest.update(value.float().numpy().tobytes())
    (out.parent / f"{out.stem}_rank{state.process_index}.hash").write_text(digest.hexdigest())
    if not state.is_main_process:
        return
    # steps end asynchronously except at log steps (a device sync): time between two of them,
    # from the first (compilation and warm-up before it) to the last
    times, every = result.step_times_s, cfg.train.log_every_steps
    first, last = every, (cfg.train.max_steps - 1) // every * every
    if last <= first:
        sys.exit(f"--steps {cfg.train.max_steps} leaves no timing window: use at least {3 * every}")
    steps_per_s = (last - first) / (times[last - 1] - times[first - 1])
    # the same steps without the validation and checkpoint pauses between them
    paused = result.paused_s[last - 1] - result.paused_s[first - 1]
    train_steps_per_s = (last - first) / (times[last - 1] - times[first - 1] - paused)
    train_clock = [moment - pause for moment, pause in zip(times, result.paused_s)]
    frames_per_step = cfg.train.batch_size + state.num_processes * cfg.unlabeled.clips_per_step * cfg.unlabeled.clip_length
    out.write_text(json.dumps({
        "gpus": state.num_processes, "steps_per_s": round(steps_per_s, 3),
        "frames_per_s": round(steps_per_s * frames_per_step, 1), "frames_per_step": frames_per_step,
        "train_steps_per_s": round(train_steps_per_s, 3), "train_frames_per_s": round(train_steps_per_s * frames_per_step, 1),
        "test_px": round(result.pixel_error["test"]["mean"], 3),
        # training time at each validation (the pauses to validate and save left out)
        "val_curve": [[step, round(train_clock[step - 1] - train_clock[0], 2), px] for step, px in validation_curve(result.run_dir)],
    }))


def validation_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(step, validation pixel error) as logged to TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return [(event.step, round(event.value, 3)) for event in events.Scalars("val/pixel_error")]


def unlabeled_flags(total_frames: int, gpus: int) -> list[str]:
    """total_frames unlabeled frames per step in all: clips of 16 frames shared over the GPUs, or
    one shorter clip per GPU when there are fewer clips than GPUs."""
    clips = total_frames // 16
    if clips and clips % gpus == 0:
        return ["--unlabeled.clip-length", "16", "--unlabeled.clips-per-step", str(clips // gpus)]
    return ["--unlabeled.clip-length", str(total_frames // gpus), "--unlabeled.clips-per-step", "1"]


def launch_training(gpus: int, flags: list[str], keep: Path, env: dict) -> dict:
    out = keep / "result.json"
    launch = ["accelerate", "launch", "--num_processes", str(gpus), "--mixed_precision", "no", "--dynamo_backend", "no",
              *(["--multi_gpu"] if gpus > 1 else []), __file__, "--worker", str(out), *flags,
              "--run.output-dir", str(keep / "run")]
    start = time.perf_counter()
    done = subprocess.run(launch, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{gpus} GPU(s): accelerate launch failed:\n{done.stderr[-12000:]}")
    row = json.loads(out.read_text())
    hashes = {path.read_text() for path in keep.glob("result_rank*.hash")}
    row["ranks_identical"] = len(hashes) == 1
    row["wall_s"] = round(time.perf_counter() - start, 1)
    return row


def time_to_reach(curve: list, target_px: float) -> float | None:
    """Seconds of training (from the end of the first step, validation pauses left out) until
    the validation error first reached target_px."""
    for _, seconds, px in curve:
        if px <= target_px:
            return seconds
    return None


def bench_predict(gpus_list: list[int], run_dir: Path, work: Path, env: dict, report, repeats: int, precision: str) -> None:
    from bench.predict_speed import repeat_video

    folder = work / "videos"
    folder.mkdir()
    repeat_video(ROOT / "data/mirror-mouse-example/videos/test_vid.mp4", repeats, folder / "long0.mp4")
    for i in range(1, 8):
        shutil.copy(folder / "long0.mp4", folder / f"long{i}.mp4")
    from lp.data.video import probe_video

    long_frames = probe_video(folder / "long0.mp4").num_frames
    short = work / "short"  # the whole command on one short video: what starting the processes costs
    short.mkdir()
    shutil.copy(ROOT / "data/mirror-mouse-example/videos/test_vid.mp4", short / "short.mp4")
    single = work / "single"  # one long video: cut into parts across the GPUs
    single.mkdir()
    shutil.copy(folder / "long0.mp4", single / "long0.mp4")
    one_gpu: dict[str, Path] = {}
    one_gpu_rows: dict[str, dict] = {}
    for gpus, videos in [(g, v) for g in gpus_list for v in (short, single, folder)]:
        output = work / f"preds{gpus}_{videos.name}"
        command = ["predict.py", "--run-dir", str(run_dir), "--videos", str(videos), "--output-dir", str(output),
                   "--precision", precision, "--batch-size", "64"]
        if gpus > 1:
            command = ["accelerate", "launch", "--num_processes", str(gpus), "--multi_gpu", "--mixed_precision", "no",
                       "--dynamo_backend", "no", *command]
        else:
            command = [sys.executable, *command]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"predict on {gpus} GPU(s) failed:\n{done.stderr[-6000:]}")
        if videos == short:
            report({"bench": "scaling_predict_start", "gpus": gpus, "videos": 1, "frames": 994, "wall_s": round(wall, 1)})
            continue
        first = one_gpu.setdefault(videos.name, output)
        same = all((first / p.name).read_bytes() == p.read_bytes() for p in output.glob("*.csv"))
        count = len(list(videos.iterdir()))
        # each process's line: its frames, and seconds from its first frame read to its last file written
        spans = [(int(n), float(s)) for n, s in re.findall(r"lp: (\d+) frames predicted.* in ([\d.]+) s from the first", done.stdout)]
        if sum(n for n, _ in spans) != count * long_frames:
            sys.exit(f"predict on {gpus} GPU(s): its lines count {sum(n for n, _ in spans)} frames, not {count * long_frames}")
        work_s = max(s for _, s in spans)  # the processes start together: the last one to finish
        row = {"bench": "scaling_predict", "gpus": gpus, "videos": count, "frames": count * long_frames,
               "wall_s": round(wall, 1), "frames_per_s": round(count * long_frames / wall),
               "work_s": round(work_s, 1), "work_frames_per_s": round(count * long_frames / work_s),
               "csv_identical_to_1gpu": same, "cut": "cut into" in done.stdout}
        base = one_gpu_rows.setdefault(videos.name, row)
        row["speedup"] = round(row["frames_per_s"] / base["frames_per_s"], 2)
        row["work_speedup"] = round(row["work_frames_per_s"] / base["work_frames_per_s"], 2)
        report(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training runs repeated per seed (time to accuracy)")
    parser.add_argument("--parts", nargs="+", default=["strong", "weak", "predict"], choices=["strong", "weak", "predict"])
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64], help="global batches of the strong part")
    parser.add_argument("--arch", default="resnet50", help="(smaller ones to try the script on a CPU)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--video-repeats", type=int, default=21,
                        help="predict: each long video is the 994-frame example this many times (21: 20,874 frames)")
    parser.add_argument("--json", type=Path, help="append each result as one JSON line here")
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(Path(args.worker[0]), args.worker[1:])
        return
    env = {**os.environ, **NO_MULTICAST}

    def report(row: dict) -> None:
        print("BENCH " + json.dumps(row), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            with open(args.json, "a") as handle:
                handle.write(json.dumps(row) + "\n")

    base = ["--config", str(ROOT / "configs/mouse_semi.py"), "--model.backbone.arch",
            args.arch, "--data.image-height", str(args.size), "--data.image-width", str(args.size),
            "--train.precision", args.precision, "--train.max-steps", str(args.steps),
            "--train.log-every-steps", str(max(1, min(25, args.steps // 8))), "--eval.val-every-steps", "25",
            "--train.compile", str(args.compile)]
    common = {"precision": args.precision, "compile": args.compile, "steps": args.steps, "arch": args.arch}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        runs, run_dirs = {}, {}
        for seed in args.seeds:
            for part in [p for p in ("strong", "weak") if p in args.parts]:
                for batch in args.batches if part == "strong" else (16,):
                    one_gpu = None  # the first count's row: speed-ups and the error to reach are relative to it
                    for gpus in args.gpus:
                        global_batch = batch if part == "strong" else batch * gpus
                        if part == "weak" and gpus == 1 and ("strong", 16, 1, seed) in runs:
                            raw = runs[("strong", 16, 1, seed)]  # the same run
                        else:
                            keep = work / f"{part}{batch}_{gpus}_seed{seed}"
                            keep.mkdir()
                            unlabeled = global_batch if part == "strong" else 16 * gpus
                            flags = [*base, "--run.seed", str(seed), "--train.batch-size", str(global_batch),
                                     *unlabeled_flags(unlabeled, gpus)]
                            raw = launch_training(gpus, flags, keep, env)
                            runs[(part, batch, gpus, seed)], run_dirs[(part, batch, gpus, seed)] = raw, keep / "run"
                        row = {key: value for key, value in raw.items() if key != "val_curve"}
                        row["final_val_px"] = raw["val_curve"][-1][2] if raw["val_curve"] else None
                        one_gpu = one_gpu or row
                        row["speedup"] = round(row["frames_per_s"] / one_gpu["frames_per_s"], 2)
                        row["train_speedup"] = round(row["train_frames_per_s"] / one_gpu["train_frames_per_s"], 2)
                        if part == "strong" and one_gpu["final_val_px"] is not None:
                            row["time_to_1gpu_val_train_s"] = time_to_reach(raw["val_curve"], one_gpu["final_val_px"])
                        report({"bench": f"scaling_{part}", "global_batch": global_batch, "seed": seed, **row, **common})
        if "predict" in args.parts:
            run_dir = run_dirs.get(("strong", 16, args.gpus[0], args.seeds[0]))
            if run_dir is None:
                from bench.predict_speed import make_run

                run_dir = work / "random_run"
                make_run(run_dir, args.arch, args.size)
            bench_predict(args.gpus, run_dir, work, env, report, args.video_repeats, args.precision)


if __name__ == "__main__":
    main()
