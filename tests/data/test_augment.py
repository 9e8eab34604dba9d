import numpy as np
import torch

from lp.data import augment
from lp.data.augment import Augmenter, Preset, flip_permutation

GEOMETRY_ONLY = Preset(
    affine_prob=1.0, rotation_deg=30.0, scale_range=(0.8, 1.2), translate_frac=0.1,
    blur_prob=0.0, blur_kernel_px=3, photometric_prob=0.0, brightness=0.0, contrast_range=(1.0, 1.0), flip_prob=0.5,
)


def test_drawn_dot_stays_under_its_keypoint(monkeypatch):
    monkeypatch.setitem(augment.PRESETS, "geometry", GEOMETRY_ONLY)
    height, width = 48, 64
    keypoints = torch.tensor([[[20.0, 30.0], [40.0, 12.0]]]).repeat(16, 1, 1)
    images = torch.zeros(16, 3, height, width)
    for k, (x, y) in enumerate(keypoints[0].long().tolist()):
        images[:, k, y - 1 : y + 2, x - 1 : x + 2] = 1.0  # keypoint k drawn in channel k
    augmenter = Augmenter("geometry", height, width, flip_permutation(["a", "b"], (("a", "b"),)))
    out_images, out_keypoints = augmenter(images, keypoints, np.random.default_rng(0))
    ys, xs = torch.meshgrid(torch.arange(height).float(), torch.arange(width).float(), indexing="ij")
    checked = 0
    for b in range(16):
        for channel in range(2):
            mass = out_images[b, channel]
            if mass.sum() < 5:  # dot left the frame
                continue
            centroid = torch.stack([(mass * xs).sum(), (mass * ys).sum()]) / mass.sum()
            # A flip swaps identities (channel c then sits under keypoint 1 - c): take the nearer one.
            distance = (out_keypoints[b] - centroid).norm(dim=-1)
            assert torch.nan_to_num(distance, nan=1e9).min() < 0.3, (b, channel, centroid, out_keypoints[b])
            checked += 1
    assert checked >= 28


def test_flip_swaps_left_and_right(monkeypatch):
    height, width = 32, 32
    keypoints = torch.tensor([[[5.0, 10.0], [25.0, 10.0]]])
    preset = Preset(
        affine_prob=0.0, rotation_deg=0.0, scale_range=(1.0, 1.0), translate_frac=0.0,
        blur_prob=0.0, blur_kernel_px=3, photometric_prob=0.0, brightness=0.0, contrast_range=(1.0, 1.0), flip_prob=1.0,
    )
    monkeypatch.setitem(augment.PRESETS, "flip", preset)
    augmenter = Augmenter("flip", height, width, [1, 0])
    _, out = augmenter(torch.zeros(1, 3, height, width), keypoints, np.random.default_rng(0))
    # The left keypoint (index 0) is now the mirror image of the right one, and vice versa.
    torch.testing.assert_close(out[0], torch.tensor([[6.0, 10.0], [26.0, 10.0]]))


def test_unlabeled_stays_unlabeled_and_none_is_identity():
    keypoints = torch.tensor([[[float("nan"), float("nan")], [3.0, 4.0]]])
    images = torch.rand(1, 3, 32, 32)
    out_images, out = Augmenter("default", 32, 32)(images, keypoints, np.random.default_rng(1))
    assert torch.isnan(out[0, 0]).all()
    same_images, same = Augmenter("none", 32, 32)(images, keypoints, np.random.default_rng(1))
    assert same_images is images and same is keypoints
