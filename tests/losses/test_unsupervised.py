"""The unsupervised losses (semi-supervised issue): exact values on tiny inputs."""

import numpy as np
import pytest
import torch

from lp.data.heatmaps import compute_heatmaps
from lp.losses import unsupervised_ramp
from lp.losses.pca_multiview import fit_multiview_subspace, pca_multiview_loss
from lp.losses.pca_singleview import pca_singleview_loss
from lp.models.pca import fit_subspace
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


# --- wiring: registry, config blocks, bundle ---------------------------------------------------

from lp.config import (  # noqa: E402
    LossesConfig, ModelConfig, PcaMultiviewLossConfig, PcaSingleviewLossConfig,
)
from lp.data.batch import ClipPredictions, LabeledBatch  # noqa: E402
from lp.errors import UserError  # noqa: E402
from lp.losses import UNSUPERVISED, LossBundle, fit_unsupervised  # noqa: E402
from lp.losses.pca_multiview import fit_multiview  # noqa: E402
from lp.losses.pca_singleview import fit_singleview  # noqa: E402


def test_registry_and_config_blocks_agree():
    names = LossesConfig().unsupervised_blocks
    assert set(UNSUPERVISED) == set(names) == {"temporal", "pca_singleview", "pca_multiview", "unimodal"}
    for name in names:
        block = getattr(LossesConfig(), name)
        assert block.enabled is False and block.weight > 0  # every block has the switch and the weight


def clip_predictions(xy: torch.Tensor) -> ClipPredictions:
    n, t, k, _ = xy.shape
    return ClipPredictions(torch.zeros(n * t, k, 4, 4), xy.flatten(0, 1), xy, torch.ones(n, t, k))


def test_bundle_adds_weighted_terms_with_warmup():
    cfg = LossesConfig(unsupervised_start_steps=10, unsupervised_full_steps=20)
    cfg.temporal.enabled, cfg.temporal.weight, cfg.temporal.epsilon_px = True, 0.5, 1.0
    bundle = LossBundle(cfg, ModelConfig(head="regression"))
    xy = torch.zeros(2, 3, 1, 2)
    xy[:, :, 0, 0] = torch.tensor([0.0, 3.0, 6.0])  # 3 px per frame: raw temporal loss 2
    labeled = LabeledBatch(torch.zeros(1, 3, 8, 8), torch.full((1, 1, 2), 4.0))
    outputs = torch.full((1, 1, 2), 5.0)  # supervised regression MSE: ((1^2 + 1^2) / 2)
    for step, ramp in ((0, 0.0), (15, 0.5), (25, 1.0)):
        total, terms = bundle(outputs, labeled, clip_predictions(xy), step)
        assert terms["temporal"].item() == pytest.approx(2.0)
        assert terms["temporal_weighted"].item() == pytest.approx(0.5 * 2.0 * ramp)
        assert total.item() == pytest.approx(terms["regression_mse"].item() + 0.5 * 2.0 * ramp)
    _, terms = bundle(outputs, labeled)  # no clips this step: supervised only
    assert set(terms) == {"regression_mse", "total"}


def test_unimodal_needs_heatmaps():
    cfg = LossesConfig()
    cfg.unimodal.enabled = True
    with pytest.raises(UserError, match="--model.head heatmap"):
        LossBundle(cfg, ModelConfig(head="regression"))


def test_pca_fits_name_missing_keypoints_and_default_margin():
    poses, _ = poses_in_a_plane(n=40)
    names = ["a", "b", "c"]
    fitted = fit_singleview(PcaSingleviewLossConfig(variance_fraction=0.999), poses, names)
    assert fitted.subspace.basis.shape[1] == 2 and fitted.epsilon_px < 1e-6  # labels lie in the plane
    assert fitted.keypoints == [0, 1, 2]
    sparse = poses.copy()
    sparse[3:, 1] = np.nan  # "b" labeled in only 3 frames: too few for 6-number poses
    with pytest.raises(UserError, match=r"b \(3\) have fewer: leave them out of --losses.pca-singleview.keypoints"):
        fit_singleview(PcaSingleviewLossConfig(), sparse, names)
    fitted = fit_singleview(PcaSingleviewLossConfig(keypoints=(0, 2)), sparse, names)  # dropping b works
    assert fitted.keypoints == [0, 2] and fitted.subspace.mean.shape == (4,)
    with pytest.raises(UserError, match="out of range"):
        fit_singleview(PcaSingleviewLossConfig(keypoints=(0, 5)), poses, names)


def test_multiview_fit_and_term_on_consistent_views():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(50, 2, 3)) * 20  # 2 body parts in 3-D
    top, side = points[..., [0, 1]], points[..., [0, 2]] + 100  # two orthographic views
    labels = np.concatenate([top, side], axis=1)  # keypoints 0,1 = top view; 2,3 = side view
    cfg = PcaMultiviewLossConfig(enabled=True, views=((0, 1), (2, 3)))
    fitted = fit_multiview(cfg, labels, ["p", "q", "p2", "q2"])
    assert fitted.epsilon_px < 1e-6
    xy = torch.tensor(labels[:6]).reshape(2, 3, 4, 2)
    from lp.losses.pca_multiview import pca_multiview_term

    assert pca_multiview_term(cfg, clip_predictions(xy), fitted).item() == pytest.approx(0.0, abs=1e-6)
    xy[0, 0, 2, 0] += 10.0  # one view moved off the consistent subspace
    assert pca_multiview_term(cfg, clip_predictions(xy), fitted).item() > 0.1
    with pytest.raises(UserError, match="at least 2 views"):
        fit_multiview(PcaMultiviewLossConfig(views=((0, 1),)), labels, ["p", "q", "p2", "q2"])


def test_fit_unsupervised_fits_only_enabled_pca_blocks():
    poses, _ = poses_in_a_plane(n=40)
    cfg = LossesConfig()
    cfg.temporal.enabled = cfg.pca_singleview.enabled = True
    assert set(fit_unsupervised(cfg, poses, ["a", "b", "c"])) == {"pca_singleview"}


def test_fitted_pca_round_trips_and_gives_per_keypoint_errors(tmp_path):
    from lp.models.pca import compute_pca_errors, load_fitted, save_fitted

    poses, _ = poses_in_a_plane(n=40)
    fitted = {"pca_singleview": fit_singleview(PcaSingleviewLossConfig(components=2), poses, ["a", "b", "c"])}
    save_fitted(tmp_path / "pca.npz", fitted)
    loaded = load_fitted(tmp_path / "pca.npz")["pca_singleview"]
    np.testing.assert_array_equal(loaded.subspace.basis, fitted["pca_singleview"].subspace.basis)
    assert loaded.keypoints == [0, 1, 2] and loaded.views is None
    errors, columns = compute_pca_errors(loaded, poses[:5])
    assert errors.shape == (5, 3) and columns == [0, 1, 2] and errors.max() < 1e-9
