"""Peak tensor memory of a piece of PyTorch code, on any device (the CPU included).

``torch.cuda.max_memory_allocated`` has no CPU twin, so :class:`PeakTensorMemory`
counts it itself: every tensor an operator returns is traced to its storage, a
storage is counted once while any traced tensor uses it, and the peak of the
running sum is kept. Tensors alive before the block (parameters, inputs) are not
counted; what the autograd graph saves for backward is, since it is made by
operators.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class PeakTensorMemory(TorchDispatchMode):
    """with PeakTensorMemory() as m: ...; m.peak_bytes is the peak of live new storage bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, list[int]] = {}  # storage ptr -> [bytes, traced tensors alive]
        self.current = 0
        self.peak_bytes = 0

    def _release(self, key: int) -> None:
        entry = self.live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[key]

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key == 0:
            return
        entry = self.live.get(key)
        if entry is None:
            entry = self.live[key] = [storage.nbytes(), 0]
            self.current += entry[0]
            self.peak_bytes = max(self.peak_bytes, self.current)
        entry[1] += 1
        weakref.finalize(t, self._release, key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor) and not leaf.is_meta:
                self._track(leaf)
        return out

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20
