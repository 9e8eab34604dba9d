"""The unlabeled clip stream: CPU reader frames, checks, resizing, augmentation and mapping back."""

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from lp.config import UnlabeledConfig
from lp.data.images import resize_to_uint8, scale_to_original
from lp.data.clips import ClipSchedule, CpuClipReader
from lp.data.unlabeled import ClipStream, clips_to_original, invert_affine
from lp.data.video import check_dali_codecs, choose_reader, open_videos, probe_video, read_frames
from lp.errors import UserError
from tests.data.test_video import write_video

CPU = torch.device("cpu")


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.mp4", num_frames=30, size_wh=(64, 48), seed=1)
    write_video(folder / "b.mp4", num_frames=20, size_wh=(48, 64), seed=2)
    return folder


def schedule_of(videos: Path, clip_length: int, clips_per_step: int, **kwargs) -> ClipSchedule:
    infos = [info for info, _ in open_videos(videos, "cpu", CPU, "--unlabeled.reader")]
    return ClipSchedule(infos, clip_length, clips_per_step, **kwargs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_cpu_clips_equal_sequential_frames_and_depend_on_step_and_rank(videos, shuffle):
    schedule = schedule_of(videos, 5, 3, seed=0, rank=0, world=2, shuffle=shuffle)
    sequential = {info.path: np.concatenate(list(read_frames(info, 64))) for info in schedule.infos}
    steps = CpuClipReader(schedule).steps(first_step=4)
    for step in (4, 5, 6, 7):
        clips = next(steps)
        for (video, start), clip in zip(schedule.clip_starts(step), clips):
            np.testing.assert_array_equal(clip, sequential[schedule.infos[video].path][start : start + 5])
    again = schedule_of(videos, 5, 3, seed=0, rank=0, world=2, shuffle=shuffle)
    other_rank = schedule_of(videos, 5, 3, seed=0, rank=1, world=2, shuffle=shuffle)
    assert schedule.clip_starts(4) == again.clip_starts(4)  # reproducible: resuming reads the same clips
    # in order, at every step each process reads clips of its own; shuffled, each draws its own
    # stretches (which may coincide: these short videos have one key frame, where all start)
    assert any(schedule.clip_starts(step) != other_rank.clip_starts(step) for step in range(10))
    if not shuffle:
        for step in range(10):
            assert not set(schedule.clip_starts(step)) & set(other_rank.clip_starts(step))


@pytest.mark.parametrize("shuffle", [False, True])
def test_resumed_reader_reads_what_an_uninterrupted_one_reads(videos, shuffle):
    schedule = schedule_of(videos, 4, 2, seed=5, rank=0, shuffle=shuffle)
    whole = CpuClipReader(schedule).steps(0)
    uninterrupted = [next(whole) for _ in range(9)]
    resumed = CpuClipReader(schedule_of(videos, 4, 2, seed=5, rank=0, shuffle=shuffle)).steps(6)
    for step in (6, 7, 8):
        for a, b in zip(uninterrupted[step], next(resumed)):
            np.testing.assert_array_equal(a, b)


def test_shuffled_clips_come_in_stretches(videos):
    schedule = schedule_of(videos, 5, 1, seed=3, rank=0, shuffle=True)  # 30 and 20 frames: stretches of 20
    assert schedule.steps_per_stretch == 4
    starts = [schedule.clip_starts(s)[0] for s in range(40)]
    for stretch in range(10):
        (video, first), *rest = starts[4 * stretch : 4 * stretch + 4]
        assert rest == [(video, first + 5), (video, first + 10), (video, first + 15)]  # consecutive clips
        assert first + 20 <= schedule.infos[video].num_frames


def test_shuffled_stretches_start_at_the_key_frame_before_a_random_frame(tmp_path):
    """A shuffled stretch starts at a random frame moved back to the key frame before it, where
    that is less than a stretch back (a decoder starts there anyway); farther, at the frame."""
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.mp4", num_frames=20, seed=1)  # the shortest: stretches of 20 frames
    write_video(folder / "b.mp4", num_frames=120, seed=2, options={"x264-params": "keyint=8:min-keyint=8:scenecut=0"})
    write_video(folder / "c.mp4", num_frames=120, seed=3)  # one key frame, at 0
    schedule = schedule_of(folder, 5, 1, seed=0, rank=0, shuffle=True)
    assert schedule.stretch_frames == 20 and schedule.infos[1].keyframes == tuple(range(0, 120, 8))
    firsts: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for k in range(300):
        video, first = schedule.stretch(k)
        firsts[video].append(first)
        assert 0 <= first <= schedule.infos[video].num_frames - 20
    assert set(firsts[0]) <= {0}  # (drawn in proportion to the starts it leaves room for: one)
    assert all(f % 8 == 0 for f in firsts[1]) and len(set(firsts[1])) == 13  # every key frame that leaves room
    assert all(f == 0 or f >= 20 for f in firsts[2]) and len(set(firsts[2])) > 20  # past a stretch: the random frame


def test_clips_in_order_walk_stretch_after_stretch(videos):
    schedule = schedule_of(videos, 5, 2, seed=0, rank=0)  # 30 and 20 frames: one stretch of 20 in each
    starts = [c for s in range(5) for c in schedule.clip_starts(s)]
    assert starts == [(0, 0), (0, 5), (0, 10), (0, 15), (1, 0), (1, 5), (1, 10), (1, 15), (0, 0), (0, 5)]
    two = [schedule_of(videos, 5, 2, seed=0, rank=rank, world=2) for rank in (0, 1)]
    assert [two[0].clip_starts(s) for s in (0, 2)] == [[(0, 0), (0, 5)], [(0, 0), (0, 5)]]  # stretch 0 of 2, again
    assert two[1].clip_starts(0) == [(1, 0), (1, 5)]  # each process its own stretches
    assert schedule_of(videos, 5, 2, seed=0, rank=0, world=3).stretch_frames == 10  # shorter: a stretch each
    with pytest.raises(UserError, match="5 stretches of 10 frames, fewer than the 6 processes"):
        schedule_of(videos, 5, 2, seed=0, rank=0, world=6)


def test_video_checks(videos, tmp_path):
    def stream(video_dir, clip_length=5):
        return ClipStream(UnlabeledConfig(video_dir=video_dir, clip_length=clip_length, reader="cpu"), (32, 32), CPU,
                          0, 1, seed=0, first_step=0, augmentation="none")

    with pytest.raises(UserError, match="fewer than --unlabeled.clip-length 25"):
        stream(videos, 25)
    with pytest.raises(UserError, match="set --unlabeled.video-dir"):
        stream(None)
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
    [(info, reader)] = open_videos(mpeg4, "cpu", CPU, "--unlabeled.reader")  # the CPU reader decodes it...
    with pytest.raises(UserError, match="c.avi cannot be read by DALI: its codec is mpeg4 .*--unlabeled.reader cpu"):
        check_dali_codecs([info])  # ...and with DALI forced, the user is told before training


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
    (video, start), _ = stream.schedule.clip_starts(0)
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


@pytest.mark.parametrize("shuffle", [False, True])
def test_stream_resumed_at_a_step_gives_the_clips_of_an_uninterrupted_run(videos, shuffle):
    """What the loop does on --run.resume-from: a new ClipStream from the saved step."""
    cfg = UnlabeledConfig(video_dir=videos, clip_length=4, clips_per_step=2, reader="cpu", shuffle=shuffle)

    def stream(first_step):
        return ClipStream(cfg, (32, 32), CPU, 0, 1, seed=7, first_step=first_step, augmentation="none")

    uninterrupted = stream(0)
    expected = [uninterrupted.next(step).images for step in range(7)][5:]
    resumed = stream(5)
    for step, images in zip((5, 6), expected):
        torch.testing.assert_close(resumed.next(step).images, images, rtol=0, atol=0)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("rank", [0, 1])
def test_mixed_readers_read_the_schedule_as_one_reader_does(videos, shuffle, rank):
    """Each stretch goes to the reader of its video (here two CPU readers, labelled as DALI's and
    the CPU's; the DALI side runs in tests/test_gpu.py): the clips, in order and after a resume,
    are those one reader of the whole schedule gives, and each reader sees only its videos."""
    from lp.data.clips import MixedClipReader

    write_video(videos / "c.mp4", num_frames=26, size_wh=(64, 48), seed=3)
    schedule = schedule_of(videos, 4, 2, seed=5, rank=rank, world=2, shuffle=shuffle)
    kinds = ["dali", "cpu", "dali"]  # a.mp4, b.mp4, c.mp4
    seen: dict[str, set] = {"dali": set(), "cpu": set()}

    def make_reader(kind, share):
        seen[kind] |= {share.stretch(j)[0] for j in range(6)}
        return CpuClipReader(share)

    single = CpuClipReader(schedule).steps(0)
    expected = [next(single) for _ in range(40)]
    for first in (0, 3, 17):
        mixed = MixedClipReader(schedule_of(videos, 4, 2, seed=5, rank=rank, world=2, shuffle=shuffle), kinds, make_reader)
        steps = mixed.steps(first)
        for step in range(first, 40):
            for a, b in zip(expected[step], next(steps)):
                np.testing.assert_array_equal(a, b)
    assert seen["dali"] <= {0, 2} and seen["cpu"] <= {1}
    assert seen["dali"] and seen["cpu"]  # both readers were used


def test_a_mixed_folder_streams_clips_from_both_readers(videos, monkeypatch):
    """ClipStream with one video per reader kind: a 'mixed' reader (the DALI side stood in for by
    the CPU reader on this machine), clips identical to the CPU reader's."""
    import lp.data.clips
    import lp.data.unlabeled

    from lp.config import UnlabeledConfig

    chosen = open_videos(videos, "cpu", CPU, "--unlabeled.reader")
    monkeypatch.setattr(lp.data.unlabeled, "open_videos", lambda *args: [(chosen[0][0], "dali"), chosen[1]])
    monkeypatch.setattr(lp.data.clips, "DaliClipReader", lambda schedule, device: CpuClipReader(schedule))
    cfg = UnlabeledConfig(video_dir=videos, clip_length=4, clips_per_step=2)
    mixed = ClipStream(cfg, (32, 32), CPU, 0, 1, 0, 0, "none")
    assert mixed.reader_name == "mixed" and "DALI on the GPU (1 video) and PyAV on the CPU" in mixed.describe()
    monkeypatch.setattr(lp.data.unlabeled, "open_videos", lambda *args: chosen)
    alone = ClipStream(cfg, (32, 32), CPU, 0, 1, 0, 0, "none")
    for step in range(12):
        torch.testing.assert_close(mixed.next(step).images, alone.next(step).images)
