"""The unlabeled clip stream: CPU reader frames, checks, resizing, augmentation and mapping back."""

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from lp.config import UnlabeledConfig
from lp.data.images import resize_to_uint8, scale_to_original
from lp.data.unlabeled import (
    ClipStream, CpuClipReader, clips_to_original, invert_affine, probe_videos,
)
from lp.data.video import choose_reader, probe_video, read_frames
from lp.errors import UserError
from tests.data.test_video import write_video


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.mp4", num_frames=30, size_wh=(64, 48), seed=1)
    write_video(folder / "b.mp4", num_frames=20, size_wh=(48, 64), seed=2)
    return folder


@pytest.mark.parametrize("shuffle", [False, True])
def test_cpu_clips_equal_sequential_frames_and_depend_on_step_and_rank(videos, shuffle):
    infos = probe_videos(videos, 5, "cpu")
    sequential = {info.path: np.concatenate(list(read_frames(info, 64))) for info in infos}
    reader = CpuClipReader(infos, clip_length=5, clips_per_step=3, seed=0, rank=0, world=2, shuffle=shuffle)
    steps = reader.steps(first_step=4)
    for step in (4, 5, 6, 7):
        clips = next(steps)
        for (video, start), clip in zip(reader.clip_starts(step), clips):
            np.testing.assert_array_equal(clip, sequential[infos[video].path][start : start + 5])
    again = CpuClipReader(infos, 5, 3, seed=0, rank=0, world=2, shuffle=shuffle)
    other_rank = CpuClipReader(infos, 5, 3, seed=0, rank=1, world=2, shuffle=shuffle)
    assert reader.clip_starts(4) == again.clip_starts(4)  # reproducible: resuming reads the same clips
    mine = {c for s in range(10) for c in reader.clip_starts(s)}
    theirs = {c for s in range(10) for c in other_rank.clip_starts(s)}
    assert not mine & theirs if not shuffle else mine != theirs  # each process reads its own clips


def test_shuffled_clips_come_in_stretches(videos):
    infos = probe_videos(videos, 5, "cpu")  # 30 and 20 frames: stretches of 20 frames, 4 steps each
    reader = CpuClipReader(infos, clip_length=5, clips_per_step=1, seed=3, rank=0, shuffle=True)
    assert reader.steps_per_stretch == 4
    starts = [reader.clip_starts(s)[0] for s in range(40)]
    for stretch in range(10):
        (video, first), *rest = starts[4 * stretch : 4 * stretch + 4]
        assert rest == [(video, first + 5), (video, first + 10), (video, first + 15)]  # consecutive clips
        assert first + 20 <= infos[video].num_frames
    assert len({starts[4 * k] for k in range(10)}) > 3  # stretches start at random places


def test_clips_in_order_walk_through_every_video(videos):
    infos = probe_videos(videos, 5, "cpu")  # 30 and 20 frames: 6 + 4 clips of 5
    reader = CpuClipReader(infos, clip_length=5, clips_per_step=2, seed=0, rank=0)
    starts = [c for s in range(5) for c in reader.clip_starts(s)]
    assert starts == [(0, 0), (0, 5), (0, 10), (0, 15), (0, 20), (0, 25), (1, 0), (1, 5), (1, 10), (1, 15)]
    assert reader.clip_starts(5) == [(0, 0), (0, 5)]  # then around again


def test_video_checks(videos, tmp_path):
    with pytest.raises(UserError, match="fewer than --unlabeled.clip-length 25"):
        probe_videos(videos, 25, "cpu")
    with pytest.raises(UserError, match="set --unlabeled.video-dir"):
        probe_videos(None, 5, "cpu")
    mpeg4 = tmp_path / "mpeg4"
    mpeg4.mkdir()
    with av.open(str(mpeg4 / "c.avi"), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(6):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert len(probe_videos(mpeg4, 4, "cpu")) == 1  # the CPU reader decodes it...
    with pytest.raises(UserError, match="mpeg4, which the DALI reader does not decode"):
        probe_videos(mpeg4, 4, "dali")  # ...the DALI reader is told before training starts


def test_reader_choice():
    cpu = torch.device("cpu")
    assert choose_reader("auto", cpu) == "cpu" and choose_reader("cpu", cpu) == "cpu"
    with pytest.raises(UserError, match="needs a GPU"):
        choose_reader("dali", cpu)


def test_stream_resizes_like_labeled_frames(videos):
    cfg = UnlabeledConfig(video_dir=videos, clip_length=4, clips_per_step=2, reader="cpu")
    stream = ClipStream(cfg, (32, 32), torch.device("cpu"), 0, 1, seed=0, first_step=0, augmentation="none")
    clips = stream.next(0)
    assert clips.images.shape == (8, 3, 32, 32) and clips.num_clips == 2 and clips.inverse is None
    reader = CpuClipReader(stream.infos, 4, 2, seed=0, rank=0)
    (video, start), _ = reader.clip_starts(0)
    info = stream.infos[video]
    frames = np.concatenate(list(read_frames(info, 64)))[start : start + 4]
    expected = resize_to_uint8(torch.from_numpy(frames).permute(0, 3, 1, 2), 32, 32).float() / 255
    torch.testing.assert_close(clips.images[:4], expected)
    assert clips.sizes[0].tolist() == [info.width, info.height]


def test_augmented_predictions_map_back_to_original_pixels(videos):
    cfg = UnlabeledConfig(video_dir=videos, clip_length=3, clips_per_step=2, reader="cpu", augment=True)
    stream = ClipStream(cfg, (32, 32), torch.device("cpu"), 0, 1, seed=0, first_step=0, augmentation="dlc")
    clips = stream.next(0)
    assert clips.inverse is not None and clips.images.shape == (6, 3, 32, 32)
    # a point in the resized frame, pushed through the clip's augmentation, maps back to itself
    resized = torch.tensor([[[10.0, 20.0], [3.0, 4.0]]]).expand(6, 2, 2)
    forward = torch.from_numpy(invert_affine(clips.inverse.double().numpy())).float()
    augmented = torch.einsum("bij,bkj->bki", forward[:, :, :2], resized) + forward[:, None, :, 2]
    original = clips_to_original(augmented, clips, (32, 32))
    expected = scale_to_original(resized.double().numpy(), clips.sizes.double().numpy(), 32, 32)
    np.testing.assert_allclose(original.flatten(0, 1).numpy(), expected, atol=1e-3)
    # one transform per clip: every frame of a clip shares it
    assert torch.equal(clips.inverse[0], clips.inverse[2]) and not torch.equal(clips.inverse[0], clips.inverse[3])


def test_probe_counts_frames_of_the_bundled_video():
    info = probe_video(Path(__file__).resolve().parents[2] / "data/mirror-mouse-example/videos/test_vid.mp4")
    assert info.num_frames == 994 and info.codec == "h264"
