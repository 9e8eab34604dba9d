from pathlib import Path
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

    from lp.models.backbones import weights

    def offline(imagenet):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(weights, "imagenet_state_dict", offline)
    with pytest.raises(UserError, match="could not fetch ImageNet weights for resnet18.*--model.backbone.weights none"):
        build_backbone("resnet18", "imagenet")


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_resnet_matches_torchvision(arch):
    """lp's ResNet takes torchvision's state dict as it is and computes the same features."""
    reference = getattr(tvm, arch)(weights=None).eval()
    backbone = build_backbone(arch, "none").eval()
    body_names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    state = {}
    for i, name in enumerate(body_names):
        for key, value in getattr(reference, name).state_dict().items():
            state[f"body.{i}.{key}"] = value
    backbone.load_state_dict(state)  # strict: every name and shape agrees
    images = torch.rand(2, 3, 64, 64)
    expected = torch.nn.Sequential(*[getattr(reference, n) for n in body_names])(images)
    torch.testing.assert_close(backbone(images), expected)


def test_predict_path_does_not_import_torchvision():
    import subprocess
    import sys

    code = "import sys, lp.predict, lp.inference; print('torchvision' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(Path(__file__).parents[2]))
    assert done.stdout.strip() == "False", done.stderr


def test_registry_entries_are_typed_specs():
    """Adding a backbone or head is a file, one registry line and one Literal name: the registry
    line is a spec of one shape, checked here, not a tuple or a lambda read by position."""
    from lp.models.backbones import BackboneSpec
    from lp.models.heads import HeadSpec

    assert all(isinstance(spec, BackboneSpec) and spec.arch == name for name, spec in BACKBONES.items())
    assert all(isinstance(spec, HeadSpec) for spec in HEADS.values())
