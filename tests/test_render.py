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
    done = subprocess.run([sys.executable, "render.py", "plots"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "needs a command first" in done.stderr and "Traceback" not in done.stderr
