"""What every compiled CPU kernel module shares: numba if present, thread count, tensor views.

numba is a declared dependency; the kernel modules still check ``AVAILABLE`` so
that the PyTorch reference paths run without it.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
    from numba import njit, prange

    AVAILABLE = True
except ImportError:  # pragma: no cover - numba is a declared dependency
    numba = njit = prange = None
    AVAILABLE = False


def threads() -> int:
    """numba's thread count (1 without numba)."""
    return numba.get_num_threads() if AVAILABLE else 1


def chunks(n: int) -> int:
    """Chunks of points a parallel kernel splits n points into: 4 per thread (balance), at most n."""
    return max(1, min(4 * threads(), n))


def as_numpy(t) -> np.ndarray:
    """A contiguous, detached NumPy view (or copy) of a CPU tensor."""
    return t.detach().contiguous().numpy()


__all__ = ["AVAILABLE", "as_numpy", "chunks", "njit", "prange", "threads"]
