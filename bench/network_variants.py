"""Network-alone training-step throughput under different execution options (eager, fused Adam,
channels-last, torch.compile), to choose the loop's defaults. Not part of the suite's table.

    python bench/network_variants.py --batch 16 --size 256
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.config import BackboneConfig, LossesConfig, ModelConfig  # noqa: E402
from lp.data.batch import LabeledBatch  # noqa: E402
from lp.data.heatmaps import compute_heatmaps  # noqa: E402
from lp.losses import LossBundle  # noqa: E402
from lp.models import build_model  # noqa: E402


def measure(arch, size, batch, precision, channels_last, fused, compile_mode, steps=100):
    device = torch.device("cuda")
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=BackboneConfig(arch=arch)), 17, (size, size)).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused)
    forward = torch.compile(model, mode=compile_mode) if compile_mode else model
    losses = LossBundle(LossesConfig(), ModelConfig())
    images = torch.rand(batch, 3, size, size, device=device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    keypoints = torch.rand(batch, 17, 2, device=device) * (size - 1)
    data = LabeledBatch(images, keypoints, compute_heatmaps(keypoints, (size, size), 2, 1.25))
    dtype = torch.bfloat16 if precision == "bf16" else None

    def step():
        with torch.autocast("cuda", dtype=dtype, enabled=dtype is not None):
            loss, _ = losses(forward(images), data)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    start = time.perf_counter()
    for _ in range(15):
        step()
    torch.cuda.synchronize()
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    rate = steps * batch / (time.perf_counter() - start)
    return rate, warm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    print(f"{'precision':<6}{'chlast':>7}{'fused':>6}{'compile':>18}{'img/s':>9}{'warmup s':>10}")
    for precision in ("fp32", "bf16"):
        for channels_last, fused, compile_mode in (
            (False, False, None), (True, False, None), (True, True, None), (False, True, None),
            (True, True, "default"), (True, True, "reduce-overhead"),
        ):
            try:
                rate, warm = measure(args.arch, args.size, args.batch, precision, channels_last, fused, compile_mode)
                print(f"{precision:<6}{channels_last!s:>7}{fused!s:>6}{compile_mode or '-':>18}{rate:>9.1f}{warm:>10.1f}", flush=True)
            except Exception as error:  # report and go on to the next variant
                print(f"{precision:<6}{channels_last!s:>7}{fused!s:>6}{compile_mode or '-':>18} failed: {error!r}"[:300], flush=True)


if __name__ == "__main__":
    main()
