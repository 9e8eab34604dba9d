from pathlib import Path

import numpy as np
import pytest
import torch

from lp.data.labels import read_labels
from lp.errors import UserError
from tests.conftest import EXAMPLE


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_example_csv():
    frames = read_labels(EXAMPLE / "CollectedData.csv")
    assert frames.keypoints.shape == (90, 17, 2)
    assert frames.keypoint_names[0] == "paw1LH_top" and frames.keypoint_names[-1] == "obsLow_bot"
    assert frames.image_paths[0] == "labeled-data/img01.png"
    assert frames.scorer == "rick"
    assert np.isnan(frames.keypoints).any(axis=-1).sum() == 134  # 268 empty cells = 134 keypoints


def test_missing_values_and_visible_column(tmp_path):
    path = write(
        tmp_path,
        "scorer,s,s,s,s,s,s\nbodyparts,a,a,a,b,b,b\ncoords,x,y,visible,x,y,visible\n"
        "img1.png,1.5,2,1,,,0\nimg2.png,3,4,0,5,6,1\n",
    )
    frames = read_labels(path)
    assert frames.keypoint_names == ["a", "b"]
    np.testing.assert_array_equal(frames.keypoints[0, 0], [1.5, 2.0])
    assert np.isnan(frames.keypoints[0, 1]).all()
    assert np.isnan(frames.keypoints[1, 0]).all()  # visible = 0 -> not labeled
    np.testing.assert_array_equal(frames.keypoints[1, 1], [5, 6])


def test_three_index_columns(tmp_path):
    path = write(
        tmp_path,
        "scorer,,,s,s\nbodyparts,,,a,a\ncoords,,,x,y\nlabeled-data,session1,img7.png,10,20\n",
    )
    frames = read_labels(path)
    assert frames.image_paths == ["labeled-data/session1/img7.png"]
    np.testing.assert_array_equal(frames.keypoints[0, 0], [10, 20])


@pytest.mark.parametrize(
    "text, message",
    [
        ("scorer,s,s\nbodyparts,a,a\ncoords,x,y\nimg1.png,1,2,3\n", "line 4 has 4 values, expected 3"),
        ("scorer,s,s\nbodyparts,a,a\ncoords,x,y\nimg1.png,1\n", "line 4 has 2 values, expected 3"),
        ("scorer,s,s,s,s\nbodyparts,a,a,a,a\ncoords,x,y,x,y\nimg1.png,1,2,3,4\n", "'a' appears twice"),
        ("scorer,s,s\nbodyparts,a,a\ncoords,x,y\nimg1.png,1,zz\n", "'zz' is not a number"),
        ("scorer,s,s\nbodyparts,a,a\ncoords,x,y\n", "no labeled frames"),
        ("bodyparts,a,a\ncoords,x,y\n", "fewer than the 3 header rows"),
        ("scorer,s,s\nbodyparts,a,a\ncoords,x,z\nimg1.png,1,2\n", "coords 'z'"),
    ],
)
def test_malformed_csv(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UserError, match=message) as info:
        read_labels(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_csv(tmp_path):
    with pytest.raises(UserError, match="--data.data-dir"):
        read_labels(tmp_path / "nope.csv")


def test_binary_file_is_not_a_csv(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match="not a readable CSV"):
        read_labels(path)


def test_dlc_h5_and_coco_read_as_the_csv(tmp_path):
    """The same labels as DeepLabCut .h5 and COCO .json give the same table as the CSV, and a
    run trains on them."""
    import json

    import pandas as pd

    from lp.cli import parse_train_args
    from lp.data.labels import read_labels
    from lp.engine.loop import train
    from tests.conftest import tiny_args, write_project

    project = tmp_path / "project"
    write_project(project)
    expected = read_labels(project / "CollectedData.csv")
    columns = pd.MultiIndex.from_product([["me"], expected.keypoint_names, ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    index = pd.MultiIndex.from_tuples([tuple(p.split("/")) for p in expected.image_paths])
    pd.DataFrame(expected.keypoints.reshape(len(index), -1), columns=columns, index=index).to_hdf(
        project / "CollectedData_me.h5", key="df_with_missing", mode="w")
    coco = {
        "images": [{"id": i + 1, "file_name": p} for i, p in enumerate(expected.image_paths)] + [{"id": 99, "file_name": "x.png"}],
        "categories": [{"id": 1, "name": "mouse", "keypoints": expected.keypoint_names}],
        "annotations": [{"image_id": i + 1, "category_id": 1,
                         "keypoints": [v for x, y in frame for v in ((0, 0, 0) if np.isnan(x) else (x, y, 2))]}
                        for i, frame in enumerate(expected.keypoints)],
    }
    (project / "labels.json").write_text(json.dumps(coco))
    for name in ("CollectedData_me.h5", "labels.json"):
        frames = read_labels(project / name)
        assert frames.image_paths == expected.image_paths and frames.keypoint_names == expected.keypoint_names
        np.testing.assert_allclose(frames.keypoints, expected.keypoints)
    result = train(parse_train_args(tiny_args(project, tmp_path / "run", "--data.csv-file", "labels.json",
                                              "--train.max-steps", "2")))
    assert np.isfinite(result.pixel_error["train"]["mean"])


def test_malformed_h5_and_coco_are_one_line(tmp_path):
    import pytest

    from lp.data.labels import read_labels
    from lp.errors import UserError

    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "two.json").write_text('{"images": [{"id": 1, "file_name": "a.png"}], "categories": '
                                       '[{"id": 1, "keypoints": ["a", "b"]}], "annotations": [{"image_id": 1, "keypoints": [1, 2, 2]}]}')
    (tmp_path / "bad.h5").write_bytes(b"not hdf5 at all")
    (tmp_path / "labels.txt").write_text("x")
    for name, says in (("bad.json", "is not a COCO keypoints file"), ("two.json", "has 3 values, expected 3 x 2"),
                       ("bad.h5", "is not a DeepLabCut .h5 labels file"), ("labels.txt", "lp reads labels from")):
        with pytest.raises(UserError, match=says) as error:
            read_labels(tmp_path / name)
        assert "\n" not in str(error.value)


def test_a_run_on_large_frames_says_how_much_they_are_shrunk(tmp_path):
    from lp.config import DataConfig
    from lp.data.labeled import load_labeled_data
    from tests.conftest import EXAMPLE, write_project

    write_project(tmp_path, num_frames=6, size_wh=(1024, 800))
    notice = load_labeled_data(DataConfig(data_dir=tmp_path, val_fraction=0.2, test_fraction=0.2)).resolution_notice()
    assert "1024x800 are shrunk 3.1x to the network's 256x256" in notice and "--data.image-height" in notice
    bigger = DataConfig(data_dir=tmp_path, image_height=512, image_width=512, val_fraction=0.2, test_fraction=0.2)
    assert load_labeled_data(bigger).resolution_notice() == ""  # 2x: no line
    assert load_labeled_data(DataConfig(data_dir=EXAMPLE)).resolution_notice() == ""  # 406x396: 1.6x


MULTI_ANIMAL = (
    "scorer,,,me,me,me,me,me,me,me,me,me,me\n"
    "individuals,,,m1,m1,m1,m1,m2,m2,m2,m2,single,single\n"
    "bodyparts,,,head,head,tail,tail,head,head,tail,tail,box,box\n"
    "coords,,,x,y,x,y,x,y,x,y,x,y\n"
    "labeled-data,v1,img0.png,1,2,3,4,5,6,,,9,10\n"
    "labeled-data,v1,img1.png,11,12,13,14,,,17,18,19,20\n"
)


def test_multi_animal_deeplabcut_csv_and_h5_name_keypoints_by_animal(tmp_path, capsys):
    """A multi-animal DeepLabCut file: each individual's keypoints <animal>_<bodypart>, the
    "single" individual's (unique body parts) by their own name; the .h5 reads the same."""
    import pandas as pd

    frames = read_labels(write(tmp_path, MULTI_ANIMAL))
    assert "2 animals (m1, m2) read as fixed identities" in capsys.readouterr().out
    assert frames.keypoint_names == ["m1_head", "m1_tail", "m2_head", "m2_tail", "box"]
    assert frames.image_paths == ["labeled-data/v1/img0.png", "labeled-data/v1/img1.png"]
    np.testing.assert_array_equal(frames.keypoints[0, [0, 2, 4]], [[1, 2], [5, 6], [9, 10]])
    assert np.isnan(frames.keypoints[0, 3]).all() and np.isnan(frames.keypoints[1, 2]).all()
    columns = pd.MultiIndex.from_tuples([("me", a, p, c) for a, p in [("m1", "head"), ("m1", "tail"), ("m2", "head"), ("m2", "tail"),
                                                                      ("single", "box")] for c in "xy"],
                                        names=["scorer", "individuals", "bodyparts", "coords"])
    index = pd.MultiIndex.from_tuples([tuple(p.split("/")) for p in frames.image_paths])
    pd.DataFrame(frames.keypoints.reshape(2, -1), columns=columns, index=index).to_hdf(tmp_path / "ma.h5", key="df_with_missing")
    from_h5 = read_labels(tmp_path / "ma.h5")
    assert from_h5.keypoint_names == frames.keypoint_names and from_h5.animals == ("m1", "m2")
    np.testing.assert_array_equal(from_h5.keypoints, frames.keypoints)


def test_a_deeplabcut_project_folder_reads_every_video_folder_and_trains(tmp_path, capsys):
    """A DeepLabCut project as DeepLabCut leaves it: labeled-data/<video>/CollectedData_<scorer>
    .h5 and .csv (the .h5 read), Windows paths in an older one, a keypoint added to the project
    after a video was labeled, a <video>_labeled folder of drawn frames; no CollectedData.csv at
    the top. Read as one table when --data.csv-file is left as is, and trained on."""
    import shutil

    import pandas as pd

    from lp.cli import parse_train_args
    from lp.engine.loop import train
    from tests.conftest import tiny_args, write_project

    flat = tmp_path / "flat"
    write_project(flat, num_frames=12)
    expected = read_labels(flat / "CollectedData.csv")
    project = tmp_path / "project"
    for video, rows in (("sessA", range(0, 6)), ("sessB", range(6, 12))):
        (project / "labeled-data" / video).mkdir(parents=True)
        for i in rows:
            shutil.copy(flat / expected.image_paths[i], project / "labeled-data" / video)
    (project / "labeled-data" / "sessA_labeled").mkdir()
    shutil.copy(flat / expected.image_paths[0], project / "labeled-data" / "sessA_labeled")
    names = expected.keypoint_names
    columns = pd.MultiIndex.from_product([["me"], names, ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    index = pd.MultiIndex.from_tuples([("labeled-data", "sessA", Path(expected.image_paths[i]).name) for i in range(6)])
    pd.DataFrame(expected.keypoints[:6].reshape(6, -1), columns=columns, index=index).to_hdf(
        project / "labeled-data" / "sessA" / "CollectedData_me.h5", key="df_with_missing")
    (project / "labeled-data" / "sessA" / "CollectedData_me.csv").write_text("stale, not read\n")
    lines = ["scorer" + ",me" * 4, "bodyparts,nose,nose,left,left", "coords,x,y,x,y"]
    for i in range(6, 12):
        cells = ["" if np.isnan(v) else f"{v:.6f}" for v in expected.keypoints[i, :2].ravel()]
        lines.append(",".join([f"labeled-data\\sessB\\{Path(expected.image_paths[i]).name}", *cells]))
    (project / "labeled-data" / "sessB" / "CollectedData_me.csv").write_text("\n".join(lines) + "\n")

    frames = read_labels(project / "CollectedData.csv")
    out = capsys.readouterr().out
    assert "reading the DeepLabCut project's labeled-data/ folder" in out
    assert "sessB/CollectedData_me.csv has no column for right: unlabeled in its 6 frames" in out
    assert frames.keypoint_names == names
    assert frames.image_paths == [f"labeled-data/sess{'A' if i < 6 else 'B'}/{Path(p).name}" for i, p in enumerate(expected.image_paths)]
    want = expected.keypoints.copy()
    want[6:, 2] = np.nan
    np.testing.assert_allclose(frames.keypoints, want, atol=1e-6)
    # README's command for one's own frames: the example's config, whose skeleton names the mouse's keypoints
    config = Path(__file__).parents[2] / "configs" / "mouse.py"
    result = train(parse_train_args(["--config", str(config), *tiny_args(project, tmp_path / "run", "--train.max-steps", "2")]))
    assert "--data.skeleton names none of the labels' keypoints" in capsys.readouterr().out
    assert np.isfinite(result.pixel_error["train"]["mean"])
    assert pd.read_csv(tmp_path / "run" / "predictions.csv", header=[0, 1, 2], index_col=0).index[-1] == frames.image_paths[-1]
    from lp.cli import load_config
    from lp.data.labels import skeleton_edges

    saved = load_config(tmp_path / "run" / "config.yaml").data.skeleton  # as given: the config is not rewritten
    assert saved and skeleton_edges(frames.keypoint_names, saved) == []  # what FiftyOne draws for this run
    from lp.config import PredictConfig
    from lp.predict import predict

    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=project / "labeled-data"))
    on_frames = pd.read_csv(tmp_path / "run" / "video_preds" / "labeled-data.csv", header=[0, 1, 2], index_col=0)
    assert list(on_frames.index) == frames.image_paths
    with pytest.raises(UserError, match="--data.skeleton names 'nose_x', which is not a keypoint"):  # a typo is no other data
        train(parse_train_args(tiny_args(project, tmp_path / "run2", "--data.skeleton", "nose", "nose_x")))
    assert not (tmp_path / "run2").exists()

    (project / "labeled-data" / "sessB" / "CollectedData_you.csv").write_text("x\n")
    with pytest.raises(UserError, match="holds 2 labels files .*keep one CollectedData file per video folder"):
        read_labels(project / "CollectedData.csv")
    empty = tmp_path / "empty" / "labeled-data"
    (empty / "v").mkdir(parents=True)
    with pytest.raises(UserError, match="holds no <video>/CollectedData_<scorer>.h5 or .csv"):
        read_labels(empty)
    with pytest.raises(UserError, match="not found"):  # no labeled-data folder: the plain message
        read_labels(tmp_path / "flat" / "labeled-data" / "CollectedData.csv")


def test_images_of_every_depth_read_as_8_bit_rgb(tmp_path):
    """Cameras' 16-bit grayscale frames are scaled over their whole range (PIL's own conversion
    clips them at 255, a white frame); grayscale, palette and RGBA become RGB; float pixels stop
    with a line naming the file."""
    from PIL import Image

    from lp.data.images import read_image

    ramp = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    for name in ("g16.png", "g16.tif"):
        Image.fromarray(ramp).save(tmp_path / name)
        image = read_image(tmp_path / name)
        assert image.shape == (3, 48, 64) and image.dtype == torch.uint8
        np.testing.assert_array_equal(image[0].numpy(), np.round(ramp / 257).astype(np.uint8))
        assert (image[0] == image[2]).all()
    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([rgb, np.full((48, 64), 128, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    Image.fromarray(rgb).quantize(16).save(tmp_path / "palette.png")
    for name in ("rgb.png", "rgba.png"):
        np.testing.assert_array_equal(read_image(tmp_path / name).permute(1, 2, 0).numpy(), rgb)
    assert (read_image(tmp_path / "gray.png") == torch.from_numpy(rgb[..., 0])).all()
    assert read_image(tmp_path / "palette.png").shape == (3, 48, 64)
    Image.fromarray(ramp.astype(np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(UserError, match=r"f.tif has floating-point pixels .*save the frames as 8- or 16-bit"):
        read_image(tmp_path / "f.tif")
