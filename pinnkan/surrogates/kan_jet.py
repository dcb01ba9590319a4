"""Fused jet propagation through one KAN layer on a uniform grid, for any layout of partials.

One autograd node maps the input rows (N, S, in) — the value h and the partials
of the layer's inputs that the layout holds — to the output rows (N, S, out),
with a hand-derived backward. Every edge i -> o is univariate, so each output row
is a Faà di Bruno combination (pinnkan.layout) of the edge's derivatives
phi_j = d^j phi / dh^j, j = 0..J (J the layout's order):

    phi_j[i,n,o] = sum_r B_j[i,n,r] C[i, cell+r, o] + silu^(j)(h[i,n]) Wb[o,i]
    Q[i,n,p]     = sum over the terms of pair p = (s, j): coef * prod(rows[n, factors, i])
    out[n,s,o]   = sum_i sum_{p = (s, j)} Q[i,n,p] phi_j[i,n,o]

(for the standard rows: Q = dh_a for a gradient row with j = 1; dh_a^2 (j = 2) and
d2h_a (j = 1) for a diagonal row). Backward, from g = d loss / d out:

    gQ[i,n,p]    = sum_o g[n,s,o] phi_j[i,n,o]
    Ga[i,n,j,o]  = sum_{p = (s, j)} Q[i,n,p] g[n,s,o]          (the cotangent of phi_j)
    gh[i,n]      = sum_{j,o} Ga phi_{j+1},   gWb[o,i] = sum_{n,j} silu^(j) Ga
    gC[i, cell+r, o] += sum_j B_j Ga,        grows from gQ through the terms' products

so the node needs phi up to J + 1 and first-order autograd only; it is not
differentiable twice (a double backward raises). :class:`KANLayerJet` runs Triton
kernels (kan_triton.py) for CUDA tensors when Triton is installed, compiled CPU
kernels (kan_cpu.py) for CPU tensors, and the PyTorch ops here otherwise; the
layer's plain-autograd path (``KANLayer.rows`` with ``fused = False``) is the
reference all of them are tested against.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from pinnkan.bspline import local_basis
from pinnkan.layout import Layout
from pinnkan.univariate import silu_derivatives_from


def silu_derivatives(h: Tensor, order: int) -> list[Tensor]:
    """silu and its derivatives up to ``order`` at h."""
    return silu_derivatives_from(h, torch.sigmoid(h), order)


def chain_coefficients(rows: Tensor, layout: Layout) -> list[Tensor]:
    """Q per pair of ``layout.pairs()``: (N, n) each, from rows (N, S, n); pair 0 (the value) is ones."""
    parts = rows.unbind(1)
    pairs = layout.pairs()
    acc: list[Tensor | None] = [torch.ones_like(parts[0])] + [None] * (len(pairs) - 1)
    for t in layout.terms():
        term = parts[t.factors[0]] if t.coef == 1.0 else t.coef * parts[t.factors[0]]
        for q in t.factors[1:]:
            term = term * parts[q]
        p = pairs.index((t.row, t.j))
        acc[p] = term if acc[p] is None else acc[p] + term
    return acc


def _terms_backward(rows: Tensor, layout: Layout, g_q: Tensor) -> Tensor:
    """Cotangent of the input rows (N, S, n) from that of Q, g_q (N, P, n); the value row gets 0 here."""
    parts = rows.unbind(1)
    pairs = layout.pairs()
    grads: list[Tensor | None] = [None] * layout.size
    for t in layout.terms():
        gp = g_q[:, pairs.index((t.row, t.j))]
        for a, q in enumerate(t.factors):
            term = gp if t.coef == 1.0 else t.coef * gp
            for b, q2 in enumerate(t.factors):
                if b != a:
                    term = term * parts[q2]
            grads[q] = term if grads[q] is None else grads[q] + term
    zero = torch.zeros_like(parts[0])
    return torch.stack([zero if g is None else g for g in grads], dim=1)


def _edges(h_t: Tensor, table: Tensor, wb_t: Tensor, t0, hstep, grid: int, k: int, order: int):
    """phi_j (in, N, order + 1, out) for j = 0..order, plus what the backward needs.

    h_t: (in, N); table: (in, G + 3k, out) padded coefficients; wb_t: (in, out).
    """
    n_in, n = h_t.shape
    cell, b = local_basis(h_t.T, t0, hstep, grid, k, order)  # cell (N, in), b[j] (N, in, K)
    width = table.shape[1]
    idx = (cell.T + torch.arange(n_in, device=h_t.device)[:, None] * width).unsqueeze(-1) + torch.arange(
        k + 1, device=h_t.device
    )  # (in, N, K)
    coef = table.reshape(-1, table.shape[-1])[idx.reshape(-1)].view(n_in, n, k + 1, -1)  # (in, N, K, out)
    basis = torch.stack([bj.permute(1, 0, 2) for bj in b], dim=2)  # (in, N, J, K)
    s = torch.stack(silu_derivatives(h_t, order), dim=2)  # (in, N, J)
    # broadcast-multiply-sum: batched matmuls of (J, K) @ (K, out) are slow on the CPU
    phi = s.unsqueeze(-1) * wb_t[:, None, None, :]
    for r in range(k + 1):
        phi = phi + basis[:, :, :, r : r + 1] * coef[:, :, None, r]
    return phi, basis, idx, s


# "auto": Triton kernels for CUDA tensors when Triton is installed, compiled CPU kernels
# (kan_cpu.py) for CPU tensors when numba is there, PyTorch ops otherwise; "torch" forces the
# PyTorch ops (the reference); "triton" the Triton kernels (on CPU tensors under TRITON_INTERPRET=1).
BACKENDS = ("auto", "torch", "triton")
BACKEND = "auto"


def backend_for(rows: Tensor) -> str:
    """Which implementation runs the node for these rows: "triton", "numba" or "torch"."""
    from pinnkan.surrogates import kan_cpu, kan_triton

    if BACKEND == "torch":
        return "torch"
    if BACKEND == "triton" or (rows.is_cuda and kan_triton.usable(rows)):
        return "triton"
    if rows.device.type == "cpu" and kan_cpu.AVAILABLE:
        return "numba"
    return "torch"


class KANLayerJet(torch.autograd.Function):
    """(rows (N, S, in), table (in, G + 3k, out), Wb (out, in), t0, h (in,), grid, k, layout) -> rows (N, S, out)."""

    @staticmethod
    def forward(ctx, rows, table, wb, t0, hstep, grid: int, k: int, layout: Layout):
        ctx.backend = backend_for(rows)
        ctx.grid, ctx.k, ctx.layout = grid, k, layout
        if ctx.backend != "torch":
            from pinnkan.surrogates import kan_cpu, kan_triton

            # only the inputs are kept (and, on the CPU, the sigmoid of the values, which costs more there
            # than the kernels' arithmetic): the backward kernel recomputes the local bases
            if ctx.backend == "triton":
                ctx.save_for_backward(rows, table, wb, t0, hstep)
                return kan_triton.jet_forward(rows, table, wb, t0, hstep, grid, k, layout)
            sig = torch.sigmoid(rows[:, 0])
            ctx.save_for_backward(rows, table, wb, t0, hstep, sig)
            return kan_cpu.jet_forward(rows, table, wb, t0, hstep, grid, k, layout, sig=sig)
        pairs = layout.pairs()
        h_t = rows[:, 0].T
        phi, basis, idx, s = _edges(h_t, table, wb.T, t0, hstep, grid, k, layout.order + 1)
        q = torch.stack(chain_coefficients(rows, layout), dim=1)  # (N, P, in)
        pair_row = torch.tensor([p[0] for p in pairs], device=rows.device)
        pair_j = torch.tensor([p[1] for p in pairs], device=rows.device)
        contrib = (q.permute(2, 0, 1).unsqueeze(-1) * phi[:, :, pair_j]).sum(0)  # (N, P, out)
        out = contrib.new_zeros(rows.shape[0], layout.size, table.shape[-1]).index_add_(1, pair_row, contrib)
        ctx.save_for_backward(rows, q, phi, basis, idx, s, pair_row, pair_j)
        ctx.table_shape = table.shape
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g_out):
        layout = ctx.layout
        if ctx.backend != "torch":
            from pinnkan.surrogates import kan_cpu, kan_triton

            rows, table, wb, t0, hstep, *sig = ctx.saved_tensors
            args = (rows, table, wb, t0, hstep, ctx.grid, ctx.k, layout, g_out)
            if ctx.backend == "triton":
                g_rows, g_table, g_wb = kan_triton.jet_backward(*args)
            else:  # the first layer's coordinates need no gradient: the kernel then skips the rows'
                g_rows, g_table, g_wb = kan_cpu.jet_backward(*args, want_rows=ctx.needs_input_grad[0], sig=sig[0])
            return g_rows, g_table, g_wb, None, None, None, None, None
        rows, q, phi, basis, idx, s, pair_row, pair_j = ctx.saved_tensors
        n_in, n, _, n_out = phi.shape
        order = layout.order
        g_p = g_out[:, pair_row]  # (N, P, out)
        phi_p = phi[:, :, pair_j]  # (in, N, P, out)
        g_q = (phi_p * g_p.unsqueeze(0)).sum(-1)  # (in, N, P)
        # Ga[i, n, j, o] = sum over pairs with that j of Q g
        weighted = q.permute(2, 0, 1).unsqueeze(-1) * g_p.unsqueeze(0)  # (in, N, P, out)
        g_a = weighted.new_zeros(n_in, n, order + 1, n_out).index_add_(2, pair_j, weighted)
        g_h = (g_a * phi[:, :, 1 : order + 2]).sum((2, 3))  # (in, N)
        g_wb = torch.einsum("injo,inj->oi", g_a, s[:, :, : order + 1])
        per_coef = torch.stack(
            [(basis[:, :, : order + 1, r : r + 1] * g_a).sum(2) for r in range(basis.shape[-1])], dim=2
        )  # (in, N, K, out)
        g_table = phi.new_zeros(ctx.table_shape).view(-1, n_out)
        g_table.index_add_(0, idx.reshape(-1), per_coef.reshape(-1, n_out))
        g_rows = _terms_backward(rows, layout, g_q.permute(1, 2, 0))
        g_rows[:, 0] = g_h.T
        return g_rows, g_table.view(ctx.table_shape), g_wb, None, None, None, None, None
