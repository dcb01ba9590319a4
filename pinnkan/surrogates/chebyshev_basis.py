"""T_n(tanh h) and its derivatives in h: the basis of every Chebyshev KAN edge (its layer and its fused jet).

The T_n and their derivatives come from the three-term recurrence (see :mod:`pinnkan.surrogates.chebyshev`),
tanh's derivatives in closed form to the third, by :mod:`pinnkan.univariate` beyond; the chain rule joins
them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pinnkan import univariate


def chebyshev_basis(t: Tensor, degree: int, order: int) -> list[Tensor]:
    """T_n(t) and its t-derivatives up to ``order``: order + 1 tensors t.shape + (degree + 1,)."""
    one, zero = torch.ones_like(t), torch.zeros_like(t)
    cols: list[list[Tensor]] = [[one, t]]
    if order >= 1:
        cols.append([zero, one])
    for _ in range(2, order + 1):
        cols.append([zero, zero])
    for n in range(1, degree):
        prev = [c[n - 1] for c in cols]
        cur = [c[n] for c in cols]
        cols[0].append(2 * t * cur[0] - prev[0])
        for j in range(1, order + 1):
            # d^j/dt^j of 2 t T_n: 2 t T_n^(j) + 2 j T_n^(j-1)
            cols[j].append(2 * t * cur[j] + 2 * j * cur[j - 1] - prev[j])
    return [torch.stack(c[: degree + 1], dim=-1) for c in cols]


def tanh_derivatives(h: Tensor, order: int) -> list[Tensor]:
    """tanh and its derivatives up to ``order`` at h."""
    t = torch.tanh(h)
    if order <= 3:
        t1 = 1 - t * t
        return [t, t1, -2 * t * t1, t1 * (6 * t * t - 2)][: order + 1]
    return univariate.tanh_derivatives(t, order)


def edge_basis(h: Tensor, degree: int, order: int) -> list[Tensor]:
    """d^j/dh^j T_n(tanh h) for j = 0..order, each h.shape + (degree + 1,), by the chain rule."""
    tj = tanh_derivatives(h, order)
    tb = chebyshev_basis(tj[0], degree, order)
    if order > 3:
        return univariate.compose(tb, tj)
    s = [x.unsqueeze(-1) for x in tj]
    out = [tb[0]]
    if order >= 1:
        out.append(tb[1] * s[1])
    if order >= 2:
        out.append(tb[2] * s[1].square() + tb[1] * s[2])
    if order >= 3:
        out.append(tb[3] * s[1] ** 3 + 3 * tb[2] * s[1] * s[2] + tb[1] * s[3])
    return out
