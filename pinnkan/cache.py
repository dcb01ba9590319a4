"""On-disk cache of computed reference solutions (no downloads: pinnkan computes them).

Arrays live in ``$PINNKAN_CACHE`` or ``~/.cache/pinnkan``, one ``.npz`` per key,
written atomically; a missing, unreadable or malformed file is recomputed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pinnkan.output import atomic_write


def cache_dir() -> Path:
    root = os.environ.get("PINNKAN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pinnkan"
    )
    return Path(root)


def cached(key: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """compute() -> named arrays, stored under ``key``; reused while the file reads back whole and finite."""
    path = cache_dir() / f"{key}.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
            if arrays and all(np.all(np.isfinite(a)) for a in arrays.values()):
                return arrays
        except Exception:  # corrupt or truncated: recompute below
            pass
    arrays = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file object: savez would append .npz to a bare name
                np.savez(fh, **arrays)

        atomic_write(path, save)
    except OSError:
        pass  # an unwritable cache only costs the recomputation next time
    return arrays
