"""Several processes through `accelerate launch` (two gloo processes on a CPU, or NCCL on two GPUs): the same
weights on every process, the same result as one process with the same global batch, different
unlabeled clips per process, files written once, and resume."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lp.cli import parse_train_args
from lp.engine.loop import train
from tests.conftest import ROOT, tiny_args
from tests.data.test_video import write_video

LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
          "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]


# Two gloo processes on a machine without a GPU, or two NCCL processes on a machine with two GPUs.
TWO_PROCESSES = pytest.mark.skipif(
    torch.cuda.is_available() and torch.cuda.device_count() < 2, reason="two processes need two GPUs on a GPU machine"
)


FOUR_PROCESSES = pytest.mark.skipif(
    torch.cuda.is_available() and torch.cuda.device_count() < 4, reason="four processes need four GPUs on a GPU machine"
)


def launch(out: Path, args: list[str], processes: int = 2) -> list[dict]:
    done = subprocess.run([*with_processes(processes), str(ROOT / "tests/multiprocess_run.py"), str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    (out / "stdout.txt").write_text(done.stdout)
    ranks = [dict(np.load(out / f"rank{r}.npz")) for r in range(processes)]
    assert all(int(r["world"]) == processes for r in ranks)  # that many processes really ran
    return ranks


def with_processes(processes: int) -> list[str]:
    return [str(processes) if flag == "2" else flag for flag in LAUNCH]


def weights_of(rank: dict) -> dict:
    return {k[2:]: v for k, v in rank.items() if k.startswith("w/")}


@TWO_PROCESSES
def test_two_processes_agree_read_their_own_clips_and_write_once(project, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "a.mp4", num_frames=40)
    (videos / "notes.txt").write_text("not a video")
    run = tmp_path / "run"
    args = tiny_args(project, run, "--unlabeled.video-dir", str(videos), "--unlabeled.clip-length", "4",
                     "--losses.temporal.enabled", "True", "--train.max-steps", "3")
    ranks = launch(tmp_path / "out", args)
    # what reading the data finds is said by the main process only: once by training, once by
    # multiprocess_run.py's own clip stream (every process reads the folder each time)
    assert (tmp_path / "out" / "stdout.txt").read_text().count("notes.txt: not a video") == 2
    first, second = weights_of(ranks[0]), weights_of(ranks[1])
    assert first.keys() == second.keys()
    for name in first:  # gradients synchronised: bit-identical parameters
        if "running_" in name or "num_batches" in name:
            continue  # batch-norm statistics: each process's own batch; DDP sends rank 0's before each forward
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert not np.array_equal(ranks[0]["clips"], ranks[1]["clips"])  # each process its own clips
    # files once: one config, one TensorBoard log, one row per labeled frame
    assert len(list((run / "tensorboard").iterdir())) == 1
    assert sorted(p.name for p in run.iterdir() if p.is_file()) == [
        "config.yaml", "model_best.safetensors", "model_last.safetensors", "pixel_error.csv", "predictions.csv"]
    assert len((run / "predictions.csv").read_text().splitlines()) == 3 + 12

    # resume with two processes continues at the saved step
    from lp.engine.checkpoint import load_exported

    launch(tmp_path / "out2", ["--run.resume-from", str(run), "--train.max-steps", "5"])
    assert load_exported(run / "model_last.safetensors")[1]["step"] == "5"


@TWO_PROCESSES
def test_two_processes_equal_one_process_with_the_same_global_batch(project, tmp_path):
    # Batch norm normalises each process's share of the batch, so equality is checked where it
    # does not enter: a frozen backbone (its batch norm in eval mode) under a regression head.
    flags = ["--model.head", "regression", "--train.freeze-backbone-steps", "10", "--train.max-steps", "4",
             "--data.augmentation", "dlc"]
    ranks = launch(tmp_path / "out", tiny_args(project, tmp_path / "two", *flags))
    single = train(parse_train_args(tiny_args(project, tmp_path / "one", *flags)))
    two = weights_of(ranks[0])
    from lp.models import build_model

    torch.manual_seed(0)  # the initial weights, as train() seeds them
    initial = build_model(parse_train_args(tiny_args(project, tmp_path / "x", *flags)).model, 3, (64, 64)).state_dict()
    for name in ("head.linear.weight", "head.linear.bias"):
        one = single.last_weights[name].numpy()
        moved = np.linalg.norm(one - initial[name].numpy())
        assert moved > 1e-3  # training moved it...
        # ...and two processes moved it the same way, up to float summation order (which Adam
        # amplifies for gradients near zero): within 2 % of the distance travelled on a CPU, 5 % on
        # GPUs, whose convolution algorithms sum in an order of their own (measured: 4 % on H200s)
        tolerance = 0.05 if torch.cuda.is_available() else 0.02
        assert np.linalg.norm(two[name] - one) < tolerance * moved, name
    for name, value in single.last_weights.items():  # the frozen backbone stayed identical
        if name.startswith("backbone."):
            np.testing.assert_array_equal(two[name], value.numpy(), err_msg=name)


@TWO_PROCESSES
def test_two_processes_through_the_step_graph_agree_and_equal_one_process(project, tmp_path):
    """lp.engine.graph's steps (compiled runs on GPUs) all-reduce the gradients themselves, in one
    flat buffer, with the network called directly instead of through DDP: every process ends with
    the same weights, and they move as one process's with the same global batch (as DDP's test
    above). On a CPU its eager form runs; on GPUs its graphs, after the warm-up steps."""
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "a.mp4", num_frames=40)
    args = tiny_args(project, tmp_path / "run", "--unlabeled.video-dir", str(videos), "--unlabeled.clip-length", "4",
                     "--losses.temporal.enabled", "True", "--train.max-steps", "5")
    first, second = (weights_of(rank) for rank in launch(tmp_path / "out", ["--step-graph", *args]))
    for name in first:
        if "running_" not in name and "num_batches" not in name:  # batch-norm statistics: each process's own
            np.testing.assert_array_equal(first[name], second[name], err_msg=name)

    flags = ["--model.head", "regression", "--train.freeze-backbone-steps", "10", "--train.max-steps", "4",
             "--data.augmentation", "dlc"]
    two = weights_of(launch(tmp_path / "out2", ["--step-graph", *tiny_args(project, tmp_path / "two", *flags)])[0])
    single = train(parse_train_args(tiny_args(project, tmp_path / "one", *flags)))
    from lp.models import build_model

    torch.manual_seed(0)  # the initial weights, as train() seeds them
    initial = build_model(parse_train_args(tiny_args(project, tmp_path / "x", *flags)).model, 3, (64, 64)).state_dict()
    for name in ("head.linear.weight", "head.linear.bias"):
        one = single.last_weights[name].numpy()
        moved = np.linalg.norm(one - initial[name].numpy())
        assert moved > 1e-3
        assert np.linalg.norm(two[name] - one) < (0.05 if torch.cuda.is_available() else 0.02) * moved, name


@TWO_PROCESSES
def test_an_error_on_one_process_ends_every_process_with_its_line(project, tmp_path):
    """Process 1 finds an unreadable video while process 0 goes on to its next collective: both
    end within seconds with the error's line, instead of process 0 waiting for ever."""
    import time

    videos, broken = tmp_path / "videos", tmp_path / "broken"
    videos.mkdir()
    broken.mkdir()
    write_video(videos / "a.mp4", num_frames=40)
    (broken / "a.mp4").write_text("not a video")
    args = ["--rank1-video-dir", str(broken),
            *tiny_args(project, tmp_path / "run", "--unlabeled.video-dir", str(videos), "--unlabeled.clip-length", "4",
                       "--losses.temporal.enabled", "True")]
    start = time.perf_counter()
    done = subprocess.run([*LAUNCH, str(ROOT / "tests/multiprocess_run.py"), str(tmp_path / "out"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("lp: error:")]
    assert any("a.mp4 is not a video" in line and "(on process 1)" in line for line in lines), done.stderr[-3000:]
    assert any("[stopped process 0 too]" in line for line in lines), done.stderr[-3000:]
    assert elapsed < 90, elapsed  # a start-up of two processes and the error, not a 30-minute collective timeout


@TWO_PROCESSES
def test_two_processes_train_the_context_head_in_step(project, tmp_path):
    """The context head with clips on two processes: labeled frames with their neighbours, each
    process's own clips, parameters bit-identical after the steps."""
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "a.mp4", num_frames=40)
    args = tiny_args(project, tmp_path / "run", "--model.head", "heatmap_context", "--unlabeled.video-dir", str(videos),
                     "--unlabeled.clip-length", "4", "--losses.temporal.enabled", "True", "--train.max-steps", "2")
    ranks = launch(tmp_path / "out", args)
    first, second = weights_of(ranks[0]), weights_of(ranks[1])
    assert any(name.startswith("head.mix") for name in first)
    for name in first:
        if "running_" in name or "num_batches" in name:
            continue
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert np.abs(first["head.project.weight"]).max() > 0  # the neighbours' path was trained


@FOUR_PROCESSES
def test_four_processes_killed_mid_run_resume_with_four(project, tmp_path):
    """Four processes killed (SIGKILL to every one, while checkpoints come every 2 steps, so
    the kill may land in a save) resume with four processes from the last complete state and
    finish with bit-identical parameters."""
    import signal
    import time

    from lp.engine.checkpoint import load_exported

    run = tmp_path / "run"
    args = tiny_args(project, run, "--train.max-steps", "10000")
    log = tmp_path / "killed.log"
    with open(log, "w") as handle:  # a file, not a pipe: a full pipe would stall the run
        started = subprocess.Popen([*with_processes(4), str(ROOT / "tests/multiprocess_run.py"), str(tmp_path / "out0"),
                                    *args], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    step = 0
    while step < 6 and time.monotonic() < deadline and started.poll() is None:
        time.sleep(0.2)
        try:
            step = int(load_exported(run / "model_last.safetensors")[1]["step"])
        except (FileNotFoundError, OSError, ValueError):
            pass  # not written yet
    # every process at once, as a job scheduler's kill does (the launcher starts its workers in
    # process groups of their own, so killing its group would leave them running)
    import psutil

    for process in [psutil.Process(started.pid), *psutil.Process(started.pid).children(recursive=True)]:
        process.send_signal(signal.SIGKILL)
    started.wait()
    assert step >= 6, log.read_text()[-3000:]
    step = int(load_exported(run / "model_last.safetensors")[1]["step"])  # where the kill left it
    ranks = launch(tmp_path / "out", ["--run.resume-from", str(run), "--train.max-steps", str(step + 6)], processes=4)
    assert int(load_exported(run / "model_last.safetensors")[1]["step"]) == step + 6
    weights = [weights_of(rank) for rank in ranks]
    for name in weights[0]:
        if "running_" in name or "num_batches" in name:
            continue
        for other in weights[1:]:
            np.testing.assert_array_equal(weights[0][name], other[name], err_msg=name)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("state")) == ["state"]
