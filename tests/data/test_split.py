import numpy as np
import pytest

from lp.data.split import compute_split


def test_split_is_deterministic_and_disjoint():
    a = compute_split(90, 0.1, 0.1, seed=3)
    b = compute_split(90, 0.1, 0.1, seed=3)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert [len(a[n]) for n in ("train", "val", "test")] == [72, 9, 9]
    assert len(np.unique(np.concatenate(list(a.values())))) == 90
    c = compute_split(90, 0.1, 0.1, seed=4)
    assert not np.array_equal(a["val"], c["val"])


def test_train_subset_keeps_val_and_test():
    full = compute_split(90, 0.1, 0.1, seed=0)
    subset = compute_split(90, 0.1, 0.1, seed=0, train_frames=10)
    assert len(subset["train"]) == 10 and set(subset["train"]) <= set(full["train"])
    np.testing.assert_array_equal(full["val"], subset["val"])
    np.testing.assert_array_equal(full["test"], subset["test"])


def test_no_training_frames_left():
    with pytest.raises(ValueError):
        compute_split(2, 0.5, 0.5, seed=0)
