"""Peak GPU memory of training steps (network alone, ResNet-50 heatmap model, batch 16, 256x256)
with cuDNN autotuning on and off and with each precision, to see what sets lp's peak.

    python bench/memory_probe.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.config import BackboneConfig, LossesConfig, ModelConfig, OptimConfig  # noqa: E402
from lp.data.batch import LabeledBatch  # noqa: E402
from lp.data.heatmaps import compute_heatmaps  # noqa: E402
from lp.engine.loop import build_optimizer  # noqa: E402
from lp.losses import LossBundle  # noqa: E402
from lp.models import build_model  # noqa: E402


def peak_gib(benchmark: bool, precision: str, channels_last: bool) -> float:
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = benchmark
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = build_model(ModelConfig(backbone=BackboneConfig(arch="resnet50")), 17, (256, 256)).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(OptimConfig(), model, device)
    losses = LossBundle(LossesConfig(), ModelConfig())
    images = torch.rand(16, 3, 256, 256, device=device)
    keypoints = torch.rand(16, 17, 2, device=device) * 255
    batch = LabeledBatch(images, keypoints, compute_heatmaps(keypoints, (256, 256), 2, 1.25))
    dtype = torch.bfloat16 if precision == "bf16" else None
    for _ in range(5):
        with torch.autocast("cuda", dtype=dtype, enabled=dtype is not None):
            loss, _ = losses(model(images), batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model, optimizer
    return peak


def main() -> None:
    print(f"{'precision':<10}{'cudnn.benchmark':<17}{'channels_last':<15}{'peak GiB':>9}")
    for precision in ("fp32", "bf16"):
        for benchmark in (True, False):
            for channels_last in (True, False):
                print(f"{precision:<10}{benchmark!s:<17}{channels_last!s:<15}{peak_gib(benchmark, precision, channels_last):>9.2f}")


if __name__ == "__main__":
    main()
