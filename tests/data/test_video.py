from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lp.data.video import list_videos, probe_video, read_frames
from lp.errors import UserError


def write_video(path: Path, num_frames: int = 12, size_wh=(64, 48), pts_ms=None, seed: int = 0) -> np.ndarray:
    """An H.264 mp4 of random-ish frames (pts in ms when given: variable frame rate)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (num_frames, size_wh[1], size_wh[0], 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size_wh[0], size_wh[1], "yuv420p"
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return frames


def test_probe_and_read_every_frame(tmp_path):
    path = tmp_path / "clip.mp4"
    write_video(path, num_frames=13)
    info = probe_video(path)
    assert (info.num_frames, info.width, info.height, info.codec, info.fps) == (13, 64, 48, "h264", 25.0)
    batches = list(read_frames(info, batch_size=5))
    assert [len(b) for b in batches] == [5, 5, 3] and batches[0].shape[1:] == (48, 64, 3)


def test_variable_frame_rate_is_rejected(tmp_path):
    path = tmp_path / "vfr.mp4"
    write_video(path, num_frames=6, pts_ms=[0, 40, 80, 200, 240, 400])
    with pytest.raises(UserError, match="variable frame rate.*ffmpeg -i"):
        probe_video(path)


def test_empty_and_broken_files_are_rejected(tmp_path):
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 64, 48
    with pytest.raises(UserError, match="empty.mp4"):
        probe_video(empty)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(UserError, match="cannot read video .*garbage.mp4"):
        probe_video(garbage)


def test_folder_listing_skips_other_files(tmp_path, capsys):
    write_video(tmp_path / "a.mp4", num_frames=2)
    (tmp_path / "notes.txt").write_text("hello")
    assert list_videos(tmp_path) == [tmp_path / "a.mp4"]
    assert "skipping" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no videos"):
        list_videos(tmp_path / "empty")


def test_clips_equal_sequential_frames(tmp_path):
    from lp.data.video import ClipCursor

    path = tmp_path / "long.mp4"
    write_video(path, num_frames=60)
    info = probe_video(path)
    sequential = np.concatenate(list(read_frames(info, batch_size=16)))
    rng = np.random.default_rng(0)
    cursor = ClipCursor(info, max_skip=10)  # random order: seeks back, skips ahead, seeks far ahead
    for start in [0, 44, *rng.integers(0, 45, 6).tolist()]:
        np.testing.assert_array_equal(cursor.clip(start, 16), sequential[start : start + 16])
    with pytest.raises(ValueError, match="outside"):
        cursor.clip(50, 16)
    cursor.close()
