"""Which labeled frames each process sees at each step: a pure function of (seed, step), so a
resumed run sees the same batches, and all processes split one global batch between them.
Computed on the CPU with numpy: no device work, no device sync."""

from __future__ import annotations

import numpy as np


class BatchSampler:
    """Epochs are random permutations of the training frames, laid end to end; global micro-batch
    j takes positions [j*G, (j+1)*G) of that stream and process r takes its r-th slice."""

    def __init__(self, train_indices: np.ndarray, seed: int):
        self.indices = np.asarray(train_indices)
        self.seed = seed
        self._cache: dict[int, np.ndarray] = {}

    def _epoch(self, epoch: int) -> np.ndarray:
        if epoch not in self._cache:
            permutation = np.random.default_rng([self.seed, epoch]).permutation(len(self.indices))
            self._cache = {e: p for e, p in self._cache.items() if e >= epoch - 1}
            self._cache[epoch] = self.indices[permutation]
        return self._cache[epoch]

    def batch(self, micro_step: int, global_size: int, process_index: int, num_processes: int) -> np.ndarray:
        """Frame indices (global_size / num_processes,) for this process at this micro-step."""
        n = len(self.indices)
        start = micro_step * global_size
        first, last = start // n, (start + global_size - 1) // n
        stream = np.concatenate([self._epoch(e) for e in range(first, last + 1)])
        local = global_size // num_processes
        begin = start - first * n + process_index * local
        return stream[begin : begin + local]
