"""Which labeled frames each process sees at each step: a pure function of (seed, step), so a
resumed run sees the same batches, and all processes split one global batch between them."""

from __future__ import annotations

import torch


class BatchSampler:
    """Epochs are random permutations of the training frames, laid end to end; global micro-batch
    j takes positions [j*G, (j+1)*G) of that stream and process r takes its r-th slice."""

    def __init__(self, train_indices: torch.Tensor, seed: int, device: torch.device):
        self.indices = train_indices.to(device)
        self.seed, self.device = seed, device
        self.generator = torch.Generator(device=device)
        self._cache: dict[int, torch.Tensor] = {}

    def _epoch(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            self.generator.manual_seed(self.seed * 1_000_003 + epoch)
            permutation = torch.randperm(len(self.indices), generator=self.generator, device=self.device)
            self._cache = {e: p for e, p in self._cache.items() if e >= epoch - 1}
            self._cache[epoch] = self.indices[permutation]
        return self._cache[epoch]

    def batch(self, micro_step: int, global_size: int, process_index: int, num_processes: int) -> torch.Tensor:
        """Frame indices (global_size / num_processes,) for this process at this micro-step."""
        n = len(self.indices)
        start = micro_step * global_size
        first, last = start // n, (start + global_size - 1) // n
        stream = torch.cat([self._epoch(e) for e in range(first, last + 1)])
        offset = start - first * n
        local = global_size // num_processes
        begin = offset + process_index * local
        return stream[begin : begin + local]
