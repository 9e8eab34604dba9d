"""The unsupervised losses (semi-supervised issue): exact values on tiny inputs."""

import numpy as np
import pytest
import torch

from lp.data.heatmaps import compute_heatmaps
from lp.engine.schedule import unsupervised_ramp
from lp.losses.pca_multiview import fit_multiview_subspace, pca_multiview_loss
from lp.losses.pca_singleview import pca_singleview_loss
from lp.losses.pca_subspace import fit_subspace
from lp.losses.temporal import temporal_loss
from lp.losses.unimodal import unimodal_loss


def test_temporal_zero_when_still_and_grows_past_the_margin():
    still = torch.full((5, 2, 2), 7.0)
    confidence = torch.ones(5, 2)
    assert temporal_loss(still, confidence, epsilon_px=1.0).item() == 0
    moving = torch.zeros(4, 1, 2)
    moving[:, 0, 0] = torch.arange(4) * 3.0  # 3 px per frame
    assert temporal_loss(moving, torch.ones(4, 1), epsilon_px=1.0).item() == pytest.approx(2.0)
    assert temporal_loss(moving, torch.ones(4, 1), epsilon_px=5.0).item() == 0
    # a low-confidence frame removes both of its pairs; a NaN frame likewise
    confidence = torch.tensor([[1.0], [1.0], [0.1], [1.0]])
    moving[3, 0, 0] = 100.0
    assert temporal_loss(moving, confidence, epsilon_px=1.0, min_confidence=0.5).item() == pytest.approx(2.0)
    moving[2] = float("nan")
    assert temporal_loss(moving, torch.ones(4, 1), epsilon_px=1.0).item() == pytest.approx(2.0)


def poses_in_a_plane(n=40, seed=0):
    """(n, 3, 2) poses whose 6-vectors lie in a 2-D affine subspace."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0]
    coefficients = rng.normal(size=(n, 2)) * [30, 10]
    return (coefficients @ basis.T + 100).reshape(n, 3, 2), basis


def test_pca_zero_in_subspace_and_exact_off_it():
    poses, basis = poses_in_a_plane()
    subspace = fit_subspace(poses.reshape(len(poses), -1), variance_fraction=0.999)
    assert subspace.basis.shape == (6, 2)
    assert subspace.reprojection_error(poses.reshape(len(poses), -1)).max() < 1e-9
    normal = np.linalg.svd(basis.T)[2][-1]  # a unit 6-vector orthogonal to the subspace
    off = poses[0].reshape(-1) + 5.0 * normal
    expected = np.linalg.norm((5.0 * normal).reshape(3, 2), axis=-1)
    np.testing.assert_allclose(subspace.reprojection_error(off[None])[0], expected, atol=1e-9)
    loss = pca_singleview_loss(torch.tensor(off.reshape(1, 3, 2)), subspace, epsilon_px=0.0)
    assert loss.item() == pytest.approx(expected.mean())


def test_pca_fit_uses_frames_with_missing_keypoints():
    poses, _ = poses_in_a_plane(n=30, seed=1)
    vectors = poses.reshape(30, -1).copy()
    vectors[::3, 0:2] = np.nan  # a third of the frames miss keypoint 0
    subspace = fit_subspace(vectors, components=2)
    assert subspace.reprojection_error(poses.reshape(30, -1)).max() < 1e-3


def test_multiview_zero_for_consistent_views():
    rng = np.random.default_rng(2)
    points3d = rng.normal(size=(50, 2, 3)) * 20  # 50 frames, 2 body parts
    top = points3d[..., :2] + 200                # view 1 sees (x, y)
    bottom = points3d[..., [0, 2]] * [1, -1] + 50  # view 2 (mirror) sees (x, -z)
    labels = np.concatenate([top, bottom], axis=1)  # keypoints: part0_top, part1_top, part0_bot, part1_bot
    views = [[0, 1], [2, 3]]
    subspace = fit_multiview_subspace(labels, views)
    xy = torch.tensor(labels)
    assert pca_multiview_loss(xy, subspace, views, epsilon_px=0.0).item() < 1e-9
    xy[0, 2, 0] += 4.0  # bottom view of part 0 no longer shares the top view's x
    assert pca_multiview_loss(xy, subspace, views, epsilon_px=0.0).item() > 0.01


def test_unimodal_zero_for_one_bump_and_positive_for_two():
    xy = torch.tensor([[[30.0, 22.0]]])
    one = compute_heatmaps(xy, (64, 64), 2, 1.25)
    assert unimodal_loss(one, xy, 2, 1.25).item() < 1e-12
    assert unimodal_loss(one, xy, 2, 1.25, kind="kl").item() == pytest.approx(0.0, abs=1e-6)
    two = (one + compute_heatmaps(torch.tensor([[[50.0, 50.0]]]), (64, 64), 2, 1.25)) / 2
    assert unimodal_loss(two, xy, 2, 1.25).item() > 0.01


def test_warmup_ramp():
    assert [unsupervised_ramp(s, 100, 300) for s in (0, 99, 100, 200, 300, 1000)] == [0, 0, 0, 0.5, 1, 1]
