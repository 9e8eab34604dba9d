import math

import pytest
import torch

from lp.data.batch import LabeledBatch
from lp.losses import LOSSES, LossBundle
from lp.config import LossesConfig, ModelConfig


def two_pixel_batch():
    """One frame, two keypoints on 1 x 2 heatmaps; the second keypoint is unlabeled."""
    target = torch.tensor([[[[1.0, 0.0]], [[0.5, 0.5]]]])
    predicted = torch.tensor([[[[0.75, 0.25]], [[0.1, 0.9]]]])
    keypoints = torch.tensor([[[0.0, 0.0], [float("nan"), float("nan")]]])
    return predicted, LabeledBatch(torch.zeros(1, 3, 2, 4), keypoints, target)


def test_heatmap_mse_exact():
    predicted, batch = two_pixel_batch()
    # (0.25^2 + 0.25^2) over the one labeled keypoint; the unlabeled one does not count
    assert LOSSES["heatmap_mse"](predicted, batch).item() == pytest.approx(0.125)


def test_heatmap_kl_exact():
    predicted, batch = two_pixel_batch()
    assert LOSSES["heatmap_kl"](predicted, batch).item() == pytest.approx(-math.log(0.75))


def test_heatmap_js_exact():
    predicted, batch = two_pixel_batch()
    # m = (0.875, 0.125); JS = 0.5 KL(t||m) + 0.5 KL(p||m)
    kl_t = math.log(1 / 0.875)
    kl_p = 0.75 * math.log(0.75 / 0.875) + 0.25 * math.log(0.25 / 0.125)
    assert LOSSES["heatmap_js"](predicted, batch).item() == pytest.approx(0.5 * kl_t + 0.5 * kl_p)


def test_regression_mse_exact():
    keypoints = torch.tensor([[[1.0, 2.0], [float("nan"), 0.0], [0.0, 0.0]]])
    predicted = torch.tensor([[[4.0, 6.0], [100.0, 100.0], [0.0, 1.0]]])
    batch = LabeledBatch(torch.zeros(1, 3, 2, 2), keypoints)
    assert LOSSES["regression_mse"](predicted, batch).item() == pytest.approx((25 + 1) / 2)


def test_no_labels_no_pull():
    predicted, batch = two_pixel_batch()
    batch.keypoints[:] = float("nan")
    predicted.requires_grad_(True)
    loss = LOSSES["heatmap_kl"](predicted, batch)
    loss.backward()
    assert loss.item() == 0 and predicted.grad.abs().sum() == 0


def test_bundle_weights_and_names():
    predicted, batch = two_pixel_batch()
    bundle = LossBundle(LossesConfig(heatmap="mse", supervised_weight=2.0), ModelConfig(head="heatmap"))
    total, terms = bundle(predicted, batch)
    assert total.item() == pytest.approx(0.25)
    assert set(terms) == {"heatmap_mse", "total"}
    assert LossBundle(LossesConfig(), ModelConfig(head="regression")).supervised_name == "regression_mse"


def test_unlabeled_targets_give_finite_gradients():
    keypoints = torch.tensor([[[1.0, 2.0], [float("nan"), float("nan")]]])
    predicted = torch.zeros(1, 2, 2, requires_grad=True)
    LOSSES["regression_mse"](predicted, LabeledBatch(torch.zeros(1, 3, 2, 2), keypoints)).backward()
    assert torch.isfinite(predicted.grad).all() and predicted.grad[0, 1].abs().sum() == 0
