"""Batch norm shared between a step's labeled pass and clip pass: recording is ordinary batch
norm, replaying normalises with the recorded statistics and leaves the running ones alone, and
the state dict is unchanged."""

from __future__ import annotations

import pytest
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
    for name in ("running_mean", "running_var"):  # the same update, up to the last bit of float32
        torch.testing.assert_close(getattr(layer, name), getattr(ordinary, name), rtol=1e-6, atol=0)
    assert layer.num_batches_tracked == ordinary.num_batches_tracked == 1
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


def test_the_written_out_gradients_match_autograd_numerically():
    """The record and replay Functions' backward formulas, checked by finite differences (float64),
    with a loss that reaches the recorded statistics both directly and through the replay."""
    from lp.models.batchnorm import _RecordNorm, _ReplayNorm

    torch.manual_seed(0)
    labeled = torch.randn(3, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    clips = (torch.randn(4, 2, 2, 3, dtype=torch.float64) * 0.3 + 1).requires_grad_()
    weight = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([0.2, 0.0], dtype=torch.float64, requires_grad=True)

    def both_passes(labeled, clips, weight, bias):
        out, mean, invstd = _RecordNorm.apply(labeled, weight, bias, 1e-3)
        replayed = _ReplayNorm.apply(clips, mean, invstd, weight, bias, 1e-3)
        return out, replayed, mean * 2, invstd.sin()

    assert torch.autograd.gradcheck(both_passes, (labeled, clips, weight, bias))
    assert torch.autograd.gradcheck(lambda x, w: _RecordNorm.apply(x, w, None, 1e-3)[0], (labeled, weight))


def test_one_split_pass_is_the_two_passes():
    """A whole network: one pass over [labeled; clips] with every batch norm splitting its rows
    gives the labeled pass's and the clip pass's outputs, running statistics and gradients."""

    def step(split: bool):
        torch.manual_seed(0)
        model = build_model(ModelConfig(), 3, (64, 64)).train()
        norms = share_batch_statistics(model)
        labeled, clips = torch.rand(4, 3, 64, 64), torch.rand(6, 3, 64, 64) * 0.3 + 0.4
        if split:
            set_shared(norms, "split", len(labeled))
            both = model(torch.cat([labeled, clips]))
            out_labeled, out_clips = both[:4], both[4:]
        else:
            set_shared(norms, "record")
            out_labeled = model(labeled)
            set_shared(norms, "replay")
            out_clips = model(clips)
        set_shared(norms, "off")
        # smooth in the outputs: |x| flips its gradient's sign wherever rounding moves an output
        # across zero (on the GPU host's CPU: a 5e-3 gap in the whole gradient)
        clip_weights = torch.rand(out_clips.shape, generator=torch.Generator().manual_seed(1)) + 0.5
        (out_labeled.square().mean() + (out_clips * clip_weights).mean()).backward()
        grads = {name: param.grad.clone() for name, param in model.named_parameters()}
        return out_labeled.detach(), out_clips.detach(), {k: v.clone() for k, v in model.state_dict().items()}, grads

    split, two = step(True), step(False)
    torch.testing.assert_close(split[0], two[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(split[1], two[1], rtol=1e-4, atol=1e-5)
    for name in two[2]:  # running statistics: the labeled rows' alone
        torch.testing.assert_close(split[2][name], two[2][name], rtol=1e-5, atol=1e-6, msg=name)
    # gradients: batch size changes the order of the convolutions' sums (and multi-threaded CPUs
    # reorder them further), so compare norms: measured here 2e-6 for the whole gradient and at
    # most 1e-5 for one parameter; a missing term of the statistics' gradient is of the
    # gradient's own size (220 %)
    # (a parameter whose gradient is zero but for rounding, such as the last bias, whose shift the
    # spatial softmax removes, has no relative gap to speak of)
    largest = max(float(grad.norm()) for grad in two[3].values())
    gaps = {name: float((split[3][name] - grad).norm() / grad.norm()) for name, grad in two[3].items()
            if grad.norm() > 1e-6 * largest}
    whole = float(torch.cat([(split[3][n] - g).flatten() for n, g in two[3].items()]).norm()
                  / torch.cat([g.flatten() for g in two[3].values()]).norm())
    worst = max(gaps, key=gaps.get)
    print(f"split vs two passes, relative gradient gap: whole {whole:.1e}, worst {worst} {gaps[worst]:.1e}")
    assert whole < 1e-4 and gaps[worst] < 1e-2
    assert any(grad.abs().sum() > 0 for name, grad in two[3].items() if name.startswith("backbone."))


def test_the_split_functions_gradient_matches_autograd_numerically():
    """The split Function's written-out backward, by finite differences (float64): every row
    normalised with the first rows' statistics, the loss reaching them from every row."""
    from lp.models.batchnorm import _SplitNorm

    torch.manual_seed(0)
    x = torch.cat([torch.randn(3, 2, 2, 3), torch.randn(4, 2, 2, 3) * 0.3 + 1]).double().requires_grad_()
    weight = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([0.2, 0.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: _SplitNorm.apply(x, w, b, 1e-3, 3)[0], (x, weight, bias))
    assert torch.autograd.gradcheck(lambda x, w: _SplitNorm.apply(x, w, None, 1e-3, 3)[0].sin(), (x, weight))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("one_pass", [False, True])
def test_the_fused_cuda_path_equals_the_cpu_path(dtype, one_pass):
    """On CUDA the Functions use the fused batch-norm primitives; on the CPU, plain operations.
    Both give the same outputs, running statistics and gradients (bf16 activations in channels-last
    memory, as a bf16 training step has them, within bf16's precision)."""

    def step(device):
        torch.manual_seed(0)
        conv, norm = nn.Conv2d(3, 8, 3).to(device), nn.BatchNorm2d(8).to(device)
        [norm] = share_batch_statistics(nn.Sequential(norm))
        labeled = torch.randn(6, 3, 12, 12).to(device).contiguous(memory_format=torch.channels_last)
        clips = (torch.randn(5, 3, 12, 12) * 0.2 + 0.3).to(device).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            if one_pass:
                set_shared([norm], "split", len(labeled))
                both = norm(conv(torch.cat([labeled, clips])))
                out_labeled, out_clips = both[: len(labeled)], both[len(labeled):]
            else:
                set_shared([norm], "record")
                out_labeled = norm(conv(labeled))
                set_shared([norm], "replay")
                out_clips = norm(conv(clips))
        (out_labeled.float().square().mean() + out_clips.float().abs().mean()).backward()
        return [t.detach().float().cpu() for t in (out_labeled, out_clips, norm.running_mean, norm.running_var,
                                                   conv.weight.grad, norm.weight.grad, norm.bias.grad)]

    tolerance = {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 3e-2, "atol": 3e-2}
    for name, cuda, cpu in zip(("labeled", "clips", "running mean", "running var", "conv grad", "weight grad", "bias grad"),
                               step(torch.device("cuda")), step(torch.device("cpu"))):
        torch.testing.assert_close(cuda, cpu, **tolerance, msg=name)
