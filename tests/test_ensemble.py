"""Ensembles: the Kalman smoother against known answers, mean/median, outlier ranking."""

import os
from pathlib import Path

import numpy as np
import pytest

from lp.ensemble import combine, eks_smooth, kalman_smooth, rank_outlier_frames


def test_consistent_noiseless_ensemble_comes_back_unchanged():
    rng = np.random.default_rng(0)
    truth = np.cumsum(rng.normal(0, 2, (200, 3, 2)), axis=0) + 100
    xy = np.repeat(truth[None], 4, axis=0)  # four models, all exactly right
    result = eks_smooth(xy, np.ones((4, 200, 3)))
    np.testing.assert_allclose(result.xy, truth, atol=0.02)
    assert (result.ensemble_var == 0).all() and (result.posterior_var < 1e-3).all()


def test_smoother_recovers_a_noisy_random_walk_as_well_as_the_ideal_one():
    rng = np.random.default_rng(1)
    steps, models, walk_sd, noise_sd = 2000, 4, 1.0, 4.0
    truth = np.cumsum(rng.normal(0, walk_sd, (steps, 2, 2)), axis=0)
    xy = truth[None] + rng.normal(0, noise_sd, (models, steps, 2, 2))
    result = eks_smooth(xy, np.ones((models, steps, 2)))
    raw = np.sqrt(np.mean((xy.mean(axis=0) - truth) ** 2))
    smoothed = np.sqrt(np.mean((result.xy - truth) ** 2))
    # the ideal smoother knows the walk's variance and the mean's noise (noise_sd^2 / models)
    mean = xy.mean(axis=0).reshape(steps, -1)
    ideal, _, _ = kalman_smooth(mean, np.full_like(mean, noise_sd**2 / models), np.full(4, walk_sd**2))
    ideal_error = np.sqrt(np.mean((ideal.reshape(truth.shape) - truth) ** 2))
    assert smoothed < 0.75 * raw  # the smoother halves the variance or better ...
    assert smoothed < 1.25 * ideal_error  # ... and comes close to what the best possible smoother does
    assert np.all(result.posterior_var < result.ensemble_var.mean())


def test_missing_frames_are_filled_and_bad_input_is_refused():
    rng = np.random.default_rng(2)
    truth = np.cumsum(rng.normal(0, 1, (100, 1, 2)), axis=0)
    xy = truth[None] + rng.normal(0, 0.5, (3, 100, 1, 2))
    xy[:, 40:45] = np.nan  # no model placed the keypoint for five frames
    result = eks_smooth(xy, np.ones((3, 100, 1)), smoothing=1.0)
    assert np.isfinite(result.xy).all() and (result.posterior_var[42] > result.posterior_var[30]).all()
    with pytest.raises(ValueError, match="models, frames, keypoints"):
        eks_smooth(xy[0], np.ones((100, 1)))


def test_mean_and_median():
    xy = np.array([[[[0.0, 0.0]]], [[[2.0, 2.0]]], [[[10.0, 10.0]]]])  # 3 models, 1 frame, 1 keypoint
    likelihood = np.array([[[0.2]], [[0.4]], [[0.9]]])
    assert combine(xy, likelihood, "mean").xy[0, 0].tolist() == [4.0, 4.0]
    median = combine(xy, likelihood, "median")
    assert median.xy[0, 0].tolist() == [2.0, 2.0] and np.isclose(median.likelihood[0, 0], 0.5)
    assert np.allclose(median.ensemble_var[0, 0], np.var([0, 2, 10]))


def test_a_planted_jump_is_the_first_outlier():
    rng = np.random.default_rng(3)
    xy = np.cumsum(rng.normal(0, 0.5, (300, 4, 2)), axis=0)
    ensemble_var = rng.uniform(0.5, 1.0, (300, 4, 2))
    xy[150:] += 60  # a jump at frame 150
    ensemble_var[150] += 30  # where the models also disagree
    frames, components = rank_outlier_frames(ensemble_var, xy, count=10, spacing=5)
    assert frames[0] == 150 and len(frames) == 10
    assert np.min(np.abs(np.diff(np.sort(frames)))) >= 5
    assert set(components) == {"ensemble_std_px", "temporal_jump_px", "score"}


@pytest.mark.skipif(not os.environ.get("LP_EKS_PYTHON"), reason="set LP_EKS_PYTHON to a Python with ensemble-kalman-smoother")
def test_smoother_equals_the_eks_package_with_the_same_smoothing(tmp_path):
    """The field's package as an oracle (it pins an old jax, so it lives in its own environment)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from eks_oracle import run_eks, synthetic_ensemble, write_csv

    truth, xy, likelihood = synthetic_ensemble(frames=600)
    files = [tmp_path / f"m{m}.csv" for m in range(len(xy))]
    for m, path in enumerate(files):
        write_csv(path, xy[m], likelihood[m])
    theirs = run_eks(os.environ["LP_EKS_PYTHON"], files, tmp_path, "2.0")["xy"]
    ours = eks_smooth(xy, likelihood, 2.0).xy
    assert np.abs(ours - theirs)[50:-50].max() < 1e-2
