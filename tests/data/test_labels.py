from pathlib import Path

import numpy as np
import pytest

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
