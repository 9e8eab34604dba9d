"""Benchmark scripts that a test can afford to run: they start, train, predict and report."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.test_multiprocess import LAUNCH, TWO_PROCESSES


def run_scaling(out, *flags: str) -> list[dict]:
    """bench/scaling.py on 1 and 2 processes with a small network; its JSON rows."""
    done = subprocess.run([sys.executable, "bench/scaling.py", "--gpus", "1", "2", "--arch", "resnet18", "--size", "64",
                           *flags, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_accuracy_quick_runs_and_reports_each_configuration(tmp_path):
    out = tmp_path / "accuracy.jsonl"
    done = subprocess.run([sys.executable, "bench/accuracy.py", "--quick", "--configs", "supervised", "semi",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["config"] for row in rows] == ["supervised", "semi"]
    for row in rows:
        assert row["test_px_mean"] > 0 and 0 <= row["test_over_10px"] <= 1 and row["video_temporal_norm_mean"] >= 0


def test_ensemble_of_saved_tracks_by_each_method(tmp_path):
    """--ensemble-tracks scores saved tracks' ensemble against dense labels: with one of three
    seeds far off on every frame, the median lands on the labels and the mean does not."""
    frames, names = 12, ["fly1_head", "fly1_tail"]
    rng = np.random.default_rng(0)
    labels = rng.uniform(20, 80, size=(frames, len(names), 2))
    columns = pd.MultiIndex.from_tuples([("lp", name, c) for name in names for c in "xy"], names=["scorer", "bodyparts", "coords"])
    pd.DataFrame(labels.reshape(frames, -1), columns=columns).to_csv(tmp_path / "dense.csv")
    data_dir = tmp_path / "flies"
    data_dir.mkdir()
    for seed, offset in enumerate([0.0, 0.0, 30.0]):
        np.savez(tmp_path / f"flies_t_semi_seed{seed}.npz", xy=labels + offset, likelihood=np.ones(labels.shape[:2]),
                 names=np.array(names), used=np.array([0]), steps=10, arch="resnet18")
    out = tmp_path / "rows.jsonl"
    for method in ("median", "mean"):
        done = subprocess.run([sys.executable, "bench/accuracy.py", "--configs", "semi", "--data-dir", str(data_dir), "--tag", "t",
                               "--dense-labels", str(tmp_path / "dense.csv"), "--ensemble-tracks", str(tmp_path),
                               "--ensemble-method", method, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    median, mean = [json.loads(line) for line in out.read_text().splitlines()]
    assert (median["config"], mean["config"]) == ("semi+median3", "semi+mean3")
    assert median["dense_px_mean"] < 1e-9 and median["dense_over_10px"] == 0
    assert mean["dense_px_mean"] == pytest.approx(10 * np.sqrt(2)) and mean["dense_over_10px"] == 1


@TWO_PROCESSES
def test_scaling_runs_each_process_count_and_seed(tmp_path):
    """bench/scaling.py's training parts on 1 and 2 processes (gloo on a CPU): a row per count and
    seed, the per-process batch doubling in the weak part, every process's weights identical."""
    rows = run_scaling(tmp_path / "scaling.jsonl", "--steps", "9", "--parts", "weak", "--seeds", "3")
    assert [(row["bench"], row["gpus"], row["seed"], row["frames_per_step"]) for row in rows] == [
        ("scaling_weak", 1, 3, 32), ("scaling_weak", 2, 3, 64)]
    assert all(row["ranks_identical"] and row["steps_per_s"] > 0 for row in rows) and rows[0]["speedup"] == 1.0
    # validation every 25 steps falls outside a 9-step window, so training alone is as fast as
    # the loop (to the clock's jitter), never slower
    assert all(row["train_steps_per_s"] >= 0.99 * row["steps_per_s"] for row in rows)
    assert rows[0]["train_speedup"] == 1.0


def test_scaling_strong_part_times_the_one_process_error_on_the_training_clock(tmp_path):
    """The strong part: the same global batch on 1 and 2 processes, and the training time (the
    validation pauses left out) until each reached the one-process run's final validation error,
    which the one-process run itself reached by its last validation at the latest."""
    rows = run_scaling(tmp_path / "scaling.jsonl", "--steps", "9", "--parts", "strong", "--batches", "8")
    assert [(row["bench"], row["gpus"], row["frames_per_step"]) for row in rows] == [
        ("scaling_strong", 1, 16), ("scaling_strong", 2, 16)]  # 8 labeled + 8 unlabeled (one clip per process)
    one = rows[0]
    assert 0 < one["time_to_1gpu_val_train_s"] < one["wall_s"] and "time_to_1gpu_val_s" not in one
    assert all(row["ranks_identical"] for row in rows)


@TWO_PROCESSES
def test_scaling_predict_part_on_one_and_two_processes(tmp_path):
    """bench/scaling.py's predict part (short example videos, --video-repeats 1): start-up, one
    video and a folder of 8 on 1 and 2 processes, each 2-process CSV byte-identical to the
    1-process one, and the work time parsed from every process's closing line."""
    rows = run_scaling(tmp_path / "scaling.jsonl", "--parts", "predict", "--precision", "fp32", "--video-repeats", "1")
    assert [(row["bench"], row["gpus"], row["videos"], row["frames"]) for row in rows] == [
        ("scaling_predict_start", 1, 1, 994), ("scaling_predict", 1, 1, 994), ("scaling_predict", 1, 8, 8 * 994),
        ("scaling_predict_start", 2, 1, 994), ("scaling_predict", 2, 1, 994), ("scaling_predict", 2, 8, 8 * 994)]
    for row in rows[1:3] + rows[4:]:
        assert row["csv_identical_to_1gpu"] and 0 < row["work_s"] <= row["wall_s"] and row["work_speedup"] > 0


@TWO_PROCESSES
def test_profile_step_on_two_processes_prints_once():
    """bench/profile_step.py under `accelerate launch` (2 gloo processes on a CPU): the main
    process alone prints the per-stage table, with the frames of both processes' clips."""
    done = subprocess.run([*LAUNCH, "bench/profile_step.py", "--semi", "--steps", "2", "--arch", "resnet18", "--size", "64",
                           "--clips", "2", "--clip-length", "4"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("per step (ms)") == 1
    assert "16 labeled + 16 unlabeled frames, 2 process(es)" in done.stdout
    stages = dict(re.findall(r"(?m)^  stage: (.+?) +([\d.]+) +[\d.]+$", done.stdout))
    assert set(stages) == {"labeled batch", "clips", "network and losses", "backward", "optimizer"}
    assert all(float(host_ms) > 0 for host_ms in stages.values())


def test_profile_step_flops_grow_with_the_pixels():
    """--flops: a network of convolutions does 4x the arithmetic on 2x the side."""
    def gflop(size: int) -> float:
        done = subprocess.run([sys.executable, "bench/profile_step.py", "--flops", "--arch", "resnet18", "--size", str(size)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return float(re.search(r": ([\d.]+) GFLOP per frame", done.stdout).group(1))

    small, large = gflop(64), gflop(128)
    assert 0.5 < small < 2 and large == pytest.approx(4 * small, rel=0.05)


def test_profile_step_counts_each_kernel_once_by_kind(monkeypatch):
    """The GPU-time sums take kernels alone: the stage labels and compiled graphs' calls are ranges
    on the GPU timeline that span the same kernels and would count them twice."""
    from types import SimpleNamespace

    from torch.autograd import DeviceType

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    from profile_step import gpu_busy, is_kernel, kernel_kinds

    def event(key, us, device=DeviceType.CUDA, annotation=False):
        return SimpleNamespace(key=key, self_device_time_total=us, device_type=device, is_user_annotation=annotation)

    events = [
        event("sm90_xmma_fprop_implicit_gemm_bf16bf16", 300), event("triton_poi_fused_add_batch_norm_backward_relu_3", 200),
        event("void at::native::batch_norm_backward_reduce_kernel<float>", 70), event("cudnn::bn_bw_1C11_kernel_new<float>", 30),
        event("void at::native::elementwise_kernel<128, 4>", 50), event("ncclDevKernel_AllReduce_Sum_f32", 40),
        event("stage: network and losses", 640, annotation=True), event("## Call CompiledFxGraph abc ##", 500),
        event("ProfilerStep#3", 700), event("aten::convolution", 300, device=DeviceType.CPU),
    ]
    assert [is_kernel(e) for e in events] == [True] * 6 + [False] * 4
    assert kernel_kinds(events) == {"convolution": 300, "compiled (triton)": 200, "batch-norm primitives": 100,
                                    "ATen elementwise/reductions": 50, "all-reduce (NCCL)": 40}

    # busy time: overlapping kernels count once, gaps not at all, annotations never
    spans = [(0, 10), (5, 12), (20, 25), (24, 30), (40, 41)]
    timed = [SimpleNamespace(**vars(event(f"kernel_{i}", end - start)), time_range=SimpleNamespace(start=start, end=end))
             for i, (start, end) in enumerate(spans)]
    timed.append(SimpleNamespace(**vars(event("stage: clips", 50, annotation=True)), time_range=SimpleNamespace(start=0, end=50)))
    assert gpu_busy(timed) == 12 + 10 + 1
    assert gpu_busy([]) == 0


def test_profile_step_names_where_the_host_waits(monkeypatch):
    """--syncs: each synchronizing CUDA call is counted under its innermost operation and the
    nearest lines of the project above it (library frames skipped); asynchronous copies are not waits."""
    from types import SimpleNamespace

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    from profile_step import is_sync, sync_places

    def op(name, parent=None, stack=(), thread=1):
        return SimpleNamespace(name=name, cpu_parent=parent, stack=list(stack), thread=thread)

    step = op("ProfilerStep#61")
    stage = op("stage: optimizer", step, ["/repo/lp/engine/loop.py(190): train_step"])
    adam = op("aten::_fused_adam_", stage, ["/venv/lib/python3.12/site-packages/torch/optim/adam.py(500): _fused_adam",
                                            "/repo/lp/engine/loop.py(191): train_step", "/repo/train.py(20): main"])
    item = op("aten::item", op("stage: clips", step), ["/repo/lp/data/unlabeled.py(70): next"])
    events = [op("cudaStreamSynchronize", adam), op("cudaStreamSynchronize", adam), op("cudaMemcpy", item),
              op("cudaMemcpyAsync", item), op("cudaLaunchKernel", adam), op("cudaDeviceSynchronize", step),
              op("cudaStreamSynchronize", thread=7), step]
    assert [is_sync(e.name) for e in events] == [True, True, True, False, False, True, True, False]
    assert sync_places(events) == {
        ("cudaStreamSynchronize < aten::_fused_adam_", "/repo/lp/engine/loop.py(191): train_step < /repo/train.py(20): main"): 2,
        ("cudaMemcpy < aten::item", "/repo/lp/data/unlabeled.py(70): next"): 1,
        ("cudaDeviceSynchronize", "(no Python lines)"): 1,
        ("cudaStreamSynchronize", "another thread (the training thread does not wait for it)"): 1,
    }
