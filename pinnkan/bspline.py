"""B-spline bases of order k on a knot vector, with first and second derivatives.

Two evaluations of the same functions:

- :func:`basis` — Cox–de Boor on an arbitrary increasing knot vector per input
  (needed after a grid update has made the grid non-uniform). Returns all
  ``G + k`` bases, most of them zero.
- :func:`local_basis` — closed form on a uniform grid: only the ``k + 1`` bases
  that are non-zero at ``x``, found from ``floor((x - t0) / h)``, plus the index
  of the first of them.

Knots are stored per input as a tensor of shape ``(in, G + 2k + 1)``; the
``G + k`` bases of input ``i`` span ``[knots[i, k], knots[i, G + k]]`` as a
partition of unity.
"""

from __future__ import annotations

import torch
from torch import Tensor


def uniform_knots(grid: int, k: int, lo: Tensor, hi: Tensor) -> Tensor:
    """Uniform knots, ``grid`` intervals on ``[lo, hi]`` plus ``k`` each side.

    lo, hi: (in,). Returns (in, grid + 2k + 1).
    """
    h = (hi - lo) / grid
    steps = torch.arange(-k, grid + k + 1, dtype=lo.dtype, device=lo.device)
    return lo[:, None] + steps[None, :] * h[:, None]


def _spacing(knots: Tensor, p: int) -> Tensor:
    """t_{i+p} - t_i for every valid i, guarded against repeated knots. (in, T-p)."""
    d = knots[:, p:] - knots[:, :-p]
    return torch.where(d > 0, d, torch.ones_like(d))


def _derivative(lower: Tensor, knots: Tensor, p: int) -> Tensor:
    """Derivative of the order-p bases from the order-(p-1) bases (or their derivatives).

    lower: (N, in, n) values of order p-1; returns (N, in, n - 1).
    B'_{i,p} = p/(t_{i+p}-t_i) B_{i,p-1} - p/(t_{i+p+1}-t_{i+1}) B_{i+1,p-1}
    """
    n = lower.shape[-1]
    left = p / _spacing(knots, p)[:, : n - 1]
    right = p / _spacing(knots, p)[:, 1:n]
    return left * lower[..., :-1] - right * lower[..., 1:]


def basis(x: Tensor, knots: Tensor, k: int, order: int = 0) -> list[Tensor]:
    """All G + k bases of order k at x, and their derivatives up to ``order``.

    x: (N, in); knots: (in, G + 2k + 1). Returns [B, B', B''][: order + 1],
    each (N, in, G + k).
    """
    xe = x.unsqueeze(-1)
    t = knots.unsqueeze(0)
    levels = [((xe >= t[..., :-1]) & (xe < t[..., 1:])).to(x.dtype)]
    for p in range(1, k + 1):
        b = levels[-1]
        left = (xe - t[..., : -(p + 1)]) / _spacing(knots, p)[:, :-1] * b[..., :-1]
        right = (t[..., p + 1 :] - xe) / _spacing(knots, p)[:, 1:] * b[..., 1:]
        levels.append(left + right)
    out = [levels[k]]
    if order >= 1:
        out.append(_derivative(levels[k - 1], knots, k) if k >= 1 else torch.zeros_like(levels[k]))
    if order >= 2:
        if k >= 2:
            out.append(_derivative(_derivative(levels[k - 2], knots, k - 1), knots, k))
        else:
            out.append(torch.zeros_like(levels[k]))
    return out


def local_basis(
    x: Tensor, t0: Tensor, h: Tensor, grid: int, k: int, order: int = 0
) -> tuple[Tensor, list[Tensor]]:
    """The k + 1 non-zero bases at x on a uniform grid, in closed form.

    x: (N, in); t0, h: (in,) first knot and spacing. Returns ``idx`` (N, in), the
    index of the first non-zero basis (clamped so idx..idx+k is in range), and
    [B, B', B''][: order + 1], each (N, in, k + 1): column q holds basis idx + q.
    Bases that do not exist (x near or beyond the extended grid's ends) are 0.
    """
    n_basis = grid + k
    s = (x - t0) / h
    cell = torch.floor(s)
    u = s - cell
    cell = cell.long()
    # N[p][r] is basis (cell - r) of order p, as a polynomial in the local u.
    levels: list[list[Tensor]] = [[torch.ones_like(u)]]
    for p in range(1, k + 1):
        prev = levels[-1]
        cur = []
        for r in range(p + 1):
            term = torch.zeros_like(u)
            if r <= p - 1:
                term = term + (u + r) / p * prev[r]
            if r >= 1:
                term = term + (p + 1 - r - u) / p * prev[r - 1]
            cur.append(term)
        levels.append(cur)

    def diff(vals: list[Tensor]) -> list[Tensor]:
        # (B_{j-r,p-1} - B_{j-r+1,p-1}) / h, one order up
        out = []
        for r in range(len(vals) + 1):
            a = vals[r] if r < len(vals) else 0.0
            b = vals[r - 1] if r >= 1 else 0.0
            out.append((a - b) / h)
        return out

    by_order = [levels[k]]
    if order >= 1:
        by_order.append(diff(levels[k - 1]) if k >= 1 else [torch.zeros_like(u)])
    if order >= 2:
        by_order.append(diff(diff(levels[k - 2])) if k >= 2 else [torch.zeros_like(u)] * (k + 1))

    first = cell - k
    # Column q is basis first + q = cell - (k - q); reverse r to ascend in index.
    q_index = first.unsqueeze(-1) + torch.arange(k + 1, device=x.device)
    valid = (q_index >= 0) & (q_index < n_basis)
    idx = first.clamp(0, n_basis - k - 1)
    shift = (first - idx).unsqueeze(-1)  # non-zero only where columns must move
    outs = []
    for vals in by_order:
        stacked = torch.stack(vals[::-1], dim=-1) * valid.to(x.dtype)
        if bool((shift != 0).any()):
            # Near the ends the window is clamped: move each column to its basis.
            target = torch.arange(k + 1, device=x.device) + shift
            keep = (target >= 0) & (target <= k)
            moved = torch.zeros_like(stacked)
            moved.scatter_add_(-1, target.clamp(0, k), stacked * keep.to(x.dtype))
            stacked = moved
        outs.append(stacked)
    return idx, outs
