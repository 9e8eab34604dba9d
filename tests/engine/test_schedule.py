import numpy as np
import pytest

from lp.config import OptimConfig
from lp.engine.sampler import BatchSampler
from lp.engine.schedule import backbone_trainable, compute_lr


def test_multistep():
    cfg = OptimConfig(lr=1.0, milestone_fractions=(0.5, 0.75), gamma=0.1)
    assert [compute_lr(cfg, s, 100) for s in (0, 49, 50, 74, 75, 99)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])


def test_cosine_with_warmup():
    cfg = OptimConfig(lr=2.0, scheduler="cosine", warmup_steps=10)
    assert compute_lr(cfg, 0, 110) == pytest.approx(0.2)
    assert compute_lr(cfg, 9, 110) == pytest.approx(2.0)
    assert compute_lr(cfg, 60, 110) == pytest.approx(1.0)
    assert compute_lr(cfg, 110, 110) == pytest.approx(0.0)


def test_freeze():
    assert not backbone_trainable(4, 5) and backbone_trainable(5, 5)


def test_sampler_covers_each_epoch_and_splits_between_processes():
    indices = np.arange(10, 20)
    sampler = BatchSampler(indices, seed=1)
    first_epoch = np.concatenate([sampler.batch(j, 5, 0, 1) for j in range(2)])
    assert sorted(first_epoch.tolist()) == list(range(10, 20))
    # A batch that crosses the epoch boundary, then two processes splitting the same global batch.
    whole = BatchSampler(indices, seed=1).batch(3, 4, 0, 1)
    assert len(whole) == 4 and len(set(whole.tolist())) == 4
    halves = [BatchSampler(indices, seed=1).batch(3, 4, r, 2) for r in (0, 1)]
    np.testing.assert_array_equal(np.concatenate(halves), whole)
    assert not np.array_equal(sampler.batch(0, 5, 0, 1), BatchSampler(indices, seed=2).batch(0, 5, 0, 1))
