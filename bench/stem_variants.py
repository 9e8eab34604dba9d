"""The ResNet stem (7x7/2 convolution of the 3 colour channels, batch norm, ReLU, 3x3/2 max pool)
trained as lp trains it on a GPU (bf16 autocast, channels-last, torch.compile): forward and
backward time per step, in variants that compute the same function. The profile of a compiled
ResNet-50 step showed the 3-channel convolution and the max pool's backward taking about a tenth
of the GPU's time. Needs torch and lp's imports only (no DALI, kornia or tyro).

    python bench/stem_variants.py --batch 128 --size 256 [--json FILE]
    python bench/stem_variants.py --whole --batch 32       # the whole ResNet-50 backbone
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.models.backbones.resnet import ResNetBackbone  # noqa: E402


class PaddedConv(nn.Conv2d):
    """The same convolution with zero input channels added to the image and the weight."""

    def __init__(self, conv: nn.Conv2d, to: int):
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         bias=conv.bias is not None)
        self.load_state_dict(conv.state_dict())
        self.extra = to - conv.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, 0, 0, 0, self.extra)).contiguous(memory_format=torch.channels_last)
        weight = F.pad(self.weight, (0, 0, 0, 0, 0, self.extra)).contiguous(memory_format=torch.channels_last)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding)


@torch.library.custom_op("lpbench::max_pool", mutates_args=())
def max_pool(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out, indices = torch.ops.aten.max_pool2d_with_indices(x, [3, 3], [2, 2], [1, 1])
    return out, indices


@max_pool.register_fake
def _(x):
    n, c, h, w = x.shape
    shape = (n, c, (h - 1) // 2 + 1, (w - 1) // 2 + 1)
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    return (torch.empty(shape, dtype=x.dtype, device=x.device).contiguous(memory_format=fmt),
            torch.empty(shape, dtype=torch.int64, device=x.device).contiguous(memory_format=fmt))


@torch.library.custom_op("lpbench::max_pool_backward", mutates_args=())
def max_pool_backward(grad: torch.Tensor, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.max_pool2d_with_indices_backward(grad.contiguous(memory_format=torch.channels_last), x,
                                                           [3, 3], [2, 2], [1, 1], [1, 1], False, indices)


@max_pool_backward.register_fake
def _(grad, x, indices):
    return torch.empty_like(x)


def _setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], output[1])


def _backward(ctx, grad, _):
    x, indices = ctx.saved_tensors
    return max_pool_backward(grad, x, indices)


max_pool.register_autograd(_backward, setup_context=_setup)


class AtenMaxPool(nn.Module):
    """The max pool run by ATen's kernels (forward and backward) inside a compiled graph."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool(x)[0]


def variant(body: nn.Sequential, name: str) -> nn.Sequential:
    if name.startswith("pad"):
        body[0] = PaddedConv(body[0], int(name[3]))
    if name.endswith("aten_pool"):
        body[3] = AtenMaxPool()
    return body


def measure(args, name: str) -> dict:
    device = torch.device("cuda")
    torch.manual_seed(0)
    body = ResNetBackbone("resnet50", "none").body
    if not args.whole:
        body = body[:4]
    body = variant(body, name.removeprefix("eager_")).to(device).to(memory_format=torch.channels_last)
    torch._dynamo.reset()  # each variant compiled afresh, for its own static shapes
    forward = body if name.startswith("eager") else torch.compile(body, dynamic=False)
    images = torch.rand(args.batch, 3, args.size, args.size, device=device).contiguous(memory_format=torch.channels_last)
    grad = None

    def step():
        nonlocal grad
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = forward(images)
        if grad is None:
            grad = torch.randn_like(out)
        out.backward(grad)

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - start) / args.steps * 1e3
    row = {"bench": "stem_variants", "variant": name, "whole_backbone": args.whole, "batch": args.batch,
           "size": args.size, "ms_per_step": round(ms, 3), "gpu": torch.cuda.get_device_name()}
    print("BENCH", json.dumps(row), flush=True)
    return row


def check_same(args) -> None:
    """Every variant's output and first-layer weight gradient against the plain stem's (fp32)."""
    device = torch.device("cuda")
    tf32, torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.allow_tf32, False
    images = torch.rand(4, 3, 64, 64, device=device).contiguous(memory_format=torch.channels_last)
    results = {}
    for name in args.variants:
        torch.manual_seed(0)
        body = variant(ResNetBackbone("resnet50", "none").body[:4], name.removeprefix("eager_")).to(device)
        body = body.to(memory_format=torch.channels_last)
        torch._dynamo.reset()
        forward = body if name.startswith("eager") else torch.compile(body, dynamic=False)
        out = forward(images)
        out.square().sum().backward()
        results[name] = (out.detach(), body[0].weight.grad.detach())
    torch.backends.cudnn.allow_tf32 = tf32
    base_out, base_grad = results[args.variants[0]]
    for name, (out, grad) in results.items():
        print(f"{name}: output gap {(out - base_out).abs().max().item():.3g}, "
              f"conv1 weight-gradient gap {(grad - base_grad).abs().max().item():.3g} "
              f"(of {base_grad.abs().max().item():.3g})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--whole", action="store_true", help="the whole backbone, not its stem alone")
    parser.add_argument("--variants", nargs="+",
                        default=["as_is", "pad4", "pad8", "aten_pool", "pad8_aten_pool", "eager_as_is", "eager_pad8"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    check_same(args)
    for name in args.variants:
        row = measure(args, name)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
