"""render.py video: same frame count as the source, a marker of the model's colour at each
predicted location, low-likelihood keypoints hidden, clear errors."""

import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest

from lp.data.video import probe_video, read_frames
from lp.errors import UserError
from lp.io import keypoint_table, write_numeric_csv
from lp.viz.video import MODEL_COLORS, render_videos
from tests.conftest import ROOT
from tests.data.test_video import write_video


def write_predictions(path, xy, likelihood):
    table = keypoint_table(xy, likelihood, ["nose", "tail"], "m", pd.RangeIndex(len(xy), name="frame"))
    write_numeric_csv(path, table)


def test_labeled_video_shows_each_model_where_it_predicted(tmp_path):
    source = tmp_path / "s.mp4"
    frames = write_video(source, num_frames=9, size_wh=(96, 64))
    frames[:] = 0
    with av.open(str(source), "w") as container:  # a black video, so colours are easy to read back
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    xy = np.zeros((9, 2, 2))
    xy[:, 0] = [20, 40]
    xy[:, 1] = [70, 30]
    likelihood = np.ones((9, 2))
    likelihood[:, 1] = 0.1  # the tail is hidden
    write_predictions(tmp_path / "a.csv", xy, likelihood)
    xy_b = xy.copy()
    xy_b[:, 0] = [60, 15]
    write_predictions(tmp_path / "b.csv", xy_b, np.ones((9, 2)))
    output = render_videos(source, [tmp_path / "a.csv", tmp_path / "b.csv"], ["a", "b"], None, 0.9, False)
    assert output == tmp_path / "s_labeled.mp4"
    info = probe_video(output)
    assert info.num_frames == 9 and info.fps == 25 and info.codec == "h264"
    rendered = np.concatenate(list(read_frames(info, 16))).astype(int)
    for frame in (0, 8):
        for (x, y), color in (((20, 40), MODEL_COLORS[0]), ((60, 15), MODEL_COLORS[1]), ((70, 30), MODEL_COLORS[1])):
            assert np.abs(rendered[frame, y, x] - color).max() < 40, (frame, x, y)
    # model a's tail (likelihood 0.1) is not drawn; b's tail is, in b's colour
    assert np.abs(rendered[0, 30, 70] - MODEL_COLORS[0]).max() > 60


def test_render_errors(tmp_path):
    source = tmp_path / "s.mp4"
    write_video(source, num_frames=5)
    write_predictions(tmp_path / "a.csv", np.zeros((4, 2, 2)), np.ones((4, 2)))
    with pytest.raises(UserError, match="have 4 rows but .* has 5 frames"):
        render_videos(source, [tmp_path / "a.csv"], [], tmp_path / "o.mp4", 0.9, False)
    assert not (tmp_path / "o.mp4").exists()
    with pytest.raises(UserError, match="give one per file"):
        render_videos(source, [tmp_path / "a.csv"], ["x", "y"], None, 0.9, False)
    done = subprocess.run([sys.executable, "render.py", "frame"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "needs a command first" in done.stderr and "Traceback" not in done.stderr


def test_plots_are_written_and_not_trivial(tmp_path):
    from lp.viz.plots import render_plots

    rng = np.random.default_rng(0)
    for run in ("r1", "r2"):
        folder = tmp_path / run / "video_preds"
        folder.mkdir(parents=True)
        xy = rng.uniform(0, 90, (50, 2, 2))
        write_predictions(folder / "s.csv", xy, rng.uniform(0, 1, (50, 2)))
        write_numeric_csv(folder / "s_temporal_norm.csv",
                          pd.DataFrame(rng.uniform(0, 5, (50, 2)), columns=["nose", "tail"], index=pd.RangeIndex(50, name="frame")))
        errors = pd.DataFrame(rng.uniform(0, 9, (12, 2)), columns=["nose", "tail"], index=[f"img{i}.png" for i in range(12)])
        errors["split"] = ["train"] * 8 + ["val"] * 2 + ["test"] * 2
        errors.to_csv(tmp_path / run / "pixel_error.csv")
    written = render_plots([tmp_path / "r1/video_preds/s.csv", tmp_path / "r2/video_preds/s.csv"], [],
                           [tmp_path / "r1/pixel_error.csv", tmp_path / "r2/pixel_error.csv"], tmp_path / "figs")
    assert sorted(p.name for p in written) == ["pixel_error.png", "s_metrics.png", "s_nose.png", "s_tail.png"]
    from PIL import Image

    for path in written:
        image = np.asarray(Image.open(path).convert("RGB")).astype(int)
        assert image.shape[0] > 200 and image.shape[1] > 400
        assert image.std() > 10  # lines and text, not a blank canvas
        colors = {tuple(c) for c in image.reshape(-1, 3)[::7]}
        assert len(colors) > 20
    with pytest.raises(UserError, match="nothing to plot"):
        render_plots([], [], [], tmp_path / "figs")
    done = subprocess.run([sys.executable, "render.py", "plots", "--predictions", str(tmp_path / "r1/video_preds/s.csv"),
                           "--output-dir", str(tmp_path / "cli")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli" / "s_nose.png").is_file()
