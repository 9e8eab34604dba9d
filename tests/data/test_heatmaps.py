import torch

from lp.data.heatmaps import compute_heatmaps
from lp.models.heads.heatmap import compute_keypoints


def test_peak_sits_at_the_keypoint():
    maps = compute_heatmaps(torch.tensor([[[22.0, 38.0]]]), (64, 64), downsample=2, sigma_px=1.25)
    assert maps.shape == (1, 1, 16, 16)
    torch.testing.assert_close(maps.sum(), torch.tensor(1.0))
    # (22 + 0.5) / 4 - 0.5 = 5.125, (38 + 0.5) / 4 - 0.5 = 9.125
    peak = int(maps[0, 0].argmax())
    assert (peak % 16, peak // 16) == (5, 9)


def test_subpixel_round_trip_within_a_tenth_of_a_pixel():
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(4, 8, 2, generator=generator) * 180 + 38  # away from the borders of 256 x 256
    for downsample, sigma in ((2, 1.25), (3, 1.0), (1, 2.0)):
        maps = compute_heatmaps(xy, (256, 256), downsample, sigma)
        radius = max(2, int(torch.tensor(3 * sigma).ceil()))
        found, confidence = compute_keypoints(maps, downsample, radius)
        assert (found - xy).abs().max() < 0.1
        assert confidence.min() > 0.95


def test_unlabeled_gives_empty_map_and_flat_map_low_confidence():
    maps = compute_heatmaps(torch.tensor([[[float("nan"), float("nan")]]]), (64, 64), 2, 1.25)
    assert maps.abs().sum() == 0
    flat = torch.full((1, 1, 64, 64), 1 / 64**2)
    _, confidence = compute_keypoints(flat, 2, 4)
    assert confidence.item() < 0.03  # 81 / 4096


def test_soft_argmax_equals_kornia_spatial_expectation():
    """The head's windowed soft-argmax is kornia's spatial expectation of the windowed mass
    (written out in torch so that inference does not import kornia)."""
    from kornia.geometry.subpix import spatial_expectation2d

    maps = torch.softmax(torch.randn(3, 5, 16, 20).flatten(2) * 3, dim=-1).view(3, 5, 16, 20)
    xy, _ = compute_keypoints(maps, 0, 100)  # a window covering every map: plain expectation
    expected = spatial_expectation2d(maps, normalized_coordinates=False)
    assert torch.allclose(xy, expected, atol=1e-5)
