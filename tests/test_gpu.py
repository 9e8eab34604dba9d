"""GPU paths (run with `python3 -m pytest -m gpu` on a GPU machine; skipped elsewhere): DALI
decodes the frames of the CPU reader, reads the same clips, and training and prediction run end
to end through DALI.

The CPU reader converts YUV to RGB with DALI's own arithmetic (lp.data.yuv), so the two readers give
equal frames, value for value; the tests hold both readers to that."""

import numpy as np
import pandas as pd
import pytest
import torch

from lp.data.video import dali_installed
from lp.data.video import probe_video, read_frames
from tests.conftest import EXAMPLE, ROOT, tiny_args

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(not dali_installed(), reason="needs NVIDIA DALI (nvidia-dali-cuda130)"),
]
VIDEO = EXAMPLE / "videos" / "test_vid.mp4"
DEVICE = torch.device("cuda", 0)


def test_dali_frames_equal_cpu_frames():
    from lp.data.video_dali import read_frames_dali

    info = probe_video(VIDEO)
    cpu = np.concatenate(list(read_frames(info, 100)))
    gpu = np.zeros_like(cpu)
    covered = np.zeros(len(cpu), dtype=int)
    # short stretches: 3 decoders over 5 stretches, so shares interleave and one ends early
    for first, frames in read_frames_dali(info, 100, DEVICE, stretch_frames=200, decoders=3):
        gpu[first : first + len(frames)] = frames.cpu().numpy()
        covered[first : first + len(frames)] += 1
    assert (covered == 1).all() and cpu.shape == (994, info.height, info.width, 3)
    difference = np.abs(gpu.astype(int) - cpu.astype(int))
    print(f"DALI vs PyAV: max |difference| {difference.max()}, mean {difference.mean():.5f}, "
          f"equal frames {(difference.reshape(994, -1).max(1) == 0).sum()}/994")
    assert difference.max() == 0  # the CPU reader converts YUV with DALI's arithmetic (lp.data.yuv)


@pytest.mark.parametrize("shuffle", [False, True])
def test_dali_reads_the_schedule_as_the_cpu_reader_does(shuffle):
    """Both readers read one schedule: the same clips, frame for frame, on each process, also
    when resumed at a later step (DALI's file list starts at that step's stretch)."""
    from lp.data.clips import DALI_STRETCHES_PER_PIPELINE, ClipSchedule, CpuClipReader, DaliClipReader

    info = probe_video(VIDEO)
    for rank in (0, 1):
        schedule = ClipSchedule([info], 8, 4, 0, rank, 2, shuffle)
        for first in (0, 5):  # from the start, and resumed inside a stretch
            dali, cpu = DaliClipReader(schedule, DEVICE).steps(first), CpuClipReader(schedule).steps(first)
            for _ in range(12):  # across stretches
                for gpu_clip, cpu_clip in zip(next(dali), next(cpu)):
                    assert gpu_clip.shape == (8, info.height, info.width, 3)
                    np.testing.assert_array_equal(gpu_clip.cpu().numpy(), cpu_clip)
    assert DALI_STRETCHES_PER_PIPELINE > 12


def train_then_predict_with_both_readers(tmp_path, *flags: str):
    """A short semi-supervised run of the example through DALI clips, then its predictions of the
    example video through DALI and through the CPU reader: their elementwise |difference|."""
    from lp.config import PredictConfig
    from lp.cli import parse_train_args
    from lp.engine.loop import train
    from lp.predict import predict

    args = ["--config", "configs/mouse_semi.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:],
            "--unlabeled.reader", "dali", "--unlabeled.clip-length", "8", "--train.max-steps", "20", *flags]
    result = train(parse_train_args(args))
    assert np.isfinite(result.pixel_error["test"]["mean"])
    tables = {}
    for reader in ("dali", "cpu"):
        predict(PredictConfig(run_dir=(tmp_path / "run",), videos=VIDEO, output_dir=tmp_path / reader, reader=reader))
        tables[reader] = pd.read_csv(tmp_path / reader / "test_vid.csv", header=[0, 1, 2], index_col=0)
    assert len(tables["dali"]) == len(tables["cpu"]) == 994
    return np.abs(tables["dali"].to_numpy() - tables["cpu"].to_numpy())


def test_semi_supervised_train_and_predict_through_dali(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    difference = train_then_predict_with_both_readers(tmp_path)
    print(f"predictions DALI vs CPU reader: median |difference| {np.median(difference):.4f}, max {difference.max():.3f}")
    assert difference.max() < 1e-3  # the same frames through the same network
    assert (tmp_path / "dali" / "test_vid_pca_multiview_error.csv").is_file()


def test_auto_reads_each_video_with_the_reader_that_can(tmp_path, monkeypatch, capsys):
    """A folder mixing a 4:2:0 and a 4:4:4 H.264 video: under auto the first goes to DALI, the
    second (which NVDEC cannot decode) to the CPU reader with a line saying why, and both are
    predicted; forcing DALI stops before any work with one line naming the video."""
    from lp.cli import parse_train_args
    from lp.config import PredictConfig
    from lp.engine.loop import train
    from lp.errors import UserError
    from lp.predict import predict
    from tests.conftest import write_project
    from tests.data.test_formats import FRAMES, LOSSLESS, encode

    folder = tmp_path / "videos"
    folder.mkdir()
    encode(folder / "plain.mp4", "libx264", "yuv420p", options=LOSSLESS)
    encode(folder / "full.mp4", "libx264", "yuv444p", options=LOSSLESS)
    write_project(tmp_path / "project")
    train(parse_train_args(tiny_args(tmp_path / "project", tmp_path / "run")))
    capsys.readouterr()
    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=folder, output_dir=tmp_path / "out", batch_size=4))
    out = capsys.readouterr().out
    assert "full.mp4: read on the CPU, since its pictures are yuv444p" in out
    assert "1 by DALI on the GPU, the rest by PyAV on the CPU" in out
    for stem in ("plain", "full"):
        assert len(pd.read_csv(tmp_path / "out" / f"{stem}.csv", header=[0, 1, 2], index_col=0)) == FRAMES
    with pytest.raises(UserError, match="full.mp4 cannot be read by DALI: its pictures are yuv444p"):
        predict(PredictConfig(run_dir=(tmp_path / "run",), videos=folder, output_dir=tmp_path / "o2", reader="dali"))


@pytest.mark.parametrize("compile_", [False, True])
def test_context_head_trains_and_predicts_on_the_gpu(tmp_path, monkeypatch, compile_):
    """--model.head heatmap_context with DALI clips, bf16, eager and compiled; prediction through
    DALI (one decoder, frames in order) equals the CPU reader's."""
    monkeypatch.chdir(ROOT)
    difference = train_then_predict_with_both_readers(
        tmp_path, "--model.head", "heatmap_context", "--train.precision", "bf16", "--train.compile", str(compile_))
    print(f"context model, DALI vs CPU reader: max |difference| {difference.max():.3g}")
    assert difference.max() < 1e-3


def test_a_mixed_folder_trains_with_clips_from_both_readers(tmp_path, capsys):
    """Semi-supervised training on a folder of the example video (DALI) and a 4:4:4 copy of part
    of it (the CPU reader): both readers feed one run; the mixed reader's clips equal one CPU
    reader's, DALI's included."""
    import av

    from lp.cli import parse_train_args
    from lp.data.clips import ClipSchedule, CpuClipReader, MixedClipReader, build_clip_reader
    from lp.engine.loop import train
    from tests.conftest import write_project
    from tests.data.test_video import write_video

    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "plain.mp4").symlink_to(VIDEO)
    with av.open(str(VIDEO)) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for _, f in zip(range(300), container.decode(video=0))])
    write_video(folder / "full.mp4", frames=frames, pixel_format="yuv444p", options={"qp": "0", "preset": "ultrafast"})
    infos = [probe_video(folder / "full.mp4"), probe_video(folder / "plain.mp4")]
    schedule = ClipSchedule(infos, 8, 2, 0, 0, 1, False)
    mixed = MixedClipReader(schedule, ["cpu", "dali"], lambda kind, share: build_clip_reader(kind, share, DEVICE)).steps(3)
    single = CpuClipReader(schedule).steps(3)
    kinds = set()
    for _ in range(60):  # across both videos' stretches
        for got, expected in zip(next(mixed), next(single)):
            kinds.add(type(got).__name__)
            got = got.cpu().numpy() if isinstance(got, torch.Tensor) else got
            np.testing.assert_array_equal(got, expected)
    assert kinds == {"Tensor", "ndarray"}  # device clips from DALI, host clips from PyAV
    write_project(tmp_path / "project")
    args = tiny_args(tmp_path / "project", tmp_path / "run", "--unlabeled.video-dir", str(folder), "--unlabeled.clip-length", "8",
                     "--losses.temporal.enabled", "True", "--train.max-steps", "20")
    result = train(parse_train_args(args))
    assert np.isfinite(result.pixel_error["train"]["mean"])
    assert "DALI on the GPU (1 video) and PyAV on the CPU (the others)" in capsys.readouterr().out


def test_dali_reads_a_part_of_a_video_as_the_cpu_reader_does():
    """A video cut into parts across processes (lp.predict.plan_pieces): DALI's part j of k is
    the frames part_bounds names, in frames equal to the CPU reader's."""
    from lp.data.video_dali import read_frames_dali
    from lp.predict import part_bounds

    info = probe_video(VIDEO)
    cpu = np.concatenate(list(read_frames(info, 100)))
    start, stop = part_bounds(info.num_frames, 128, 1, 3)  # stretches 2-4 of 8
    assert (start, stop) == (256, 640)
    got = {}
    for first, frames in read_frames_dali(info, 64, DEVICE, stretch_frames=128, decoders=2, part=(1, 3)):
        for offset, frame in enumerate(frames.cpu().numpy()):
            assert first + offset not in got
            got[first + offset] = frame
    assert sorted(got) == list(range(start, stop))
    assert max(np.abs(got[i].astype(int) - cpu[i].astype(int)).max() for i in got) == 0  # as the whole video's frames


def test_compiled_semi_steps_equal_eager_ones_on_the_gpu(tmp_path, monkeypatch):
    """The same as tests/engine/test_train.py's CPU test, through CUDA graphs (fp32, no TF32)."""
    from accelerate import Accelerator

    from tests.engine.test_train import compare_compiled_with_eager

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    compare_compiled_with_eager(tmp_path, lambda: Accelerator(), "auto")


@pytest.mark.parametrize("split", [False, True])
def test_a_compiled_step_replayed_as_one_graph_equals_the_step_launched_in_pieces(tmp_path, monkeypatch, split):
    """--train.compile True: after two warm-up steps each step is a CUDA graph replay
    (lp.engine.graph) with the step's own batch, clips, learning rate and warm-up ramp copied in;
    its loss terms and weights follow the same compiled steps launched piece by piece (fp32,
    deterministic convolutions: equal to float32 rounding). split: the two graphs around the flat
    gradient buffer that several processes all-reduce between them (here one process)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from lp.cli import parse_train_args
    from lp.engine.graph import StepGraph
    from lp.engine.loop import build_run, train_step

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    steps = 7
    cfg = parse_train_args(["--config", "configs/mouse_semi.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:],
                            "--unlabeled.clip-length", "4", "--train.compile", "True", "--train.max-steps", str(steps),
                            "--losses.unsupervised-start-steps", "1", "--losses.unsupervised-full-steps", "5"])
    traces = {}
    for mode in ("graph", "pieces"):
        torch._dynamo.reset()
        AcceleratorState._reset_state()
        run = build_run(cfg, Accelerator())
        assert run.graph is not None  # fp32, no accumulation
        run.graph = None if mode == "pieces" else StepGraph(1, split)
        run.model.train()
        start = torch.cat([p.detach().flatten().clone() for p in run.network.parameters()])
        terms = [{name: float(value) for name, value in train_step(run, step).items()} for step in range(steps)]
        weights = torch.cat([p.detach().flatten() for p in run.network.parameters()])
        traces[mode] = (terms, weights, start)
        if mode == "graph":
            assert run.graph.forward is not None and (run.graph.update is not None) == split  # captured and replayed
    (graph_terms, graph_weights, graph_start), (piece_terms, piece_weights, piece_start) = traces["graph"], traces["pieces"]
    assert torch.equal(graph_start, piece_start)
    for step, (g, p) in enumerate(zip(graph_terms, piece_terms)):
        assert g.keys() == p.keys() and "temporal_weighted" in g
        for name in g:
            assert g[name] == pytest.approx(p[name], rel=1e-4, abs=1e-6), (step, name)
    assert graph_terms[-1]["total"] != graph_terms[-2]["total"]  # each replay saw its own step's inputs
    moved = (piece_weights - piece_start).abs().max()
    gap = (graph_weights - piece_weights).abs().max()
    print(f"whole-step graph vs pieces after {steps} steps: largest weight gap {gap:.3g}, largest change {moved:.3g}")
    assert gap < 1e-3 * moved
