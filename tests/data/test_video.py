from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lp.data.video import list_videos, probe_video, read_frames
from lp.errors import UserError


def write_video(
    path: Path, num_frames: int = 12, size_wh=(64, 48), pts_ms=None, seed: int = 0, faststart: bool = False,
    frames: np.ndarray | None = None, codec: str = "libx264", pixel_format: str = "yuv420p", rotation: int = 0,
    options: dict | None = None,
) -> np.ndarray:
    """A video of `frames` (default: random-ish ones), H.264 yuv420p unless told otherwise; pts in
    ms when given (variable frame rate); faststart: the index at the front of the file, as
    streaming cameras write it; rotation: display rotation in degrees."""
    if frames is None:
        rng = np.random.default_rng(seed)
        frames = rng.integers(0, 255, (num_frames, size_wh[1], size_wh[0], 3), dtype=np.uint8)
    height, width = frames.shape[1:3]
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        stream.options = options or {}
        if rotation:
            stream.set_display_rotation(rotation)
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
    with pytest.raises(UserError, match="garbage.mp4 is not a video that FFmpeg can read"):
        probe_video(garbage)
    (tmp_path / "zero.mp4").write_bytes(b"")
    with pytest.raises(UserError, match="zero.mp4 is empty"):
        probe_video(tmp_path / "zero.mp4")


def test_truncated_recordings_say_what_is_wrong_and_what_can_be_kept(tmp_path):
    from lp.viz.video import reencode_video

    # index at the front, data cut short: the index lists every frame, the file holds the first ones
    whole = tmp_path / "whole.mp4"
    write_video(whole, num_frames=60, faststart=True)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"cut.mp4 is truncated: its index lists 60 frames but the file ends after about (\d+)") as caught:
        probe_video(cut)
    readable = int(caught.value.args[0].split("ends after about ")[1].split()[0])
    assert 15 < readable < 45 and f"render.py reencode --video {cut} --frames {readable}" in str(caught.value)
    # the suggested fix gives a video lp reads, with the frames before the cut
    fixed, count = reencode_video(cut, None, readable)
    assert fixed == tmp_path / "cut_cfr.mp4" and count <= readable and probe_video(fixed).num_frames == count > 10
    # index at the end, never written (recording stopped): no frame can be located
    late = tmp_path / "late.mp4"
    write_video(late, num_frames=30)
    late.write_bytes(late.read_bytes()[: late.stat().st_size // 2])
    with pytest.raises(UserError, match="late.mp4 is incomplete: its index .*moov.* is missing"):
        probe_video(late)


def test_reencode_makes_a_variable_frame_rate_video_usable(tmp_path):
    from lp.viz.video import reencode_video

    path = tmp_path / "vfr.mp4"
    write_video(path, num_frames=6, pts_ms=[0, 40, 80, 200, 240, 400])
    with pytest.raises(UserError, match="python render.py reencode --video .*vfr.mp4"):
        probe_video(path)
    fixed, count = reencode_video(path, tmp_path / "fixed.mp4", None)
    info = probe_video(fixed)  # accepted now: constant rate, every frame once
    assert count == info.num_frames == 6
    decoded = np.concatenate(list(read_frames(info, 6, dali_colors=False)))
    with av.open(str(path)) as container:
        source = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    differences = np.abs(decoded.astype(int) - source).reshape(6, -1).mean(axis=1)
    assert differences.max() < 12  # the same pictures in the same order (H.264 again: not exact)
    assert np.abs(decoded[1:].astype(int) - source[:-1]).mean() > 3 * differences.max()  # (frames differ)


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
