"""Learning-rate and backbone-freeze schedules: functions of the step, and the optimizer set to them."""

from __future__ import annotations

import bisect
import math

from lp.config import OptimConfig


def compute_lr(cfg: OptimConfig, step: int, max_steps: int) -> float:
    """Learning rate at `step` (0-based): linear warm-up, then multistep or cosine decay."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.scheduler == "cosine":
        span = max(1, max_steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))
    milestones = sorted(round(f * max_steps) for f in cfg.milestone_fractions)
    return cfg.lr * cfg.gamma ** bisect.bisect_right(milestones, step)


def backbone_trainable(step: int, freeze_steps: int) -> bool:
    return step >= freeze_steps


def set_learning_rate(optimizer, lr: float, trainable: bool) -> None:
    """The optimizer's two groups (backbone, head) at `lr`; a frozen backbone's at 0 (no updates)."""
    optimizer.param_groups[0]["lr"] = lr if trainable else 0.0
    optimizer.param_groups[1]["lr"] = lr
