"""Batch norm shared between a step's labeled pass and clip pass: recording is ordinary batch
norm, replaying normalises with the recorded statistics and leaves the running ones alone, and
the state dict is unchanged."""

from __future__ import annotations

import torch
from torch import nn

from lp.config import ModelConfig
from lp.models import build_model
from lp.models.batchnorm import set_shared, share_batch_statistics


def test_recording_is_ordinary_batch_norm_and_replaying_reuses_its_statistics():
    torch.manual_seed(0)
    ordinary = nn.BatchNorm2d(4)
    shared = nn.BatchNorm2d(4)
    [layer] = share_batch_statistics(nn.Sequential(shared))
    labeled, clips = torch.randn(6, 4, 3, 3) * 3 + 1, torch.randn(8, 4, 3, 3) * 0.1 - 2

    set_shared([layer], "record")
    torch.testing.assert_close(layer(labeled), ordinary(labeled), rtol=0, atol=1e-6)
    torch.testing.assert_close(layer.running_var, ordinary.running_var, rtol=0, atol=0)
    running = layer.running_mean.clone(), layer.running_var.clone()

    set_shared([layer], "replay")
    out = layer(clips)
    mean, var = labeled.mean((0, 2, 3)), labeled.var((0, 2, 3), unbiased=False)
    expected = (clips - mean[:, None, None]) / torch.sqrt(var[:, None, None] + layer.eps)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # far from the clips' own normalisation, which would centre them on zero
    assert out.mean() < -1
    torch.testing.assert_close(layer.running_mean, running[0], rtol=0, atol=0)
    torch.testing.assert_close(layer.running_var, running[1], rtol=0, atol=0)

    layer.eval()  # inference: running statistics whatever the mode
    ordinary.eval()
    torch.testing.assert_close(layer(clips), ordinary(clips), rtol=0, atol=1e-6)


def test_a_network_replaying_its_labeled_batch_gives_the_labeled_outputs():
    """The two passes are one function: the clip pass of the labeled frames themselves predicts
    what the labeled pass did. Parameters, buffers and state-dict keys are kept."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(), 3, (64, 64)).train()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    norms = share_batch_statistics(model)
    assert len(norms) == sum(name.endswith("running_mean") for name in before) > 10
    assert list(model.state_dict()) == list(before)
    images = torch.rand(4, 3, 64, 64)

    set_shared(norms, "record")
    labeled = model(images)
    after_labeled = {name: value.clone() for name, value in model.state_dict().items()}
    set_shared(norms, "replay")
    replayed = model(images)
    torch.testing.assert_close(replayed, labeled, rtol=1e-4, atol=1e-5)
    for name, value in model.state_dict().items():  # the replay updated no running statistics
        torch.testing.assert_close(value, after_labeled[name], rtol=0, atol=0)
    # while its own statistics would have predicted something else for a different batch
    set_shared(norms, "off")
    assert not torch.allclose(model(images[:2]), labeled[:2], atol=1e-3)


def test_the_two_passes_follow_the_gradient_of_one_function():
    """Labeled pass + clip pass give the gradient of a single network in which every batch norm
    normalises all rows with the labeled rows' statistics (written out by hand here): the clips'
    losses also reach the weights through those statistics."""
    torch.manual_seed(0)

    def layers():
        torch.manual_seed(1)
        return nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 3)

    labeled, clips = torch.randn(5, 3, 8, 8), torch.randn(6, 3, 8, 8) * 0.2 + 0.5

    conv1, norm, conv2 = layers()
    [norm] = share_batch_statistics(nn.Sequential(norm))
    set_shared([norm], "record")
    out_labeled = conv2(torch.relu(norm(conv1(labeled))))
    set_shared([norm], "replay")
    out_clips = conv2(torch.relu(norm(conv1(clips))))
    (out_labeled.square().mean() + out_clips.abs().mean()).backward()

    ref1, ref_norm, ref2 = layers()
    hidden = ref1(torch.cat([labeled, clips]))
    mean, var = hidden[:5].mean((0, 2, 3)), hidden[:5].var((0, 2, 3), unbiased=False)
    normed = (hidden - mean[:, None, None]) / torch.sqrt(var[:, None, None] + ref_norm.eps)
    out = ref2(torch.relu(normed * ref_norm.weight[:, None, None] + ref_norm.bias[:, None, None]))
    (out[:5].square().mean() + out[5:].abs().mean()).backward()

    for mine, reference in [(conv1, ref1), (norm, ref_norm), (conv2, ref2)]:
        for (name, grad), ref_grad in zip(mine.named_parameters(), reference.parameters()):
            torch.testing.assert_close(grad.grad, ref_grad.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert conv1.weight.grad.abs().sum() > 0
