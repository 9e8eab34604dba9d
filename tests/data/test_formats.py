"""Videos as labs record them: every pixel format, container and quirk in a small matrix, made here
with PyAV. For each readable one: which reader auto picks and why, frames equal to what was
encoded (in displayed orientation), and one prediction row per frame. For each broken one: one
line saying what is wrong."""

from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import torch

from lp.config import PredictConfig
from lp.data.video import dali_cannot_read, open_videos, probe_video, read_frames, read_frames_parallel
from lp.errors import UserError
from lp.predict import predict
from tests.data.test_video import write_video

CPU = torch.device("cpu")
FRAMES = 16


def pictures(width: int, height: int, count: int = FRAMES) -> np.ndarray:
    """Smooth moving gradients (compress nearly losslessly), with a bright block at the top left
    so that orientation shows."""
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(count):
        red = (x * 255 // max(1, width - 1) + 20 * i) % 256
        green = y * 255 // max(1, height - 1)
        blue = np.full_like(x, 40 + 10 * i)
        frame = np.stack([red, green, blue], -1).astype(np.uint8)
        frame[: height // 4, : width // 4] = 255
        frames.append(frame)
    return np.stack(frames)


def encode(path: Path, codec: str, pixel_format: str, width: int = 64, height: int = 48, rotation: int = 0,
           options: dict | None = None, pts_ms: list[int] | None = None) -> np.ndarray:
    source = pictures(width, height, FRAMES if pts_ms is None else len(pts_ms))
    return write_video(path, pts_ms=pts_ms, frames=source, codec=codec, pixel_format=pixel_format, rotation=rotation,
                       options=options)


LOSSLESS = {"qp": "0", "preset": "ultrafast"}
# name: (file, codec, pixel format, size, rotation, encoder options, what DALI's reason mentions)
READABLE = {
    "h264 yuv420p mp4": ("a.mp4", "libx264", "yuv420p", (64, 48), 0, LOSSLESS, None),
    "h264 yuv422p": ("b.mp4", "libx264", "yuv422p", (64, 48), 0, LOSSLESS, "yuv422p"),
    "h264 yuv444p": ("c.mp4", "libx264", "yuv444p", (64, 48), 0, LOSSLESS, "yuv444p"),
    "h264 10-bit": ("d.mp4", "libx264", "yuv420p10le", (64, 48), 0, LOSSLESS, "yuv420p10le"),
    "gray": ("e.mkv", "ffv1", "gray", (64, 48), 0, {}, "ffv1"),
    "mjpeg avi": ("f.avi", "mjpeg", "yuvj420p", (64, 48), 0, {"q:v": "2"}, "mjpeg"),
    "h264 mkv": ("g.mkv", "libx264", "yuv420p", (64, 48), 0, LOSSLESS, None),
    "odd size 1023x767": ("h.mp4", "libx264", "yuv444p", (1023, 767), 0, LOSSLESS, "yuv444p"),
    "rotated 90": ("i.mp4", "libx264", "yuv420p", (64, 48), 90, LOSSLESS, "rotated by 90"),
    "rotated 270": ("j.mp4", "libx264", "yuv420p", (64, 48), 270, LOSSLESS, "rotated by 270"),
}


def make(tmp_path: Path, name: str) -> tuple[Path, np.ndarray]:
    file, codec, pixel_format, (width, height), rotation, options, _ = READABLE[name]
    try:
        source = encode(tmp_path / file, codec, pixel_format, width, height, rotation, options)
    except (av.error.FFmpegError, ValueError) as error:  # an encoder this FFmpeg build lacks
        pytest.skip(f"PyAV's FFmpeg cannot write {name}: {error}")
    return tmp_path / file, source


@pytest.mark.parametrize("name", sorted(READABLE))
def test_every_readable_format_gives_its_frames_and_a_row_per_frame(name, tmp_path, run_dir):
    path, source = make(tmp_path, name)
    rotation, expected_reason = READABLE[name][4], READABLE[name][6]
    info = probe_video(path)
    # displayed orientation: a rotated video's frames come turned, sides swapped
    displayed = np.stack([np.rot90(frame, rotation // 90) for frame in source])
    assert (info.num_frames, info.height, info.width) == (FRAMES, *displayed.shape[1:3])
    # the reader: DALI only where it gives the same frames; the reason otherwise
    reason = dali_cannot_read(info)
    assert (reason is None) if expected_reason is None else (expected_reason in reason), reason
    [(opened, reader)] = open_videos(path, "auto", CPU, "--reader")
    assert opened == info and reader == "cpu"  # no GPU here
    # the frames: what was encoded (chroma subsampling and JPEG cost a few levels)
    frames = np.concatenate(list(read_frames(info, 4)))
    error = np.abs(frames.astype(int) - displayed.astype(int))
    if info.pixel_format == "gray":
        error = np.abs(frames.astype(int) - frames.mean(-1, keepdims=True).astype(int))  # gray: equal channels
        assert error.max() == 0 and frames.shape == displayed.shape
    else:
        assert error.mean() < 6, error.mean()  # turned the wrong way, the bright block would cost far more
    # decoded in parallel stretches (each a seek), the same frames in the same order
    pieces = list(read_frames_parallel(info, 3, workers=3, stretch_frames=5))
    assert [first for first, _ in pieces] == [0, 3, 5, 8, 10, 13, 15]
    np.testing.assert_array_equal(np.concatenate([batch for _, batch in pieces]), frames)
    # one prediction row per frame
    predict(PredictConfig(run_dir=(run_dir,), videos=path, output_dir=tmp_path / "out", batch_size=4))
    table = pd.read_csv(tmp_path / "out" / f"{path.stem}.csv", header=[0, 1, 2], index_col=0)
    assert len(table) == FRAMES and np.isfinite(table.to_numpy()).all()


def test_a_folder_of_mixed_formats_is_predicted_whole(tmp_path, run_dir):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("h264 yuv420p mp4", "mjpeg avi", "rotated 90"):
        make(folder, name)
    predict(PredictConfig(run_dir=(run_dir,), videos=folder, output_dir=tmp_path / "out", batch_size=4))
    assert sorted(p.name for p in (tmp_path / "out").glob("*.csv") if "_" not in p.stem) == ["a.csv", "f.csv", "i.csv"]


def test_broken_videos_each_say_what_is_wrong(tmp_path):
    vfr = tmp_path / "vfr.mp4"
    encode(vfr, "libx264", "yuv420p", pts_ms=[0, 40, 80, 200, 240, 400])
    with pytest.raises(UserError, match="variable frame rate"):
        probe_video(vfr)
    for zero, says in (("zero.mkv", "zero.mkv has no frames"), ("zero.mp4", "zero.mp4 has no video stream")):
        with av.open(str(tmp_path / zero), "w") as container:  # a header, then nothing
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            container.start_encoding()
        with pytest.raises(UserError, match=says):
            probe_video(tmp_path / zero)
    truncated = tmp_path / "cut.mp4"
    with av.open(str(truncated), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        noise = np.random.default_rng(0).integers(0, 255, (40, 48, 64, 3), dtype=np.uint8)  # big frames
        for array in noise:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    with pytest.raises(UserError, match="cut.mp4 is truncated"):
        probe_video(truncated)


def test_a_few_frames_go_to_the_cpu_reader(tmp_path):
    from tests.data.test_video import write_video

    write_video(tmp_path / "short.mp4", num_frames=3)
    assert "3 frames, too few for DALI" in dali_cannot_read(probe_video(tmp_path / "short.mp4"))


def test_several_cpu_decoders_predict_what_one_does(tmp_path, run_dir, monkeypatch):
    """predict.py's CPU path with a video FFmpeg converts: stretches decoded by several threads
    give the same CSV as one decoder."""
    import lp.predict

    path, _ = make(tmp_path, "h264 yuv444p")
    predict(PredictConfig(run_dir=(run_dir,), videos=path, output_dir=tmp_path / "one", batch_size=4))
    info = probe_video(path)  # 16 frames
    monkeypatch.setattr(lp.predict.os, "cpu_count", lambda: 3)
    assert lp.predict.cpu_decode_plan(info.num_frames, torch.device("cpu")) == (1, 16)  # the network's cores
    assert lp.predict.cpu_decode_plan(info.num_frames, torch.device("cuda")) == (1, 256)  # one stretch: one decoder
    monkeypatch.setattr(lp.predict, "DECODE_STRETCH_FRAMES", (4, 1024))
    assert lp.predict.cpu_decode_plan(info.num_frames, torch.device("cuda")) == (3, 6)  # shared evenly among the cores
    monkeypatch.setattr(lp.predict.os, "cpu_count", lambda: 16)
    assert lp.predict.cpu_decode_plan(info.num_frames, torch.device("cuda")) == (4, 4)  # stretches no shorter than 4
    monkeypatch.setattr(lp.predict, "cpu_decode_plan", lambda num_frames, device: (3, 5))
    predict(PredictConfig(run_dir=(run_dir,), videos=path, output_dir=tmp_path / "three", batch_size=4))
    assert (tmp_path / "one" / "c.csv").read_bytes() == (tmp_path / "three" / "c.csv").read_bytes()


@pytest.mark.parametrize("claimed", [14, 18])
def test_parallel_decoders_stop_on_a_frame_count_the_container_does_not_hold(tmp_path, claimed):
    """Decoded frames more or fewer than the container's count: an error naming both, never a
    silently short or cut table."""
    import dataclasses

    from lp.errors import UserError

    path, _ = make(tmp_path, "h264 yuv420p mp4")
    info = dataclasses.replace(probe_video(path), num_frames=claimed)
    with pytest.raises(UserError, match="decoded 16 frames but the container holds 14|got 1 of 3 frames from frame 15"):
        sum(len(batch) for _, batch in read_frames_parallel(info, 3, workers=3, stretch_frames=5))
