"""SLEAP .slp and NWB labels in, NWB and SLEAP predictions out, through sleap-io: round trips on
tiny projects written with sleap-io itself, and one-line errors for bad files."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from lp.errors import UserError
from tests.conftest import tiny_args
from tests.data.test_video import write_video

sio = pytest.importorskip("sleap_io", reason="pip install 'lp[formats]' for the SLEAP/NWB tests")

NODES = ["head", "thorax", "tail"]


def write_sleap_project(root, tracks=("female", "male"), frames=10, embed=False, nwb=False, seed=0):
    """A 12-frame video and labels of `frames` of its frames (in .slp, one more frame has only a
    prediction)."""
    root.mkdir(parents=True, exist_ok=True)
    write_video(root / "session.mp4", num_frames=12, size_wh=(64, 48), seed=seed)
    rng = np.random.default_rng(seed)
    video = sio.Video.from_filename(str(root / "session.mp4"))
    skeleton = sio.Skeleton(list(NODES), name="fly")
    track_objects = [sio.Track(name) for name in tracks]
    truth, frames_out = {}, []
    for f in range(frames):
        instances = []
        for t, track in enumerate(track_objects or [None]):
            points = rng.uniform(2, 45, (len(NODES), 2))
            if f == 3:
                points[1] = np.nan  # an unlabeled keypoint
            instances.append(sio.Instance.from_numpy(points, skeleton=skeleton, track=track))
            truth[(f, t)] = points
        frames_out.append(sio.LabeledFrame(video=video, frame_idx=f, instances=instances))
    if not nwb:  # NWB's training frames hold labels only
        predicted = sio.PredictedInstance.from_numpy(rng.uniform(2, 45, (3, 2)), skeleton=skeleton, point_scores=np.ones(3), score=1.0)
        frames_out.append(sio.LabeledFrame(video=video, frame_idx=11, instances=[predicted]))
    labels = sio.Labels(labeled_frames=frames_out, videos=[video], skeletons=[skeleton], tracks=track_objects)
    if nwb:
        sio.save_nwb(labels, str(root / "labels.nwb"), nwb_format="annotations")
        return truth, "labels.nwb"
    sio.save_slp(labels, str(root / "labels.slp"), embed=embed, verbose=False)
    return truth, "labels.slp"


@pytest.mark.parametrize("kind", ["slp", "slp_embedded", "nwb"])
def test_labels_from_sleap_and_nwb_equal_what_was_written(tmp_path, kind, capsys):
    from lp.data.labels import read_labels

    tracks = () if kind == "nwb" else ("female", "male")  # NWB training frames keep no tracks: one animal
    truth, name = write_sleap_project(tmp_path / "p", tracks=tracks, embed=kind == "slp_embedded", nwb=kind == "nwb")
    if kind == "slp_embedded":
        (tmp_path / "p" / "session.mp4").unlink()  # the frames travel inside the file
    frames = read_labels(tmp_path / "p" / name)
    if kind != "nwb":
        assert "1 frame(s) without user-labeled instances skipped" in capsys.readouterr().out
    expected_names = [f"{t}_{n}" for t in tracks for n in NODES] if tracks else NODES
    assert frames.keypoint_names == expected_names and len(frames.image_paths) == 10
    for row in range(10):
        expected = np.concatenate([truth[(row, t)] for t in range(max(1, len(tracks)))])
        np.testing.assert_allclose(frames.keypoints[row], expected, atol=1e-4)
    # the cached image of frame 5 is the video's frame 5
    from lp.data.images import read_image

    image = read_image(tmp_path / "p" / frames.image_paths[5]).permute(1, 2, 0).numpy().astype(float)
    decoded = sio.load_video(str(tmp_path / "p" / "session.mp4"))[5] if kind != "slp_embedded" else None
    if decoded is not None:
        assert np.abs(image - decoded).mean() < 1.0
    assert frames.image_paths[5].endswith("session/img000005.png")


def test_train_on_slp_and_predict_every_format(tmp_path):
    from lp.cli import parse_train_args
    from lp.config import PredictConfig
    from lp.engine.loop import train
    from lp.predict import predict

    write_sleap_project(tmp_path / "p")
    train(parse_train_args(tiny_args(tmp_path / "p", tmp_path / "run", "--data.csv-file", "labels.slp", "--train.max-steps", "2")))
    out = tmp_path / "preds"
    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=tmp_path / "p" / "session.mp4", output_dir=out,
                          formats=("csv", "h5", "nwb", "slp")))
    table = pd.read_csv(out / "session.csv", header=[0, 1, 2], index_col=0)
    names = [f"{t}_{n}" for t in ("female", "male") for n in NODES]
    xy = np.stack([table.xs(c, axis=1, level=2)[[(table.columns[0][0], n) for n in names]].to_numpy(float) for c in "xy"], -1)
    likelihood = table.xs("likelihood", axis=1, level=2).to_numpy(float)
    assert xy.shape == (12, 6, 2)
    for suffix in ("slp", "nwb"):
        labels = sio.load_file(str(out / f"session.{suffix}"))
        assert [lf.frame_idx for lf in labels] == list(range(12))
        points = np.stack([lf.instances[0].numpy(scores=True) for lf in labels])
        np.testing.assert_allclose(points[..., :2], xy, atol=1e-4)
        np.testing.assert_allclose(points[..., 2], likelihood, atol=1e-4)
        assert list(labels.skeletons[0].node_names) == names
        assert labels.videos[0].filename.endswith("session.mp4")
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out / "session.nwb"), "r", load_namespaces=True) as io:
        nwb = io.read()
        estimation = next(m for m in nwb.processing.values() for o in m.data_interfaces.values() if type(o).__name__ == "PoseEstimation")
        pose = next(o for o in estimation.data_interfaces.values() if type(o).__name__ == "PoseEstimation")
        assert pose.source_software == "lp" and pose.scorer == "run"
        assert pose.original_videos[0].endswith("session.mp4")
        series = pose.pose_estimation_series["male_tail"]
        assert series.rate == 25.0 and series.data.shape == (12, 2)
        np.testing.assert_allclose(series.data[:], xy[:, 5], atol=1e-4)
    # labels of the .slp predicted as a labels file, with pixel error
    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=tmp_path / "p" / "labels.slp", output_dir=tmp_path / "labeled"))
    assert (tmp_path / "labeled" / "labels_pixel_error.csv").is_file()


@pytest.mark.parametrize("suffix", [".slp", ".nwb"])
def test_a_file_that_is_not_sleap_or_nwb_is_one_line(tmp_path, suffix):
    from lp.data.labels import read_labels

    (tmp_path / f"labels{suffix}").write_text("not hdf5\n")
    with pytest.raises(UserError, match=r"is not a readable (SLEAP labels|NWB) file"):
        read_labels(tmp_path / f"labels{suffix}")


def test_untracked_animals_and_missing_videos_are_one_line_each(tmp_path):
    from lp.data.labels import read_labels

    root = tmp_path / "p"
    root.mkdir()
    write_video(root / "v.mp4", num_frames=4, size_wh=(64, 48))
    video = sio.Video.from_filename(str(root / "v.mp4"))
    skeleton = sio.Skeleton(list(NODES), name="s")
    two = [sio.Instance.from_numpy(np.ones((3, 2)) * i, skeleton=skeleton) for i in (5, 9)]
    sio.save_slp(sio.Labels(labeled_frames=[sio.LabeledFrame(video=video, frame_idx=0, instances=two)], videos=[video],
                            skeletons=[skeleton]), str(root / "two.slp"), verbose=False)
    with pytest.raises(UserError, match="give every labeled instance a track"):
        read_labels(root / "two.slp")
    one = [sio.Instance.from_numpy(np.ones((3, 2)) * 5, skeleton=skeleton)]
    sio.save_slp(sio.Labels(labeled_frames=[sio.LabeledFrame(video=video, frame_idx=2, instances=one)], videos=[video],
                            skeletons=[skeleton]), str(root / "one.slp"), verbose=False)
    (root / "videos").mkdir()
    (root / "v.mp4").rename(root / "videos" / "v.mp4")  # moved: found by its name in videos/
    assert read_labels(root / "one.slp").image_paths == [".lp-frames/one/v/img000002.png"]
    (root / "videos" / "v.mp4").unlink()
    import shutil

    shutil.rmtree(root / ".lp-frames")
    with pytest.raises(UserError, match="frame 2 of video .*v.mp4 cannot be read.*Export Labels Package"):
        read_labels(root / "one.slp")


def test_without_sleap_io_the_error_names_the_extra(tmp_path, monkeypatch):
    from lp.data.labels import read_labels

    (tmp_path / "labels.slp").write_text("x")
    monkeypatch.setitem(sys.modules, "sleap_io", None)
    with pytest.raises(UserError, match=r"needs sleap-io: pip install 'lp\[formats\]'"):
        read_labels(tmp_path / "labels.slp")


def test_formats_must_keep_the_csv():
    from lp.config import PredictConfig

    with pytest.raises(ValueError, match="--formats must include csv"):
        PredictConfig(run_dir=("run",), videos="v.mp4", formats=("nwb",))


def test_coco_written_by_sleap_io_reads_and_trains(tmp_path):
    """COCO keypoints as another tool writes them (sleap-io's save_coco), over image files."""
    from lp.cli import parse_train_args
    from lp.data.labels import read_labels
    from lp.engine.loop import train

    truth, name = write_sleap_project(tmp_path / "p", tracks=())
    via_slp = read_labels(tmp_path / "p" / name)  # also writes the frames as PNGs
    labels = sio.load_file(str(tmp_path / "p" / name))
    labels.labeled_frames = [lf for lf in labels.labeled_frames if lf.user_instances]
    sio.save_coco(labels, str(tmp_path / "p" / "annotations.json"), image_filenames=via_slp.image_paths)
    frames = read_labels(tmp_path / "p" / "annotations.json")
    assert frames.keypoint_names == NODES and frames.image_paths == via_slp.image_paths
    np.testing.assert_allclose(frames.keypoints, via_slp.keypoints, atol=1e-3)  # COCO keeps 3 decimals at least
    result = train(parse_train_args(tiny_args(tmp_path / "p", tmp_path / "run", "--data.csv-file", "annotations.json",
                                              "--train.max-steps", "2")))
    assert np.isfinite(result.pixel_error["train"]["mean"])


def test_two_videos_with_one_file_name_get_their_own_frames(tmp_path):
    """Two cameras' videos named alike in two folders: each labeled frame keeps its own image."""
    from lp.data.images import read_image
    from lp.data.labels import read_labels

    skeleton = sio.Skeleton(list(NODES), name="s")
    frames, videos = [], []
    for camera, seed in (("top", 1), ("side", 2)):
        (tmp_path / camera).mkdir()
        write_video(tmp_path / camera / "session.mp4", num_frames=4, size_wh=(64, 48), seed=seed)
        video = sio.Video.from_filename(str(tmp_path / camera / "session.mp4"))
        videos.append(video)
        frames.append(sio.LabeledFrame(video=video, frame_idx=1, instances=[sio.Instance.from_numpy(np.ones((3, 2)) * 5, skeleton=skeleton)]))
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=videos, skeletons=[skeleton]), str(tmp_path / "l.slp"), verbose=False)
    labels = read_labels(tmp_path / "l.slp")
    assert labels.image_paths == [".lp-frames/l/session_0/img000001.png", ".lp-frames/l/session_1/img000001.png"]
    first, second = (read_image(tmp_path / p) for p in labels.image_paths)
    assert (first.float() - second.float()).abs().mean() > 10  # two different pictures
