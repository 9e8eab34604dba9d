import typing

import pytest
import torch
import torchvision.models as tvm
from safetensors.torch import save_file

from lp.config import BackboneArch, HeadKind, ModelConfig, BackboneConfig
from lp.errors import UserError
from lp.models import build_model
from lp.models.backbones import BACKBONES, build_backbone
from lp.models.heads import HEADS

CHANNELS = {
    "resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048, "resnet152": 2048,
    "efficientnet_b0": 1280, "efficientnet_b1": 1280, "efficientnet_b2": 1408,
}


def test_registries_match_config_literals():
    assert set(BACKBONES) == set(typing.get_args(BackboneArch)) == set(CHANNELS)
    assert set(HEADS) == set(typing.get_args(HeadKind))


@pytest.mark.parametrize("arch", sorted(BACKBONES))
def test_backbone_stride_and_channels(arch):
    backbone = build_backbone(arch, "none").eval()
    assert backbone.stride == 32 and backbone.out_channels == CHANNELS[arch]
    with torch.no_grad():
        features = backbone(torch.rand(1, 3, 64, 96))
    assert features.shape == (1, CHANNELS[arch], 2, 3)


@pytest.mark.parametrize("downsample", [0, 2, 3, 5])
def test_heatmap_head_output_size(downsample):
    cfg = ModelConfig(backbone=BackboneConfig(arch="resnet18"), heatmap_downsample=downsample)
    model = build_model(cfg, num_keypoints=5, image_hw=(64, 128)).eval()
    with torch.no_grad():
        heatmaps = model(torch.rand(2, 3, 64, 128))
        xy, confidence = model.keypoints(heatmaps)
    assert heatmaps.shape == (2, 5, 64 >> downsample, 128 >> downsample)
    torch.testing.assert_close(heatmaps.sum(dim=(-2, -1)), torch.ones(2, 5))
    assert xy.shape == (2, 5, 2) and ((confidence >= 0) & (confidence <= 1)).all()


def test_regression_head():
    cfg = ModelConfig(backbone=BackboneConfig(arch="resnet18"), head="regression")
    model = build_model(cfg, num_keypoints=4, image_hw=(64, 64)).eval()
    with torch.no_grad():
        xy, confidence = model.keypoints(model(torch.rand(3, 3, 64, 64)))
    assert xy.shape == (3, 4, 2) and (confidence == 1).all()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_weights_from_local_file(tmp_path, suffix):
    reference = tvm.resnet18(weights=None)
    path = tmp_path / f"weights{suffix}"
    state = reference.state_dict()
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    backbone = build_backbone("resnet18", str(path))
    torch.testing.assert_close(backbone.body[0].weight, reference.conv1.weight)
    with pytest.raises(UserError, match="does not fit resnet50"):
        build_backbone("resnet50", str(path))


def test_missing_weights_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        build_backbone("resnet18", str(tmp_path / "nope.pth"))


def test_imagenet_weights_offline_is_one_clear_error(monkeypatch):
    import urllib.error

    from lp.models.backbones import resnet

    def offline(weights=None):
        if weights is not None:
            raise urllib.error.URLError("no network")
        return tvm.resnet18(weights=None)

    monkeypatch.setitem(resnet._ARCHS, "resnet18", (offline, tvm.ResNet18_Weights.IMAGENET1K_V1))
    with pytest.raises(UserError, match="could not fetch ImageNet weights for resnet18.*--model.backbone.weights none"):
        build_backbone("resnet18", "imagenet")
