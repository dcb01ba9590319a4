"""The L-shape reference's accuracy: relative L2 differences between successive five-point solutions, raw and
after Richardson's step for their h^(4/3) error, on the common coarse grid.

    python scripts/lshape_reference.py        # ~10 s; n up to 1024
"""

import numpy as np
from pinnkan.problems.shapes import L_ORDER, lshape_five_point

sols = {n: lshape_five_point(n)[1] for n in (64, 128, 256, 512, 1024)}
better = {n: sols[n][::2, ::2] + (sols[n][::2, ::2] - sols[n // 2]) / (2**L_ORDER - 1) for n in (128, 256, 512, 1024)}


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a - b) ** 2).sum() / (b**2).sum()))


for n in (64, 128, 256, 512):
    line = f"n {n:4d} -> {2 * n:4d}: five-point {rel(sols[n], sols[2 * n][::2, ::2]):.2e}"
    if n >= 128:
        line += f", with Richardson's step {rel(better[n], better[2 * n][::2, ::2]):.2e}"
    print(line)
