"""B-spline bases of order k on a knot vector, with their derivatives of any order.

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

    x: (N, in); knots: (in, G + 2k + 1). Returns [B, B', ..., B^(order)],
    each (N, in, G + k); derivatives of order above k are 0.
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
    for j in range(1, order + 1):
        if j > k:  # a degree-k spline's higher derivatives vanish between knots
            out.append(torch.zeros_like(levels[k]))
            continue
        d = levels[k - j]
        for p in range(k - j + 1, k + 1):
            d = _derivative(d, knots, p)
        out.append(d)
    return out


def local_basis(x: Tensor, t0: Tensor, h: Tensor, grid: int, k: int, order: int = 0) -> tuple[Tensor, list[Tensor]]:
    """The k + 1 bases that can be non-zero at x on a uniform grid, in closed form.

    x: (N, in); t0, h: (in,) first knot and spacing. Returns ``cell`` (N, in), the
    knot interval of x clamped to [0, G + 2k - 1], and the derivatives of order
    0..``order`` of the bases, each (N, in, k + 1): column q holds
    basis ``cell - k + q``. That index may fall outside [0, G + k): callers pad
    the coefficients with k zeros on each side. Outside the extended grid all
    values are 0.
    """
    s = (x - t0) / h
    cell = torch.floor(s)
    u = s - cell
    cell = cell.long()
    inside = ((cell >= 0) & (cell < grid + 2 * k)).to(x.dtype)
    # levels[p][r] is basis (cell - r) of order p as a polynomial in the local u
    # (uniform Cox-de Boor: (u + r)/p * N_{p-1}[r] + (p + 1 - r - u)/p * N_{p-1}[r-1]).
    levels: list[list[Tensor]] = [[inside]]
    for p in range(1, k + 1):
        prev = levels[-1]
        cur = []
        for r in range(p + 1):
            term = (u + r) * prev[r] if r <= p - 1 else None
            if r >= 1:
                t2 = (p + 1 - r - u) * prev[r - 1]
                term = t2 if term is None else term + t2
            cur.append(term / p)
        levels.append(cur)

    def up(vals: list[Tensor]) -> list[Tensor]:
        # d/dx B_{i,p} = (B_{i,p-1} - B_{i+1,p-1}) / h, in the r (= cell - i) numbering
        n = len(vals)
        return [((vals[r] if r < n else 0) - (vals[r - 1] if r >= 1 else 0)) / h for r in range(n + 1)]

    outs = []
    for j in range(order + 1):
        if j > k:
            outs.append(x.new_zeros(x.shape + (k + 1,)))
            continue
        vals = levels[k - j]
        for _ in range(j):
            vals = up(vals)
        outs.append(torch.stack(vals[::-1], dim=-1))
    return cell.clamp(0, grid + 2 * k - 1), outs


class LocalBasis(torch.autograd.Function):
    """local_basis as one autograd node: d/dx of the j-th derivative is the (j+1)-th.

    Written in PyTorch ops with a separate ``setup_context``, so torch.func's
    transforms can batch it (per-point parameter Jacobians, training/jacobian.py).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor, t0: Tensor, h: Tensor, grid: int, k: int, order: int):
        cell, vals = local_basis(x, t0, h, grid, k, order)
        return (cell, *vals)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, t0, h, grid, k, order = inputs
        ctx.save_for_backward(x, t0, h)
        ctx.save_for_forward(x, t0, h)
        ctx.grid, ctx.k, ctx.order = grid, k, order
        ctx.mark_non_differentiable(output[0])

    @staticmethod
    def jvp(ctx, gx, _gt0, _gh, _grid, _k, _order):
        # forward mode (matrix-free Gauss–Newton, training/matrixfree.py): tangent of the j-th derivative is the
        # (j+1)-th times dx; the grid (t0, h) is a buffer, never a tangent direction
        x, t0, h = ctx.saved_tensors
        _, vals = local_basis(x, t0, h, ctx.grid, ctx.k, ctx.order + 1)
        if gx is None:
            gx = torch.zeros_like(x)
        return (None, *(v * gx[..., None] for v in vals[1:]))

    @staticmethod
    def backward(ctx, _gcell, *grads):
        x, t0, h = ctx.saved_tensors
        _, vals = local_basis(x, t0, h, ctx.grid, ctx.k, ctx.order + 1)
        gx = None
        for j, g in enumerate(grads):
            if g is not None:
                term = (g * vals[j + 1]).sum(-1)
                gx = term if gx is None else gx + term
        return gx, None, None, None, None, None


def local_basis_fn(x: Tensor, t0: Tensor, h: Tensor, grid: int, k: int, order: int = 0) -> tuple[Tensor, list[Tensor]]:
    """:func:`local_basis`, differentiable in x through one autograd node."""
    cell, *vals = LocalBasis.apply(x, t0, h, grid, k, order)
    return cell, list(vals)
