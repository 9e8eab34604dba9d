"""predict.py and the Model API on a tiny trained run and short videos made here."""

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lp import Model
from lp.config import PredictConfig
from lp.cli import parse_train_args
from lp.engine.loop import train
from lp.errors import UserError
from lp.predict import predict
from tests.conftest import tiny_args, write_project
from tests.data.test_video import write_video


def test_one_row_per_frame_csv_and_h5_agree(run_dir, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "session1.mp4", num_frames=23, size_wh=(80, 60))
    (videos / "readme.txt").write_text("not a video")
    predict(PredictConfig(run_dir=(run_dir,), videos=videos, output_dir=tmp_path / "out", batch_size=8))
    table = pd.read_csv(tmp_path / "out" / "session1.csv", header=[0, 1, 2], index_col=0)
    assert table.shape == (23, 9) and list(table.index) == list(range(23))
    h5 = pd.read_hdf(tmp_path / "out" / "session1.h5", key="df_with_missing")
    np.testing.assert_allclose(table.to_numpy(), h5.to_numpy(), atol=5e-5)  # CSV: 4 decimals
    assert list(h5.columns.get_level_values(1).unique()) == ["nose", "left", "right"]
    norm = pd.read_csv(tmp_path / "out" / "session1_temporal_norm.csv", index_col=0)
    assert norm.shape == (23, 3) and norm.iloc[0].isna().all() and (norm.iloc[1:] >= 0).all().all()


def test_video_reader_matches_frame_api(run_dir, tmp_path):
    frames = write_video(tmp_path / "clip.mp4", num_frames=9, size_wh=(80, 60))
    model = Model.from_dir(run_dir)
    from_video = model.predict_video(tmp_path / "clip.mp4", batch_size=4)
    import av

    from lp.data.video import frame_to_rgb

    with av.open(str(tmp_path / "clip.mp4")) as container:
        decoded = np.stack([frame_to_rgb(f) for f in container.decode(video=0)])
    from_frames = model.predict_frames(decoded, batch_size=5)
    assert len(frames) == len(from_video) == 9
    np.testing.assert_allclose(from_video.to_numpy(), from_frames.to_numpy(), atol=1e-3)


def test_skip_and_overwrite(run_dir, tmp_path, capsys):
    write_video(tmp_path / "a.mp4", num_frames=4, size_wh=(80, 60))
    cfg = PredictConfig(run_dir=(run_dir,), videos=tmp_path / "a.mp4", output_dir=tmp_path / "out")
    predict(cfg)
    first = (tmp_path / "out" / "a.csv").stat().st_mtime_ns
    predict(cfg)
    assert "skipped" in capsys.readouterr().out
    assert (tmp_path / "out" / "a.csv").stat().st_mtime_ns == first
    predict(PredictConfig(run_dir=(run_dir,), videos=tmp_path / "a.mp4", output_dir=tmp_path / "out", overwrite=True))
    assert (tmp_path / "out" / "a.csv").stat().st_mtime_ns != first


def test_truncated_video_gives_error_and_no_output(run_dir, tmp_path):
    write_video(tmp_path / "whole.mp4", num_frames=30, size_wh=(80, 60))
    data = (tmp_path / "whole.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.mp4"):
        predict(PredictConfig(run_dir=(run_dir,), videos=tmp_path / "cut.mp4", output_dir=tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_several_runs_and_labeled_csv(run_dir, tmp_path):
    other = tmp_path / "other-run"
    shutil.copytree(run_dir, other)
    write_video(tmp_path / "v.mp4", num_frames=3, size_wh=(80, 60))
    predict(PredictConfig(run_dir=(run_dir, other), videos=tmp_path / "v.mp4", output_dir=tmp_path / "out"))
    assert (tmp_path / "out" / run_dir.name / "v.csv").is_file()
    assert (tmp_path / "out" / "other-run" / "v.h5").is_file()
    labels = run_dir.parent / "project" / "CollectedData.csv"
    predict(PredictConfig(run_dir=(run_dir,), videos=labels, output_dir=tmp_path / "lab"))
    errors = pd.read_csv(tmp_path / "lab" / "CollectedData_pixel_error.csv", index_col=0)
    assert errors.shape == (12, 4) and np.isnan(errors.iloc[1, 0])


def test_cli_errors_are_one_line(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "predict.py", "--run-dir", str(tmp_path), "--videos", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"lp: error: {tmp_path} is not an lp run directory (no config.yaml): pass a folder written by train.py"
    ]


def test_videos_are_shared_longest_first_to_the_least_loaded_process():
    from lp.predict import share_videos

    assert share_videos([10, 50, 20, 40], 2) == [[0, 1], [2, 3]]  # 50+10 against 40+20
    assert share_videos([5, 5, 5], 4) == [[0], [1], [2], []]
    shares = share_videos(list(range(1, 30)), 3)
    assert sorted(i for share in shares for i in share) == list(range(29))  # each video once


def test_long_videos_are_cut_into_parts_only_where_whole_videos_leave_a_process_behind():
    import random

    from lp.predict import Piece, part_bounds, plan_pieces

    # balanced whole: no cut
    assert plan_pieces([10, 50, 20, 40], 2, [8] * 4) == [[Piece(0, 0, 10), Piece(1, 0, 50)], [Piece(2, 0, 20), Piece(3, 0, 40)]]
    # one long video over 4 processes: 4 parts of 5 whole stretches of 1024 frames
    plan = plan_pieces([20_000], 4, [1024])
    assert [[(p.start, p.stop, p.part, p.parts) for p in share] for share in plan] == [
        [(0, 5120, 0, 4)], [(5120, 10240, 1, 4)], [(10240, 15360, 2, 4)], [(15360, 20_000, 3, 4)]]
    # three equal videos on 2 processes: one of them cut in two, loads even
    plan = plan_pieces([3000, 3000, 3000], 2, [1000] * 3)
    assert sorted(sum(p.stop - p.start for p in share) for share in plan) == [4000, 5000]
    assert sum(p.parts > 1 for share in plan for p in share) == 2
    # videos that may not be cut (a context model's, read by DALI) stay whole
    assert all(p.parts == 1 for share in plan_pieces([20_000, 10], 4, [1024, 10], [False, True]) for p in share)
    assert part_bounds(2100, 1024, 1, 2) == (1024, 2100) and part_bounds(2100, 1024, 0, 3) == (0, 1024)
    rng = random.Random(0)
    for _ in range(200):  # every frame of every video in exactly one piece, parts at whole stretches
        counts = [rng.randint(1, 30_000) for _ in range(rng.randint(1, 6))]
        stretches = [min(count, rng.choice([64, 512, 1024])) for count in counts]
        world = rng.randint(1, 8)
        plan = plan_pieces(counts, world, stretches)
        assert len(plan) == world
        for video, count in enumerate(counts):
            pieces = sorted((p for share in plan for p in share if p.video == video), key=lambda p: p.part)
            assert [p.part for p in pieces] == list(range(pieces[0].parts))
            assert pieces[0].start == 0 and pieces[-1].stop == count
            assert all(a.stop == b.start and b.start % stretches[video] == 0 for a, b in zip(pieces, pieces[1:]))


def predict_on_one_and_two_processes(runs: list[Path], videos: Path, out: Path, *extra: str) -> str:
    """predict.py on `videos` as one process (out/one) and through `accelerate launch
    --num_processes 2` (out/two); asserts that both wrote the same files, the same bytes (HDF5:
    the same tables, as the files hold their creation time); returns the two processes' stdout."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    common = ["predict.py", "--run-dir", *map(str, runs), "--videos", str(videos), "--batch-size", "8", *extra]
    # one thread in every process: on the CPU the convolutions' last bits depend on the thread
    # count, which would show in the CSVs' last digits
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, *common, "--output-dir", str(out / "one")], cwd=ROOT,
                         capture_output=True, text=True, env=env)
    assert one.returncode == 0, one.stderr[-2000:]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0", "--multi_gpu"]
    two = subprocess.run([*launch, *common, "--output-dir", str(out / "two")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env=env)
    assert two.returncode == 0, two.stderr[-2000:]
    names = sorted(str(p.relative_to(out / "one")) for p in (out / "one").rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(out / "two")) for p in (out / "two").rglob("*") if p.is_file())  # no part files left either
    for name in names:
        if name.endswith(".csv"):
            assert (out / "one" / name).read_bytes() == (out / "two" / name).read_bytes(), name
        else:
            pd.testing.assert_frame_equal(pd.read_hdf(out / "one" / name), pd.read_hdf(out / "two" / name))
    return two.stdout


def test_a_video_cut_across_processes_is_joined_into_the_files_of_one_process(run_dir, tmp_path):
    """`accelerate launch --num_processes 2 predict.py` with two runs and `--ensemble eks` on a long
    and a short video: the long one is cut into two parts (frames 0-1023 and 1024-1099), each
    predicted by both runs in its own process and joined by the first, which also smooths the
    ensemble; every file is byte for byte what one process writes."""
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "long.mp4", num_frames=1100, size_wh=(32, 24), seed=0)
    write_video(videos / "short.mp4", num_frames=30, size_wh=(32, 24), seed=1)
    other = tmp_path / "other" / "run"  # a second run: the same weights under another name
    shutil.copytree(run_dir, other)
    stdout = predict_on_one_and_two_processes([run_dir, other], videos, tmp_path, "--ensemble", "eks")
    assert "long.mp4: 1100 frames cut into 2 parts across the processes" in stdout
    assert "long.mp4 [run]: 1100 frames" in stdout and "long.mp4 [ensemble eks of 2]" in stdout
    written = [p for p in (tmp_path / "two").rglob("*") if p.is_file()]
    assert len(written) == 6 + 6 + 4  # per run 2 videos x (csv, h5, temporal norm); ensemble csv + h5 each
    assert len(pd.read_csv(tmp_path / "two" / "ensemble" / "long.csv", header=[0, 1, 2], index_col=0)) == 1100
    done = re.findall(r"lp: (\d+) frames predicted \(process \d of 2\)", stdout)
    assert len(done) == 2 and sum(map(int, done)) == 1130  # every frame once, parts included


def test_several_processes_write_the_same_files_as_one(run_dir, tmp_path):
    """`accelerate launch --num_processes 2 predict.py`: each process takes its share of whole
    videos; the outputs are byte for byte those of one process."""
    videos = tmp_path / "videos"
    videos.mkdir()
    for i, frames in enumerate((30, 9, 17)):
        write_video(videos / f"v{i}.mp4", num_frames=frames, size_wh=(64, 48), seed=i)
    stdout = predict_on_one_and_two_processes([run_dir], videos, tmp_path)
    assert "3 videos on 2 processes (1 here, process 0)" in stdout and "(2 here, process 1)" in stdout
    assert "cut into" not in stdout and len(list((tmp_path / "two").iterdir())) == 9
    # each process's closing line: its frames (longest video first, to the least loaded process)
    done = re.findall(r"lp: (\d+) frames predicted \(process (\d) of 2\) in [\d.]+ s from the first frame read", stdout)
    assert sorted(done) == [("26", "1"), ("30", "0")]


def test_onnx_export_runs_without_lp_and_matches_torch(run_dir, tmp_path):
    """predict.py --run-dir RUN --export onnx: a file onnxruntime runs on any batch size, giving
    the keypoints PyTorch gives (checked inside the export, and again here on frames)."""
    import json
    import subprocess
    import sys

    import onnx
    import onnxruntime

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "predict.py", "--run-dir", str(run_dir), "--export", "onnx"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    path = run_dir / "export" / "model.onnx"
    assert f"wrote {path}: onnxruntime matches PyTorch within 0.001 px" in done.stdout
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(metadata["keypoint_names"]) == ["nose", "left", "right"]
    height, width = int(metadata["input_height"]), int(metadata["input_width"])
    # as a user without lp would: frames of another size, resized, through onnxruntime
    model = Model.from_dir(run_dir, device="cpu")
    frames = np.random.default_rng(0).integers(0, 255, (3, 60, 80, 3), dtype=np.uint8)
    import torch

    from lp.data.images import resize_to_uint8

    images = resize_to_uint8(torch.from_numpy(frames).permute(0, 3, 1, 2), height, width).float().numpy() / 255
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    keypoints, confidence = session.run(None, {"images": images})
    assert keypoints.shape == (3, 3, 2) and confidence.shape == (3, 3)
    x = (keypoints[..., 0] + 0.5) * 80 / width - 0.5
    table = model.predict_frames(frames)
    ours = table.xs("likelihood", axis=1, level=2).to_numpy()
    np.testing.assert_allclose(confidence, ours, atol=1e-4)
    np.testing.assert_allclose(x, table.xs("x", axis=1, level=2).to_numpy(), atol=1e-3)  # in the frames' pixels


def test_predict_needs_videos_or_export():
    with pytest.raises(ValueError, match="--videos is needed"):
        PredictConfig(run_dir=(Path("r"),))


def test_ensemble_of_two_runs_and_frames_to_label_next(run_dir, tmp_path):
    from lp.data.labels import read_labels

    write_project(tmp_path / "project")
    other = tmp_path / "run2"
    train(parse_train_args(tiny_args(tmp_path / "project", other, "--run.seed", "1")))
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "s.mp4", num_frames=23, size_wh=(80, 60))
    out = tmp_path / "out"
    predict(PredictConfig(run_dir=(run_dir, other), videos=videos, output_dir=out, ensemble="eks", outliers=3, batch_size=8))
    table = pd.read_csv(out / "ensemble" / "s.csv", header=[0, 1, 2], index_col=0)
    assert table.shape == (23, 3 * 7)
    assert list(table.columns.get_level_values(2)[:7]) == [
        "x", "y", "likelihood", "x_ens_var", "y_ens_var", "x_posterior_var", "y_posterior_var"]
    runs = [pd.read_csv(out / name / "s.csv", header=[0, 1, 2], index_col=0) for name in (run_dir.name, other.name)]
    xs = np.stack([r.xs("x", axis=1, level=2).to_numpy() for r in runs])
    np.testing.assert_allclose(table.xs("x_ens_var", axis=1, level=2).to_numpy(), xs.var(axis=0), atol=1e-3)
    assert np.isfinite(table.xs("x", axis=1, level=2).to_numpy()).all()
    # the frames to label next: PNGs and a labels CSV that lp (and DeepLabCut) read back
    outliers = out / "ensemble" / "outliers"
    frames = read_labels(outliers / "CollectedData_s.csv")
    assert len(frames.image_paths) == 3 and all((outliers / p).is_file() for p in frames.image_paths)
    scores = pd.read_csv(outliers / "s_outliers.csv", index_col=0)
    assert list(scores["score"]) == sorted(scores["score"], reverse=True)
    with pytest.raises(ValueError, match="--ensemble eks needs two or more --run-dir"):
        PredictConfig(run_dir=(run_dir,), videos=videos, ensemble="eks")


def test_processes_started_without_a_launcher_are_told_how_to_start_them(monkeypatch):
    """RANK / WORLD_SIZE set by hand but no rendezvous address: the barrier before joining a cut
    video stops with one line saying to use accelerate launch or torchrun."""
    from lp.commands import wait_for_all_processes

    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(UserError, match="start them with accelerate launch or torchrun"):
        wait_for_all_processes()
